/**
 * Ackline nodes in cluster mode as real processes (`node dist/cli.js start --cluster …`), and the two
 * clients the fault tests drive through them: a publisher that counts its confirmed events and a named
 * subscriber that acks what it receives; both move to another node when theirs dies.
 */
import { connect, type Socket } from 'node:net'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onExit } from 'signal-exit'
import { CLI, runCli, type CliBroker } from './cli'
import { tempDir } from './broker'
import { hasRedis, skipReason, type RedisCluster } from './redisCluster'

export interface AcklineNode {
  /** Its client port (from the listening line). */
  port: number
  pid: number
  cli: CliBroker
  /** kill -9; resolves once the process is gone. */
  kill: () => Promise<void>
  /** True until it exits. */
  running: () => boolean
}

// Nodes still running when the test process ends (a timeout's SIGTERM skips teardowns) are killed then.
const live = new Set<CliBroker>()
onExit(() => { for (const c of live) c.child.kill('SIGKILL') })

/** The `cluster` section the tests start nodes with; fields override the core's defaults. */
export type ClusterSection = Record<string, unknown>

/**
 * Starts one Ackline node on `rc` (its own log dir and config file); t.teardown kills it.
 * `cluster` adds fields to the config's `cluster` section (nodeTtlMs, waitReplicas, …).
 */
export async function startAcklineNode (t: { teardown: (fn: () => unknown) => void }, rc: RedisCluster,
  cluster: ClusterSection = {}, extra: Record<string, unknown> = {}): Promise<AcklineNode> {
  const dir = tempDir()
  const config = join(dir, 'ackline.json')
  writeFileSync(config, JSON.stringify({ ...extra, cluster: { redis: rc.urls, ...cluster } }))
  const cli = runCli(['start', '--cluster', rc.clusterArg, '--port', '0', '--log-dir', join(dir, 'logs'), '--config', config])
  let exited = false
  live.add(cli)
  void cli.exited.then(() => { exited = true; live.delete(cli) })
  const kill = async (): Promise<void> => {
    if (exited) return
    cli.child.kill('SIGKILL')
    await cli.exited
  }
  t.teardown(kill)
  const port = await cli.listening
  return { port, pid: cli.child.pid!, cli, kill, running: () => !exited }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** A line connection that hands each received line to `onLine` and tells when it closes. */
function openLines (port: number, onLine: (line: string) => void, onClose: () => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let buf = ''
    s.setEncoding('utf8')
    s.once('connect', () => { s.off('error', reject); s.on('error', () => {}); resolve(s) })
    s.once('error', reject)
    s.on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        onLine(line)
      }
    })
    s.once('close', onClose)
  })
}

/** Which node to use next: the first running one, starting after `after` in the list. */
function nextNode (nodes: () => AcklineNode[], after: number | undefined): AcklineNode | undefined {
  const list = nodes()
  const from = after === undefined ? 0 : list.findIndex(n => n.port === after) + 1
  for (let i = 0; i < list.length; i++) {
    const n = list[(from + i) % list.length]
    if (n.running()) return n
  }
  return undefined
}

/**
 * Publishes `{"id":"<prefix><i>","msg":"event <i>","n":<i>,"pad":…}` for i = 0…total-1 to one topic, up to `window` unconfirmed
 * at a time. Replies come in order on a connection, so the oldest unanswered id gets each reply. When the
 * connection drops, its unanswered publishes count as unconfirmed (they may or may not have been applied)
 * and publishing goes on from the next i on another running node. A node that leaves publishes unanswered
 * for `replyTimeoutMs` (default 15 s) fails the run.
 */
export class CountingPublisher {
  /** Ids whose `pub` got an `OK`. */
  readonly confirmed = new Set<string>()
  /** Ids whose `pub` got no reply (connection lost) or an ERR. */
  readonly unconfirmed = new Set<string>()
  /** ERR replies, first few kept. */
  readonly errors: string[] = []
  /** Node ports used, in order. */
  readonly ports: number[] = []
  private next = 0
  private readonly waiting: string[] = []
  private sock: Socket | null = null
  private stopped = false
  private done: Promise<void> | null = null

  constructor (private readonly nodes: () => AcklineNode[], readonly topic: string, readonly total: number,
    private readonly opts: { window?: number, prefix?: string, ratePerSec?: number, replyTimeoutMs?: number } = {}) {}

  /** Body of event i: the test checks it comes out byte for byte. */
  body (i: number): string {
    return `{"id":"${this.opts.prefix ?? 'e'}${i}","msg":"event ${i}","n":${i},"pad":"${'x'.repeat(i % 7)}"}`
  }

  /** How many publishes have been sent (answered or not). */
  get sent (): number { return this.next }

  /** Starts publishing; the promise settles when every publish was sent and answered (or lost), or stop(). */
  start (): Promise<void> {
    this.done ??= this.run()
    return this.done
  }

  stop (): void {
    this.stopped = true
    this.sock?.destroy()
  }

  private async run (): Promise<void> {
    const window = this.opts.window ?? 20
    const replyTimeoutMs = this.opts.replyTimeoutMs ?? 15_000
    let lastReply = Date.now()
    let after: number | undefined
    const deadline = Date.now() + 120_000
    while (!this.stopped && (this.next < this.total || this.waiting.length > 0)) {
      if (Date.now() > deadline) throw new Error('publisher: gave up after 120 s')
      const node = nextNode(this.nodes, after)
      if (node === undefined) throw new Error('publisher: no running Ackline node')
      after = node.port
      let closed = false
      let wake: (() => void) | null = null
      const woken = (): Promise<void> => new Promise(resolve => { wake = resolve })
      try {
        this.sock = await openLines(node.port, (line) => {
          const id = this.waiting.shift()
          if (id === undefined) return
          lastReply = Date.now()
          if (line.startsWith('OK ')) this.confirmed.add(id)
          else {
            this.unconfirmed.add(id)
            if (this.errors.length < 20) this.errors.push(line)
          }
          wake?.()
        }, () => { closed = true; wake?.() })
      } catch {
        await sleep(100)
        continue
      }
      this.ports.push(node.port)
      lastReply = Date.now()
      const gap = this.opts.ratePerSec === undefined ? 0 : 1000 / this.opts.ratePerSec
      while (!closed && !this.stopped && (this.next < this.total || this.waiting.length > 0)) {
        while (this.next < this.total && this.waiting.length < window) {
          const i = this.next++
          this.waiting.push(`${this.opts.prefix ?? 'e'}${i}`)
          this.sock.write(`pub ${this.topic} ${this.body(i)}\n`)
          if (gap > 0) break
        }
        const w = woken()
        const before = this.confirmed.size + this.unconfirmed.size
        let timer: NodeJS.Timeout | undefined
        await Promise.race([w, new Promise(resolve => { timer = setTimeout(resolve, gap > 0 ? gap : replyTimeoutMs) })])
        clearTimeout(timer)
        if (this.waiting.length > 0 && this.confirmed.size + this.unconfirmed.size === before && Date.now() - lastReply > replyTimeoutMs) {
          this.sock.destroy()
          throw new Error(`publisher: no reply within ${replyTimeoutMs} ms to ${this.waiting.length} publishes on node ${node.port} (${this.confirmed.size} confirmed so far)`)
        }
      }
      // whatever was not answered is unknown: it may have been applied before the node died
      for (const id of this.waiting.splice(0)) this.unconfirmed.add(id)
      this.sock.destroy()
    }
  }
}

/** One event as the subscriber saw it. */
export interface Seen { id: string, n: number, deliveries: number, line: string }

/**
 * A named subscriber on one topic: `name <name>` (retried while the name is still held by a dead node's
 * lease), `sub <topic> <cap>`, then acks each event as it arrives unless paused. Records every delivery
 * and every ack that got its `OK`; reconnects to another running node when its connection drops.
 */
export class NamedConsumer {
  /** Every EVENT line, in arrival order, across connections. */
  readonly seen: Seen[] = []
  /** Ids whose ack got `OK acked`. */
  readonly acked = new Set<string>()
  /** Events received while paused, not acked. */
  readonly held: Seen[] = []
  /** Replies to `sub` (the resume reply says how many were pending). */
  readonly subReplies: string[] = []
  readonly errors: string[] = []
  readonly ports: number[] = []
  private paused = false
  private sock: Socket | null = null
  private stopped = false
  /** Ids of the acks sent on this connection and not answered yet, oldest first (replies come in order). */
  private ackQueue: string[] = []
  private readonly attempts = new Map<string, number>()
  /** Ids whose ack was answered `NOT_IN_FLIGHT` on a retry: an earlier attempt was applied (or a redelivery follows). */
  readonly settled = new Set<string>()
  private done: Promise<void> | null = null
  private reconnect: (() => void) | null = null

  constructor (private readonly nodes: () => AcklineNode[], readonly name: string, readonly topic: string,
    private readonly opts: { cap?: number, ackTimeoutMs?: number, nameRetryMs?: number } = {}) {}

  /** Starts consuming (on the first running node, or `port`); resolves once subscribed. */
  async start (port?: number): Promise<void> {
    let subscribed: () => void = () => {}
    const ready = new Promise<void>(resolve => { subscribed = resolve })
    this.done ??= this.run(port, subscribed)
    await Promise.race([ready, this.done])
  }

  /** Stops acking: what arrives from now on is held (delivered, unacked). */
  pause (): void { this.paused = true }

  /** Goes back to acking each event; returns the held ones (unacked: left in flight), forgetting them. */
  release (): Seen[] {
    this.paused = false
    return this.held.splice(0)
  }

  /** Acks sent and not answered yet. */
  get unansweredAcks (): number { return this.ackQueue.length }

  stop (): void {
    this.stopped = true
    this.sock?.destroy()
    this.reconnect?.()
  }

  private ack (id: string, attempt = 1): void {
    this.ackQueue.push(id)
    this.attempts.set(id, attempt)
    this.sock?.write(`ack ${this.topic} ${id}\n`)
  }

  /**
   * An ack refused: `NOT_REPLICATED` (applied on the master, not confirmed by a replica), `CLUSTER_UNAVAILABLE`
   * or `INTERNAL` (Redis unreachable during a failover) are retried, as a client would; `NOT_IN_FLIGHT` on a retry means
   * an earlier attempt was applied (or the event timed out and comes again, to be acked then).
   */
  private ackRefused (id: string, line: string): void {
    if (this.errors.length < 50) this.errors.push(`${id}: ${line}`)
    const attempt = this.attempts.get(id) ?? 1
    if (line.includes('NOT_IN_FLIGHT') && attempt > 1) this.settled.add(id)
    else if (/NOT_REPLICATED|CLUSTER_UNAVAILABLE|INTERNAL/.test(line) && attempt < 20) {
      const sock = this.sock
      setTimeout(() => { if (this.sock === sock && !this.stopped) this.ack(id, attempt + 1) }, 300)
    }
  }

  private async run (firstPort: number | undefined, subscribed: () => void): Promise<void> {
    let after: number | undefined
    if (firstPort !== undefined) after = this.nodes()[(this.nodes().findIndex(n => n.port === firstPort) + this.nodes().length - 1) % this.nodes().length].port
    while (!this.stopped) {
      const node = nextNode(this.nodes, after)
      if (node === undefined) throw new Error(`${this.name}: no running Ackline node`)
      after = node.port
      const replies: string[] = []
      let wakeReply: (() => void) | null = null
      let closed = false
      let streaming = false // after the sub's OK, an ERR answers an ack
      this.ackQueue = []
      try {
        this.sock = await openLines(node.port, (line) => {
          if (line.startsWith('EVENT ')) {
            const json = line.slice(7 + this.topic.length)
            const ev = JSON.parse(json) as { id: string, n: number, deliveries?: number }
            const seen = { id: ev.id, n: ev.n, deliveries: ev.deliveries ?? 1, line: json }
            this.seen.push(seen)
            if (this.paused) this.held.push(seen)
            else this.ack(ev.id)
            return
          }
          const m = /^OK acked (\S+) on /.exec(line)
          if (m !== null) {
            this.ackQueue.shift()
            this.acked.add(m[1])
            return
          }
          if (line.startsWith('ERR ') && streaming) {
            const id = this.ackQueue.shift()
            if (id !== undefined) this.ackRefused(id, line)
            else if (this.errors.length < 50) this.errors.push(line)
            return
          }
          replies.push(line)
          wakeReply?.()
        }, () => { closed = true; wakeReply?.(); this.reconnect?.() })
      } catch {
        await sleep(100)
        continue
      }
      const reply = async (): Promise<string> => {
        const deadline = Date.now() + 10_000
        while (replies.length === 0) {
          if (closed) throw new Error('closed')
          if (Date.now() > deadline) throw new Error('no reply within 10 s')
          await new Promise<void>(resolve => { wakeReply = resolve; setTimeout(resolve, 100) })
        }
        return replies.shift()!
      }
      try {
        // the dead node's lease on the name lasts until its heartbeat expires (nodeTtlMs)
        const nameDeadline = Date.now() + (this.opts.nameRetryMs ?? 30_000)
        for (;;) {
          this.sock.write(`name ${this.name}\n`)
          const r = await reply()
          if (r.startsWith('OK')) break
          if (!r.includes('NAME_IN_USE') || Date.now() > nameDeadline) throw new Error(`${this.name}: name refused: ${r}`)
          await sleep(200)
        }
        const timeout = this.opts.ackTimeoutMs === undefined ? '' : ` ${this.opts.ackTimeoutMs}`
        this.sock.write(`sub ${this.topic} ${this.opts.cap ?? 10}${timeout}\n`)
        const r = await reply()
        this.subReplies.push(r)
        if (!r.startsWith('OK')) throw new Error(`${this.name}: sub refused: ${r}`)
        streaming = true
      } catch (err) {
        if (closed) continue
        this.sock.destroy()
        throw err
      }
      this.ports.push(node.port)
      subscribed()
      await new Promise<void>(resolve => {
        this.reconnect = resolve
        if (closed || this.stopped) resolve()
      })
      this.reconnect = null
    }
  }
}

/** Polls `cond` every 50 ms; fails after `waitMs` with `what` and the detail `why()` gives. */
export async function until (cond: () => boolean, what: string, waitMs: number, why: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + waitMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${waitMs} ms waiting for ${what}${why() === '' ? '' : `: ${why()}`}`)
    await sleep(50)
  }
}

/** The port of the Redis master that serves `{tag}` keys (a topic family's hash tag). */
export async function masterOfTag (rc: RedisCluster, tag: string): Promise<number> {
  const port = rc.masterPorts()[0]
  const slot = Number((await rc.cli(port, 'CLUSTER', 'KEYSLOT', `{${tag}}`)).trim())
  for (const line of (await rc.cli(port, 'CLUSTER', 'NODES')).trim().split('\n')) {
    const parts = line.split(' ')
    if (!parts[2].split(',').includes('master') || parts[2].includes('fail')) continue
    for (const range of parts.slice(8)) {
      const [a, b] = range.split('-').map(Number)
      if (slot >= a && slot <= (b ?? a)) return Number(/:(\d+)@/.exec(parts[1])![1])
    }
  }
  throw new Error(`no master serves slot ${slot}`)
}

/** Why the process tests are skipped (no redis-server, or no dist/cli.js), or false. */
export const processTestSkip: string | false = !hasRedis() ? skipReason : !existsSync(CLI) ? 'needs dist/cli.js (npm run build)' : false

/**
 * Node settings for fault tests: a dead node's name leases and heartbeat
 * expire after nodeTtlMs, short here so that a consumer whose node was
 * killed gets its name back quickly on another node.
 */
export const FAST_EXPIRY = { nodeTtlMs: 2000 }

/** Checks that every delivery carries its publisher's fields byte for byte (event `n` is `pub.body(n)`). */
export function checkPayloads (t: { fail: (message: string) => unknown, equal: (found: number, wanted: number, message: string) => unknown },
  pub: CountingPublisher, c: NamedConsumer): void {
  let bad = 0
  for (const s of c.seen) {
    const inner = pub.body(s.n).slice(1, -1)
    if (!s.line.includes(inner) || s.id !== `e${s.n}`) {
      if (bad++ < 3) t.fail(`payload of ${s.id} changed: ${s.line}`)
    }
  }
  t.equal(bad, 0, `every one of ${c.seen.length} deliveries carries its publisher's fields byte for byte`)
}
