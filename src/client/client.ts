import { backoffDelay } from './backoff'
import { authLine, nameLine, pubLine, statsLine, subLine, topicCommandLine } from './commands'
import { Emitter } from './emitter'
import { AcklineError } from './errors'
import { AcklineEvent, type Settler } from './event'
import { Link } from './link'
import { CLIENT_DEFAULTS, resolveOptions, type ConnectOptions, type ResolvedOptions, type SubscribeOptions } from './options'
import { Publisher, type PublishResult } from './publisher'
import { parseEndReason, parseSubscribed } from './replies'
import type { BrokerStats, TopicInfo, TopicStats } from './stats'
import { Subscription } from './subscription'
import { tcpTransport } from './tcpTransport'
import { isTopicPattern, topicMatches } from './topicPattern'
import type { OpenTransport } from './transport'
import { wsTransport } from './wsTransport'

/** Events of a client (`client.on(name, fn)`). */
export interface ClientEvents {
  /** The connection was lost; the client reconnects unless `reconnect: false`. */
  disconnect: AcklineError
  /** Connected again (authenticated and named); `attempts` it took. Subscriptions and queued publishes have been sent. */
  reconnect: { attempts: number }
  /**
   * A subscription was made again after a reconnect; `resumed` when the
   * broker still had it (a named client's durable subscription, a group's
   * queue). When not, it restarted at "now" (`from: 'latest'`): events
   * published while the client was away are not delivered to it.
   */
  resubscribed: { topic: string, resumed: boolean, from: 'resumed' | 'latest' }
  /** Something went wrong that no pending call can report: a subscription refused after a reconnect, reconnecting given up, a line the client did not understand. */
  error: AcklineError
  /** The client is closed for good (by `close()`, or after giving up). */
  close: undefined
}

/** One entry of `publishMany`'s result: the publish result, or why it failed. */
export type PublishOutcome = ({ ok: true } & PublishResult) | { ok: false, error: AcklineError }

/** Codes of a failed reconnect that another attempt may cure; any other code ends the client. */
const RETRYABLE = new Set(['CONNECT_FAILED', 'DISCONNECTED', 'NAME_IN_USE', 'RATE_LIMITED', 'TOO_MANY_CONNECTIONS',
  'TOO_MANY_CONNECTIONS_PER_IP', 'IDLE_TIMEOUT', 'STORAGE_FAILED', 'INTERNAL'])

/** Broker codes that mean an ack, nack or touch found the event no longer in flight for us. */
const NOT_IN_FLIGHT = new Set(['NOT_IN_FLIGHT', 'NOT_SUBSCRIBED', 'UNKNOWN_TOPIC'])

type State = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed'

interface SubEntry {
  sub: Subscription
  /** The first `sub`. */
  line: string
  /** The `sub` after a reconnect: an anonymous subscription outside a group starts again at "now", without its `from=`. */
  againLine: string
  /** `ack: 'none'`: events need no ack. */
  atMostOnce: boolean
  /** The broker keeps it while the client is away (a named client's, a group's): it resumes after a reconnect. */
  durable: boolean
  /** An anonymous range (`to` given): it cannot go on after a lost connection. */
  anonymousRange: boolean
}

/**
 * A connection to an Ackline broker that publishes, subscribes and survives
 * disconnects. Make one with `connect()`. See docs/client.md.
 */
export class AcklineClient extends Emitter<ClientEvents> implements Settler {
  /** `host:port` of the broker. */
  readonly where: string
  private state: State = 'connecting'
  private link: Link | null = null
  private gen = 0
  private quitSent = false
  private readonly subs = new Map<string, SubEntry>()
  /** The subscriptions whose topic is a wildcard pattern (`orders.*`), which take events of the topics they match. */
  private readonly patternSubs = new Map<string, SubEntry>()
  /** Topics of a named client whose `unsub` may not have reached the broker: done again after a reconnect. */
  private readonly unsubOnReconnect = new Set<string>()
  private readonly publisher: Publisher
  private openWaiters: Array<{ resolve: (link: Link) => void, reject: (err: AcklineError) => void }> = []
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private attempts = 0
  private closing: Promise<void> | null = null

  /** @internal Use `connect()`. */
  constructor (private readonly options: ResolvedOptions, private readonly openTransport: OpenTransport) {
    super()
    this.where = options.url ?? `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`
    this.publisher = new Publisher(options.publishWindow, () => this.sendableLink())
  }

  /** True while connected (not while reconnecting or closed). */
  get connected (): boolean {
    return this.state === 'open'
  }

  /** The durable client id, or null for an anonymous client. */
  get name (): string | null {
    return this.options.name
  }

  /** @internal Opens the first connection; rejects (and the client is closed) if it fails. */
  async start (): Promise<void> {
    try {
      this.link = await this.openLink()
    } catch (err) {
      this.state = 'closed'
      throw err
    }
    this.state = 'open'
  }

  /**
   * Publishes one event: an object (serialized with JSON.stringify) or a
   * JSON text, sent byte for byte. Resolves with the broker's id; rejects
   * with an AcklineError whose `code` is the broker's (`BAD_EVENT`,
   * `QUEUE_FULL`, ...) or `DISCONNECTED` when the connection was lost after
   * it was sent (it may or may not be stored). Publishes are pipelined: up
   * to `publishWindow` wait for replies at once, the rest wait in the client
   * (also while it reconnects) and go out in order.
   */
  publish (topic: string, event: unknown): Promise<PublishResult> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(closedError())
    let line: string
    try {
      line = pubLine(topic, event)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.publisher.publish(line)
  }

  /**
   * Publishes many events in order, keeping at most `publishWindow` of
   * them unanswered, and resolves with one outcome per event (an event that
   * fails does not stop the others). Takes any iterable or async iterable.
   */
  async publishMany (topic: string, events: Iterable<unknown> | AsyncIterable<unknown>): Promise<PublishOutcome[]> {
    const outcomes: Array<Promise<PublishOutcome>> = []
    const window = this.options.publishWindow
    const add = (event: unknown): void => {
      outcomes.push(this.publish(topic, event).then(r => ({ ok: true as const, ...r }), (error: AcklineError) => ({ ok: false as const, error })))
    }
    if (Symbol.iterator in Object(events)) {
      // Synchronously, so that a window's worth of lines goes out in one write.
      for (const event of events as Iterable<unknown>) {
        add(event)
        if (outcomes.length >= window) await outcomes[outcomes.length - window]
      }
    } else {
      for await (const event of events) {
        add(event)
        if (outcomes.length >= window) await outcomes[outcomes.length - window]
      }
    }
    return Promise.all(outcomes)
  }

  /**
   * Subscribes to a topic (it must exist: created or published to) and
   * returns the subscription, an async iterator of events. The options are
   * the words of `sub` after the topic (`from`, `to`, `group`, `ack`, ...);
   * a value the client can see is wrong throws BAD_OPTION at once. `sub` is sent at
   * once; `await sub.ready` to know the broker accepted it. Leaving the
   * `for await` loop early unsubscribes (for a named client, for good).
   * Throws at once for a topic already subscribed on this client.
   */
  subscribe (topic: string, opts: SubscribeOptions = {}): Subscription {
    if (this.state === 'closing' || this.state === 'closed') throw closedError()
    const line = subLine(topic, opts)
    const durable = this.options.name !== null || opts.group !== undefined
    const againLine = durable || opts.from === undefined ? line : subLine(topic, { ...opts, from: undefined })
    const atMostOnce = opts.ack === 'none'
    const maxBuffered = opts.maxBuffered ?? CLIENT_DEFAULTS.maxBuffered
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1) throw new AcklineError('BAD_ARGS', `maxBuffered must be a positive integer, got ${String(maxBuffered)}`)
    if (this.subs.has(topic)) throw new AcklineError('ALREADY_SUBSCRIBED', `already subscribed to ${topic} on this client`)
    const sub = new Subscription(topic, (s) => this.unsubscribe(s), atMostOnce ? maxBuffered : Infinity)
    const entry: SubEntry = { sub, line, againLine, atMostOnce, durable, anonymousRange: !durable && opts.to !== undefined }
    this.subs.set(topic, entry)
    if (isTopicPattern(topic)) this.patternSubs.set(topic, entry)
    this.unsubOnReconnect.delete(topic)
    if (this.state === 'open') this.sendSub(this.link!, entry, entry.line)
    return entry.sub
  }

  /** Round trip of a `ping`, in milliseconds. */
  async ping (): Promise<number> {
    const link = await this.whenOpen()
    const t0 = performance.now()
    await link.call('ping')
    return performance.now() - t0
  }

  /** `stats`: the broker's counters. */
  stats (): Promise<BrokerStats>
  /** `stats <topic>`: one topic and its subscribers. */
  stats (topic: string): Promise<TopicStats>
  async stats (topic?: string): Promise<BrokerStats | TopicStats> {
    const line = statsLine(topic)
    const link = await this.whenOpen()
    return JSON.parse(await link.call(line)) as BrokerStats | TopicStats
  }

  /** `topics`: every topic this client may see, with its offsets, retention and subscribers. */
  async topics (): Promise<TopicInfo[]> {
    const link = await this.whenOpen()
    const text = await link.call('topics')
    try {
      return JSON.parse(text) as TopicInfo[]
    } catch (err) {
      throw new AcklineError('PROTOCOL', `the reply to topics is not JSON: ${JSON.stringify(text.slice(0, 200))}`, { command: 'topics', cause: err })
    }
  }

  /** `create <topic>`: makes an empty topic (one can subscribe to it at once). Rejects with `TOPIC_EXISTS` if it exists. */
  async create (topic: string): Promise<void> {
    await this.topicCommand('create', topic)
  }

  /**
   * `delete <topic>`: removes the topic and its events. Its subscribers'
   * loops (on any client) end by throwing `TOPIC_DELETED`.
   */
  async delete (topic: string): Promise<void> {
    await this.topicCommand('delete', topic)
  }

  private async topicCommand (command: 'create' | 'delete', topic: string): Promise<void> {
    const line = topicCommandLine(command, topic)
    const link = await this.whenOpen()
    await link.call(line)
  }

  /**
   * Closes gracefully: stops reconnecting, ends the subscription iterators
   * (without unsubscribing: a named client's subscriptions stay for its next
   * connection), waits up to `closeTimeoutMs` for every pending reply and
   * queued publish, then sends `quit`. Calls after this reject with CLOSED.
   */
  close (): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  /** @internal Sends an event's ack, nack or touch, if the connection it came on is still there. */
  settle (gen: number, line: string): Promise<boolean> {
    const link = this.sendableLink()
    if (link === null || link.gen !== gen) return Promise.resolve(false)
    return new Promise((resolve, reject) => {
      link.request(line, {
        answered: (_ok, err) => {
          if (err === null) resolve(true)
          else if (NOT_IN_FLIGHT.has(err.code)) resolve(false)
          else reject(new AcklineError(err.code, err.message, { command: line }))
        },
        failed: () => resolve(false),
      })
    })
  }

  /** The link commands may go on: open, or closing before `quit`. */
  private sendableLink (): Link | null {
    if (this.state === 'open' || (this.state === 'closing' && !this.quitSent)) return this.link
    return null
  }

  private whenOpen (): Promise<Link> {
    if (this.state === 'open') return Promise.resolve(this.link!)
    if (this.state === 'reconnecting') return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }))
    return Promise.reject(closedError())
  }

  /** Opens a connection and authenticates and names it; rejects with an AcklineError. */
  private async openLink (): Promise<Link> {
    const { user, password, name, connectTimeoutMs } = this.options
    const link = new Link(++this.gen, this.where, {
      event: (l, topic, json) => this.onEvent(l, topic, json),
      end: (l, topic, reason) => this.onEnd(l, topic, reason),
      closed: (l, reason) => this.onLinkClosed(l, reason),
    })
    const timer = setTimeout(() => {
      link.destroy(new AcklineError('CONNECT_FAILED', `no connection to ${this.where} within ${connectTimeoutMs} ms (connectTimeoutMs)`))
    }, connectTimeoutMs)
    try {
      await link.open(this.openTransport)
      // Nothing else is sent before these are answered: a command must not run unauthenticated or unnamed.
      const steps: Array<Promise<string>> = []
      if (user !== null) steps.push(link.call(authLine(user, password)))
      if (name !== null) steps.push(link.call(nameLine(name)))
      // One round trip at least: a broker that refuses the connection (limits, TLS only) says so before any reply.
      if (steps.length === 0) steps.push(link.call('ping'))
      await Promise.all(steps)
    } catch (err) {
      link.destroy(err as AcklineError)
      throw err
    } finally {
      clearTimeout(timer)
    }
    if (!link.isOpen) throw new AcklineError('DISCONNECTED', `connection to ${this.where} lost while opening`)
    return link
  }

  private onEvent (link: Link, topic: string, json: string): void {
    if (link !== this.link) return
    const entry = this.subs.get(topic) ?? this.patternEntry(topic)
    if (entry === undefined) return // after an unsub, until the broker has it
    let ev: AcklineEvent
    try {
      ev = new AcklineEvent(this, link.gen, topic, json, entry.atMostOnce)
    } catch (err) {
      this.emit('error', err instanceof AcklineError ? err : new AcklineError('PROTOCOL', `EVENT on ${topic} is not valid JSON`, { cause: err }))
      return
    }
    entry.sub.deliver(ev)
  }

  private forget (topic: string): void {
    this.subs.delete(topic)
    this.patternSubs.delete(topic)
  }

  /** The wildcard subscription an event of `topic` belongs to, if any. */
  private patternEntry (topic: string): SubEntry | undefined {
    if (this.patternSubs.size === 0) return undefined
    for (const [pattern, entry] of this.patternSubs) if (topicMatches(pattern, topic)) return entry
    return undefined
  }

  /** `END <topic> <reason>`: the broker ended the subscription; the loop hands out what it holds, then ends (a range) or throws. */
  private onEnd (link: Link, topic: string, reason: string): void {
    if (link !== this.link) return
    const entry = this.subs.get(topic)
    if (entry === undefined) return // unsubscribed meanwhile
    this.forget(topic)
    const end = parseEndReason(reason)
    entry.sub.endedBy = end
    const err = end.reason === 'range'
      ? null
      : end.reason === 'deleted'
        ? new AcklineError('TOPIC_DELETED', `topic ${topic} was deleted`)
        : end.reason === 'forgotten'
          ? new AcklineError('GROUP_FORGOTTEN', `the consumer group of this subscription to ${topic} was ended (unsub … forget)`)
          : new AcklineError('SUBSCRIPTION_ENDED', `the broker ended the subscription to ${topic}: ${end.text}`)
    entry.sub.finish(err, true)
  }

  private sendSub (link: Link, entry: SubEntry, line: string): void {
    const { sub } = entry
    link.call(line).then((text) => {
      if (sub.ended) return
      const again = sub.subscribed
      const info = parseSubscribed(text) ?? { maxInFlight: 0, resumed: / resumed /.test(text), pending: 0 }
      sub.accepted(info)
      if (again) this.emit('resubscribed', { topic: sub.topic, resumed: info.resumed, from: info.resumed ? 'resumed' : 'latest' })
    }, (err: AcklineError) => {
      // Lost with the connection: sent again after the reconnect.
      if (sub.ended || !link.isOpen) return
      if (this.subs.get(sub.topic) === entry) this.forget(sub.topic)
      const again = sub.subscribed
      sub.finish(err)
      if (again) this.emit('error', err)
    })
  }

  /** After a reconnect: end the durable subscriptions whose unsub was lost, then subscribe again. */
  private restoreSubscriptions (link: Link): void {
    for (const topic of this.unsubOnReconnect) {
      const forget = (): void => { this.unsubOnReconnect.delete(topic) }
      // A durable subscription is ended from a new connection by subscribing to it, then unsubscribing.
      link.call(`sub ${topic}`).catch(() => {})
      link.call(`unsub ${topic}`).then(forget, () => { if (link.isOpen) forget() })
    }
    for (const entry of this.subs.values()) this.sendSub(link, entry, entry.againLine)
  }

  private async unsubscribe (sub: Subscription): Promise<void> {
    const entry = this.subs.get(sub.topic)
    if (entry?.sub !== sub) return
    this.forget(sub.topic)
    const named = this.options.name !== null
    const link = this.sendableLink()
    if (link === null) {
      if (named && this.state === 'reconnecting') this.unsubOnReconnect.add(sub.topic)
      return
    }
    try {
      await link.call(`unsub ${sub.topic}`)
    } catch {
      // NOT_SUBSCRIBED: the broker had refused the sub. A lost connection: do it again after the reconnect.
      if (named && !link.isOpen && this.state === 'reconnecting') this.unsubOnReconnect.add(sub.topic)
    }
  }

  private onLinkClosed (link: Link, reason: AcklineError): void {
    if (link !== this.link) return
    this.link = null
    // A durable subscription gets these again after the reconnect (deliveries + 1); handing them out now would show them twice.
    for (const { sub, durable } of this.subs.values()) if (durable) sub.dropBuffered()
    if (this.state !== 'open') return // closing: doClose finishes
    this.endAnonymousRanges(reason)
    // Not connected from here on: calls made by a disconnect listener wait for the reconnect.
    this.state = 'reconnecting'
    this.emit('disconnect', reason)
    if (this.state !== 'reconnecting') return // a listener closed the client
    if (this.options.reconnect === null) {
      this.shutdown(reason, false)
      return
    }
    this.attempts = 0
    this.scheduleReconnect(reason)
  }

  /**
   * An anonymous range ends with the connection that carried it: made again
   * at "now" it would skip the rest of the range. Its loop hands out what it
   * holds, then throws DISCONNECTED.
   */
  private endAnonymousRanges (reason: AcklineError): void {
    for (const [topic, entry] of [...this.subs]) {
      if (!entry.anonymousRange) continue
      this.forget(topic)
      entry.sub.finish(new AcklineError('DISCONNECTED', `${reason.message}; the anonymous range subscription to ${topic} ends with it (subscribe again from the offset after the last one processed, or use a named client)`, { cause: reason }), true)
    }
  }

  private scheduleReconnect (last: AcklineError): void {
    const opts = this.options.reconnect!
    if (this.attempts >= opts.maxAttempts) {
      this.giveUp(last)
      return
    }
    this.attempts++
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      void this.reconnect()
    }, backoffDelay(this.attempts, opts))
  }

  private async reconnect (): Promise<void> {
    let link: Link
    try {
      link = await this.openLink()
    } catch (err) {
      if (this.state !== 'reconnecting') return
      const e = err as AcklineError
      if (RETRYABLE.has(e.code)) this.scheduleReconnect(e)
      else this.giveUp(e)
      return
    }
    if (this.state !== 'reconnecting') {
      link.destroy(closedError())
      return
    }
    this.link = link
    this.state = 'open'
    const attempts = this.attempts
    this.attempts = 0
    this.restoreSubscriptions(link)
    this.publisher.pump()
    const waiters = this.openWaiters
    this.openWaiters = []
    for (const w of waiters) w.resolve(link)
    this.emit('reconnect', { attempts })
  }

  private giveUp (last: AcklineError): void {
    const err = new AcklineError(last.code, `gave up reconnecting to ${this.where} after ${this.attempts} attempt(s): ${last.message}`, { cause: last })
    this.emit('error', err)
    this.shutdown(err, false)
  }

  private async doClose (): Promise<void> {
    if (this.state === 'closed') return
    const link = this.state === 'open' ? this.link : null
    this.state = 'closing'
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    // The loops end now; acks they still send go out before quit.
    for (const { sub } of this.subs.values()) sub.finish(null)
    this.subs.clear()
    this.patternSubs.clear()
    if (link !== null && link.isOpen) await this.quit(link)
    this.shutdown(closedError(), true)
  }

  /** Waits for every pending reply and queued publish, then `quit`; drops the link after closeTimeoutMs. */
  private async quit (link: Link): Promise<void> {
    const ms = this.options.closeTimeoutMs
    const timer = setTimeout(() => {
      link.destroy(new AcklineError('CLOSED', `closed before every reply came: none within ${ms} ms (closeTimeoutMs)`))
    }, ms)
    await new Promise<void>((resolve) => {
      const drained = (): void => {
        if (!link.isOpen) return resolve()
        this.publisher.pump()
        if (this.publisher.queued > 0 || link.waiting > 0) return link.whenIdle(drained)
        resolve()
      }
      drained()
    })
    if (link.isOpen) {
      this.quitSent = true
      link.call('quit').catch(() => {})
      link.end()
    }
    await link.closed
    clearTimeout(timer)
  }

  private shutdown (err: AcklineError, quiet: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.link?.destroy(err)
    this.link = null
    this.publisher.rejectQueued(err)
    for (const { sub } of this.subs.values()) sub.finish(quiet ? null : err)
    this.subs.clear()
    this.patternSubs.clear()
    const waiters = this.openWaiters
    this.openWaiters = []
    for (const w of waiters) w.reject(err)
    this.emit('close', undefined)
  }
}

function closedError (): AcklineError {
  return new AcklineError('CLOSED', 'the client is closed')
}

/**
 * Connects to a broker: TCP (or TLS) to `host` and `port`, or WebSocket to a
 * `ws://` or `wss://` URL (the broker's `GET /ws`), then `auth` and `name`
 * when given. Rejects with an AcklineError (`CONNECT_FAILED`, `AUTH_FAILED`,
 * `NAME_IN_USE`, `TOO_MANY_CONNECTIONS`, ...) if the first connection fails;
 * later losses are retried (see `reconnect`).
 */
export async function connect (opts?: ConnectOptions): Promise<AcklineClient>
export async function connect (url: string, opts?: ConnectOptions): Promise<AcklineClient>
export async function connect (target: string | ConnectOptions = {}, more: ConnectOptions = {}): Promise<AcklineClient> {
  const o = typeof target === 'string' ? resolveOptions(more, undefined, target) : resolveOptions(target)
  // Refuse what cannot be sent before opening anything.
  if (o.user !== null) authLine(o.user, o.password)
  if (o.name !== null) nameLine(o.name)
  const transport = o.url !== null
    ? wsTransport({ url: o.url, tls: o.tls, connectTimeoutMs: o.connectTimeoutMs, maxLineBytes: o.maxLineBytes, maxFrameBytes: o.maxFrameBytes })
    : tcpTransport({ host: o.host, port: o.port, tls: o.tls, connectTimeoutMs: o.connectTimeoutMs, maxLineBytes: o.maxLineBytes })
  const client = new AcklineClient(o, transport)
  await client.start()
  return client
}
