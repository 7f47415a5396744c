import { accessSync, constants, mkdirSync } from 'node:fs'
import type { BrokerConfig } from '../config/defaults'
import { ConfigError } from '../errors'
import { grantWord } from '../auth/acl'
import type { Logger } from '../log'
import type { PersistenceTimings } from '../metrics/histogram'
import type { Session } from '../manager/session'
import type { StoredEvent } from '../store/event'
import type { Store } from '../store/store'
import type { Delivery, Subscription } from '../store/subscription'
import type { StoreObserver, Topic } from '../store/topic'
import { EventsBatcher } from './batcher'
import { acquireLock } from './files'
import { Journal } from './journal'
import { publishRecordHead } from './publishRecord'
import { recover, type RecoveryResult } from './recovery'
import { committedRecord, grantRecord, hookRecord, hookStateRecord, subscribedRecord, unsubscribedRecord } from './stateCodec'

/** A named subscription's journal record heads, up to the numbers. */
interface SubscriptionHeads {
  delivered: Buffer
  acked: Buffer
}

/**
 * What makes the store outlive the process (storage v2). Handlers and the
 * store report each change here: every change to a named subscription (and
 * every grant) becomes a record of its topic's state log at the next batch,
 * and, until then, a journal record; events become segment lines at the
 * next batch, and journal records when the topic has a named subscription.
 *
 * Journal records, one JSON array per line (a state-log record with the
 * topic after its kind, see stateCodec.ts):
 *   ["T", topic]                                          topic created
 *   ["X", topic]                                          topic deleted
 *   ["P", topic, event]                                   event published (its stored text verbatim, offset included: publishRecord.ts)
 *   ["S", topic, sub, maxInFlight, ackTimeoutMs, start, to, user?]  named subscription created, or its settings changed
 *   ["U", topic, sub]                                     named subscription ended
 *   ["D", topic, sub, offset, priority, n]                delivered for the n-th time
 *   ["A", topic, sub, offset, offset]                     acked (or dropped by the drop-oldest policy)
 *   ["C", topic, sub, offset]                             commit: every delivered offset <= offset acked
 *   ["R", topic, user, rights]                            what a user may now do on a private topic: pub, sub, both or none
 *   ["H", topic, sub, url, secret, maxDeliveries]         the named subscription is a webhook subscriber
 *   ["F", topic, sub, failures, nextAttemptAt, reason]    a webhook subscriber's retry state changed
 *   ["XE", exchange, type]                                exchange declared (fanout, direct or topic)
 *   ["XB", exchange, topic, key]                          binding added
 *   ["XU", exchange, topic, key]                          binding removed
 *
 * Exchange records belong to no topic: a batch stores the whole exchange
 * table in exchanges.json (exchangeFile.ts) before the journal goes.
 *
 * A reply that confirms a change (`OK` to pub, ack, sub, unsub, grant,
 * revoke, commit) is held until the journal group holding its record is stored.
 */
export class Durability implements StoreObserver {
  readonly batcher: EventsBatcher
  readonly recovery: RecoveryResult
  private readonly journal: Journal | null
  private readonly waiting = new Set<Session>()
  private readonly quotes = new Map<string, string>()
  /** Each topic's publish record head, `["P",<topic>,`, as UTF-8 (publishRecord.ts). */
  private readonly publishHeads = new Map<string, Buffer>()
  /** Each named subscription's `["D",<topic>,<sub>,` and `["A",<topic>,<sub>,` as UTF-8: its records end in numbers only. */
  private readonly subHeads = new WeakMap<Subscription, SubscriptionHeads>()
  private readonly log: Logger
  private readonly releaseLock: () => void

  private constructor (batcher: EventsBatcher, recovery: RecoveryResult, journal: Journal | null, log: Logger, releaseLock: () => void) {
    this.batcher = batcher
    this.recovery = recovery
    this.journal = journal
    this.log = log
    this.releaseLock = releaseLock
  }

  /** Locks the log dir, recovers the store from it (migrating a v1 one) and starts journaling. Throws ConfigError when it cannot. */
  /** timings: the journal's and batcher's latency histograms (GET /metrics); null when nobody reads them. */
  static async open (config: BrokerConfig, store: Store, log: Logger, timings: PersistenceTimings | null = null): Promise<Durability> {
    const dir = config.logDir
    try {
      mkdirSync(dir, { recursive: true })
      accessSync(dir, constants.W_OK)
    } catch (err) {
      throw new ConfigError(`log dir ${dir} is not usable: ${(err as Error).message}`)
    }
    const releaseLock = acquireLock(dir)
    try {
      const clock = store.clock
      const t0 = performance.now()
      const fileOptions = { fsync: config.fsync, log, now: clock.now, segmentBytes: config.segmentBytes, compactMinBytes: config.stateCompactMinBytes }
      const { result, files, changes } = await recover(dir, store, log, {
        ...fileOptions,
        defaultAckTimeoutMs: config.ackTimeoutMs,
        dedupeWindowMs: config.dedupeWindowMs,
        dedupeMaxIds: config.dedupeMaxIds,
      })
      if (result.topics > 0 || result.problems > 0) {
        log.info({ ...result, ms: Math.round(performance.now() - t0) }, 'recovered from log dir')
      }
      let d: Durability | null = null
      const journal = config.fsync === 'off'
        ? null
        : new Journal(dir, result.maxGen + 1, config.fsync, {
          durable: (ticket) => d?.released(ticket),
          failed: (ticket, err) => d?.failed(ticket, err),
        }, timings)
      const batcher = new EventsBatcher({
        dir,
        journal,
        fsync: config.fsync,
        log,
        clock,
        segmentBytes: config.segmentBytes,
        stateCompactMinBytes: config.stateCompactMinBytes,
        stateTailBytes: config.stateTailBytes,
        retention: config.retention,
        retentionCheckMs: config.retentionCheckMs,
        dedupeWindowMs: config.dedupeWindowMs,
        dedupeMaxIds: config.dedupeMaxIds,
        timings,
      })
      for (const [topic, f] of files) {
        f.sinceSnapshot = f.segments.bytesFrom(Math.min(topic.nextOffset, topic.lowestOwed()))
        batcher.files.set(topic, f)
      }
      for (const [topic, records] of changes) {
        const c = batcher.changes(topic)
        for (const r of records) c.push(r)
      }
      batcher.exchangesState = () => store.exchanges.toJSON()
      // Replayed exchange records are stored by the first batch, before it deletes the journal they came from.
      if (result.exchangeRecords > 0) batcher.exchangesDirty = true
      d = new Durability(batcher, result, journal, log, releaseLock)
      store.observer = d
      for (const t of store.topics.values()) t.observer = d
      batcher.start(config.batchIntervalMs)
      return d
    } catch (err) {
      releaseLock()
      throw err
    }
  }

  // --- changes reported by handlers and the store; each returns the ticket a confirming reply waits for (0: none) ---

  topicCreated (topic: Topic): void {
    this.batcher.changes(topic)
    this.journal?.append(`["T",${JSON.stringify(topic.name)}]`)
  }

  topicDeleted (topic: Topic): number {
    this.batcher.deleted(topic)
    return this.journal?.append(`["X",${JSON.stringify(topic.name)}]`) ?? 0
  }

  published (topic: Topic, ev: StoredEvent): number {
    this.batcher.changes(topic)
    // Journaled for named subscriptions only: nothing outlives an anonymous one's connection.
    if (this.journal === null || topic.namedSubscriptions === 0) return 0
    return this.journal.appendText(this.publishHead(topic.name), ev.json)
  }

  acked (sub: Subscription, offset: number): number {
    if (!sub.named) return 0
    this.batcher.changes(sub.topic).ack(sub.key, offset)
    return this.journal?.appendInts(this.heads(sub).acked, offset, offset) ?? 0
  }

  committed (sub: Subscription, upTo: number): number {
    if (!sub.named) return 0
    return this.record(sub.topic, committedRecord(sub.key, upTo))
  }

  subscribed (sub: Subscription): number {
    if (!sub.named) return 0
    return this.record(sub.topic, subscribedRecord(sub.key, sub.maxInFlight, sub.ackTimeoutMs, sub.start, sub.to, sub.user))
  }

  /** A named subscription became a webhook subscriber (after its `subscribed`): its URL, secret and limit. */
  hooked (sub: Subscription): number {
    const h = sub.hook
    if (h === null) return 0
    return this.record(sub.topic, hookRecord(sub.key, h.url, h.secret, h.maxDeliveries))
  }

  /** A webhook subscriber's retry state (sub.hook) changed. */
  hookStateChanged (sub: Subscription): number {
    const h = sub.hook
    if (h === null) return 0
    return this.record(sub.topic, hookStateRecord(sub.key, h.failures, h.nextAttemptAt, h.disabledReason))
  }

  /** An exchange was declared or a binding changed: journaled now (`XE`, `XB`, `XU`), exchanges.json at the next batch. */
  exchangeChanged (record: readonly [string, ...string[]]): number {
    this.batcher.exchangesDirty = true
    return this.journal?.append(JSON.stringify(record)) ?? 0
  }

  /** `user`'s grant on `topic` changed (grant or revoke): records what it holds now. */
  granted (topic: Topic, user: string): number {
    return this.record(topic, grantRecord(user, grantWord(topic.grants.get(user))))
  }

  unsubscribed (sub: Subscription): number {
    if (!sub.named) return 0
    return this.record(sub.topic, unsubscribedRecord(sub.key))
  }

  delivered (sub: Subscription, d: Delivery): void {
    const ev = d.ev
    // Queued as numbers (rendered by the batch, left out if acked first); the journal's copy is built here once.
    this.batcher.changes(sub.topic).delivered(sub.key, ev.offset, ev.priority, d.deliveries)
    this.journal?.appendInts(this.heads(sub).delivered, ev.offset, ev.priority, d.deliveries)
  }

  /** A subscription ended (Topic.unsubscribe): a named one gets its `U` record (a deleted topic ends everything with its X). */
  ended (sub: Subscription, reason: string): number {
    return reason === 'deleted' ? 0 : this.unsubscribed(sub)
  }

  eventsLost (sub: Subscription, from: number, to: number, count: number): void {
    this.log.warn({ topic: sub.topic.name, subscriber: sub.key, from, to, count }, 'events owed to a subscription are gone from the segments (a damaged segment was moved aside); skipped')
  }

  readFailed (sub: Subscription, err: unknown): void {
    this.log.error({ err, topic: sub.topic.name, subscriber: sub.key }, 'reading events from the segments failed; retrying in a second')
  }

  /** A topic or subscription name as a JSON string, remembered: the named path quotes the same few names for every event. */
  private quoted (name: string): string {
    let q = this.quotes.get(name)
    if (q === undefined) {
      if (this.quotes.size >= 4096) this.quotes.clear()
      q = JSON.stringify(name)
      this.quotes.set(name, q)
    }
    return q
  }

  /** `["P",<topic>,` as bytes, remembered like `quoted`. */
  private publishHead (topic: string): Buffer {
    let h = this.publishHeads.get(topic)
    if (h === undefined) {
      if (this.publishHeads.size >= 4096) this.publishHeads.clear()
      h = Buffer.from(publishRecordHead(topic), 'utf8')
      this.publishHeads.set(topic, h)
    }
    return h
  }

  /** A named subscription's D and A record heads (the journal's layout of a state record: the topic after the kind). */
  private heads (sub: Subscription): SubscriptionHeads {
    let h = this.subHeads.get(sub)
    if (h === undefined) {
      const names = `${this.quoted(sub.topic.name)},${this.quoted(sub.key)},`
      h = { delivered: Buffer.from(`["D",${names}`, 'utf8'), acked: Buffer.from(`["A",${names}`, 'utf8') }
      this.subHeads.set(sub, h)
    }
    return h
  }

  /** A state record: queued for the topic's state log at the next batch, and journaled now (the topic after the kind). */
  private record (topic: Topic, record: string): number {
    this.batcher.changes(topic).push(record)
    if (this.journal === null) return 0
    return this.journal.append(record.slice(0, 5) + JSON.stringify(topic.name) + ',' + record.slice(5))
  }

  /**
   * The ticket of the journal group being filled now: a reply that must not
   * overtake the records appended so far (by this command or earlier ones,
   * e.g. a topic created or deleted through the store) waits for it. 0 with
   * no journal.
   */
  pendingTicket (): number {
    return this.journal?.openTicketNow() ?? 0
  }

  /** Sends a confirming reply once its ticket is stored; later lines to that session queue behind it. */
  reply (session: Session, line: string, ticket: number): void {
    if (ticket === 0 || (this.journal !== null && ticket <= this.journal.durableTicket && !session.holding)) {
      session.reply(line)
      return
    }
    session.hold(line, ticket)
    this.waiting.add(session)
  }

  /** Shutdown: final batch, topic files closed, journal closed, lock released. */
  async close (): Promise<void> {
    await this.batcher.stop()
    this.journal?.close()
    this.releaseLock()
  }

  private released (ticket: number): void {
    for (const s of this.waiting) {
      if (s.releaseHeld(ticket)) this.waiting.delete(s)
    }
  }

  private failed (ticket: number, err: Error): void {
    this.log.error({ err, ticket }, 'journal write failed: held confirmations are withdrawn and their clients disconnected')
    for (const s of this.waiting) s.failHeld((err as NodeJS.ErrnoException).code ?? err.message)
    this.waiting.clear()
  }
}
