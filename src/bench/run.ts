import * as net from 'node:net'
import { LineSplitter } from './lines'
import { LatencyRecorder, LatencySummary, nowMs, paceAllowance, rate } from './stats'
import { AckMode, PriorityRange, ackModeText, paddingFor, pickPriority } from './args'

export interface BenchOptions {
  host?: string
  port?: number
  publishers?: number
  subscribers?: number
  /** Total events published (split across publishers). */
  messages?: number
  /** Approximate event JSON size in bytes. */
  size?: number
  /** Random priority per event in this range; omitted => broker default. */
  priorities?: PriorityRange
  /** maxInFlight passed to `sub`. */
  inFlight?: number
  /** Subscribers ack (default true); false: they never ack, so only the in-flight cap is delivered. */
  ack?: boolean
  /**
   * How they ack (default `each`): one `ack` line per event; `{ batch: n }`, one `ack <topic> <id> …`
   * line per n events (and what a read brought short of n, sent after it); `none`, `sub … ack=none`
   * subscriptions (at most once: nothing to ack).
   */
  ackMode?: AckMode
  topics?: number
  /** Max outstanding (unreplied) pubs per publisher connection. */
  window?: number
  /** Open-loop target publish rate in events/s over all publishers (0 = as fast as the window allows). */
  rate?: number
  /** Safety timeout for the whole run in ms (default 120 s). */
  durationLimitMs?: number
  topicPrefix?: string
  /** Durable subscribers: subscriber i sends `name <subscriberName>-<i>` before subscribing (journaled under fsync always/batch). */
  subscriberName?: string
  /** Show a progress bar on stderr (only if stderr is a TTY and the run lasts > 2 s). */
  progress?: boolean
  /** Called after every subscriber is subscribed, before the first pub (e.g. baseline RSS). */
  onReady?: () => Promise<void> | void
  /** Called once everything expected arrived (or timeout), before sockets close (e.g. RSS of pending events). */
  onSettled?: (r: BenchResult) => Promise<void> | void
}

export interface BenchResult {
  config: Required<Omit<BenchOptions, 'onReady' | 'onSettled' | 'priorities' | 'subscriberName' | 'ackMode'>> & {
    /** `each`, `none` or `batch=<n>`. */
    ackMode: string
    priorities: PriorityRange | null
    subscriberName: string | null
  }
  complete: boolean
  timedOut: boolean
  /** First fatal problem (connection error, subscribe refused...), if any. */
  fatal: string | null
  elapsedMs: number
  published: number
  publishErrors: number
  expectedDeliveries: number
  delivered: number
  redelivered: number
  acked: number
  ackErrors: number
  /** ERR replies by code. */
  errors: Record<string, number>
  rates: { published: number; delivered: number; acked: number }
  latencyMs: LatencySummary
  /** Time from sending a `pub` to its `OK` (under fsync `always`, the journal's group commit is in it). */
  confirmLatencyMs: LatencySummary
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  publishers: 1,
  subscribers: 1,
  messages: 100_000,
  size: 100,
  inFlight: 100,
  ack: true,
  ackMode: 'each' as AckMode,
  topics: 1,
  window: 1000,
  rate: 0,
  durationLimitMs: 120_000,
  topicPrefix: 'bench',
  progress: true,
}

/** One TCP connection with coalesced writes and Buffer line splitting. */
class Conn {
  readonly sock: net.Socket
  private out: string[] = []
  private scheduled = false
  private readonly splitter = new LineSplitter()

  constructor(
    sock: net.Socket,
    onLine: (line: string) => void,
    afterChunk: () => void,
  ) {
    this.sock = sock
    sock.setNoDelay(true)
    sock.on('data', (chunk: Buffer) => {
      this.splitter.push(chunk, onLine)
      afterChunk()
      this.flush()
    })
  }

  send(line: string): void {
    this.out.push(line)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.out.length === 0 || this.sock.destroyed) return
    const data = this.out.length === 1 ? this.out[0]! : this.out.join('')
    this.out = []
    this.sock.write(data)
  }
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port })
    s.once('connect', () => {
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
}

function errCode(line: string): string {
  const sp = line.indexOf(' ', 4)
  return sp === -1 ? line.slice(4) || 'UNKNOWN' : line.slice(4, sp)
}

/** Run one load-generation pass against an Ackline broker. */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const o = { ...DEFAULTS, ...stripUndefined(options) }
  const prio = options.priorities ?? null
  const nTopics = o.topics
  const runId = Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36)
  const topics = Array.from({ length: nTopics }, (_, i) => `${o.topicPrefix}-${runId}-${i}`)
  const pad = paddingFor(o.size)

  const errors: Record<string, number> = {}
  const lat = new LatencyRecorder()
  const confirmLat = new LatencyRecorder()
  const publishedPerTopic = new Array<number>(nTopics).fill(0)
  let published = 0
  let publishErrors = 0
  let pubReplies = 0
  let delivered = 0
  let redelivered = 0
  let acked = 0
  let ackErrors = 0
  let ackReplies = 0
  let acksSent = 0
  let fatal: string | null = null
  let startAt = 0
  let lastPubAt = 0
  let lastDeliveryAt = 0
  let lastAckAt = 0
  const countErr = (line: string): void => {
    const c = errCode(line)
    errors[c] = (errors[c] ?? 0) + 1
  }

  let finish!: (timedOut: boolean) => void
  const finished = new Promise<boolean>((resolve) => {
    let done = false
    finish = (t) => {
      if (!done) {
        done = true
        resolve(t)
      }
    }
  })

  const expectedFrom = (perTopic: number[]): number => {
    let e = 0
    for (const n of perTopic) e += o.ack || o.ackMode === 'none' ? n : Math.min(n, o.inFlight)
    return e * o.subscribers
  }
  const expected = (): number => expectedFrom(publishedPerTopic)
  /** What would be expected if every planned pub succeeded (for reporting incomplete runs). */
  const plannedExpected = (): number => {
    const perTopic = new Array<number>(nTopics).fill(0)
    for (let i = 0; i < o.publishers; i++) {
      const q = Math.floor(o.messages / o.publishers) + (i < o.messages % o.publishers ? 1 : 0)
      for (let t = 0; t < nTopics; t++) {
        perTopic[t]! += Math.floor(q / nTopics) + ((((t - i) % nTopics) + nTopics) % nTopics < q % nTopics ? 1 : 0)
      }
    }
    return expectedFrom(perTopic)
  }
  const isDone = (): boolean =>
    pubReplies === o.messages &&
    delivered >= expected() &&
    (!o.ack || ackReplies >= acksSent)
  let publishing = false
  const check = (): void => {
    if (publishing && isDone()) finish(false)
  }

  // --- publishers -------------------------------------------------------
  const pubs: Array<{ idx: number; conn: Conn; quota: number; sent: number; replied: number; warm: Array<() => void>; topicIdx: number[]; sentAt: number[] }> = []
  const refill = (p: (typeof pubs)[number]): void => {
    if (!publishing) return
    const allowed = paceAllowance(nowMs() - startAt, o.rate / o.publishers)
    while (p.sent < p.quota && p.sent - p.replied < o.window && p.sent < allowed) {
      const ti = (p.sent + p.idx) % nTopics
      p.topicIdx.push(ti)
      p.sentAt.push(nowMs())
      const pr = prio === null ? '' : `"priority":${pickPriority(prio)},`
      p.conn.send(`pub ${topics[ti]} {${pr}"msg":{"t":${nowMs()},"p":"${pad}"}}\n`)
      p.sent++
    }
  }

  const subsConns: Conn[] = []
  const sockets: net.Socket[] = []
  const onClose = (what: string) => (): void => {
    if (fatal === null) fatal = `${what} connection closed by broker`
    finish(false)
  }
  const onError = (what: string) => (e: Error): void => {
    if (fatal === null) fatal = `${what} connection error: ${e.message}`
    finish(false)
  }

  const timer = setTimeout(() => finish(true), o.durationLimitMs)
  let paceTimer: NodeJS.Timeout | null = null
  let closing = false
  try {
    for (let i = 0; i < o.publishers; i++) {
      const quota = Math.floor(o.messages / o.publishers) + (i < o.messages % o.publishers ? 1 : 0)
      const sock = await connect(o.host, o.port)
      sockets.push(sock)
      const p = { idx: i, quota, sent: 0, replied: 0, warm: [] as Array<() => void>, topicIdx: [] as number[], sentAt: [] as number[], conn: null as unknown as Conn }
      let head = 0
      p.conn = new Conn(
        sock,
        (line) => {
          const w = p.warm.shift()
          if (w !== undefined) {
            if (line.startsWith('ERR ')) countErr(line)
            w()
            return
          }
          confirmLat.record(nowMs() - p.sentAt[head]!)
          const ti = p.topicIdx[head++]!
          if (head > 4096) {
            p.topicIdx.splice(0, head)
            p.sentAt.splice(0, head)
            head = 0
          }
          p.replied++
          pubReplies++
          lastPubAt = nowMs()
          if (line.startsWith('OK ')) {
            published++
            publishedPerTopic[ti]!++
          } else {
            publishErrors++
            countErr(line)
          }
        },
        () => {
          refill(p)
          check()
        },
      )
      sock.on('error', onError('publisher'))
      sock.on('close', () => {
        if (!closing) onClose('publisher')()
      })
      pubs.push(p)
    }

    // Create the topics: a topic exists after its first pub (dropped, no subscribers yet).
    const p0 = pubs[0]!
    await Promise.all(
      topics.map(
        (t) =>
          new Promise<void>((resolve) => {
            p0.warm.push(resolve)
            p0.conn.send(`pub ${t} {"msg":"bench warm-up"}\n`)
          }),
      ),
    )

    // --- subscribers ----------------------------------------------------
    const subReady: Promise<void>[] = []
    for (let i = 0; i < o.subscribers; i++) {
      const sock = await connect(o.host, o.port)
      sockets.push(sock)
      const waiting: Array<(line: string) => void> = []
      // batch=<n>: ids read and not yet acked, by topic; the size of each ack line sent, in order (its reply counts them).
      const batch = typeof o.ackMode === 'object' ? o.ackMode.batch : 0
      const unacked = new Map<string, string[]>()
      const ackLines: number[] = []
      const sendAck = (topic: string, ids: string[]): void => {
        acksSent++
        ackLines.push(ids.length)
        c.send(`ack ${topic} ${ids.join(' ')}\n`)
      }
      const flushAcks = (): void => {
        for (const [topic, ids] of unacked) if (ids.length > 0) sendAck(topic, ids.splice(0))
      }
      let c!: Conn
      c = new Conn(
        sock,
        (line) => {
          if (line.startsWith('EVENT ')) {
            const sp = line.indexOf(' ', 6)
            const topic = line.slice(6, sp)
            let ev: { id?: unknown; deliveries?: number; msg?: { t?: number } }
            try {
              ev = JSON.parse(line.slice(sp + 1))
            } catch {
              errors.BAD_EVENT_JSON = (errors.BAD_EVENT_JSON ?? 0) + 1
              return
            }
            const now = nowMs()
            if (ev.deliveries !== undefined && ev.deliveries > 1) redelivered++
            else {
              delivered++
              lastDeliveryAt = now
              const t = ev.msg?.t
              if (typeof t === 'number') lat.record(now - t)
            }
            if (o.ack && ev.id !== undefined && o.ackMode !== 'none') {
              if (batch === 0) {
                acksSent++
                ackLines.push(1)
                c.send(`ack ${topic} ${String(ev.id)}\n`)
              } else {
                let ids = unacked.get(topic)
                if (ids === undefined) unacked.set(topic, (ids = []))
                ids.push(String(ev.id))
                if (ids.length >= batch) sendAck(topic, ids.splice(0))
              }
            }
            return
          }
          const w = waiting.shift()
          if (w !== undefined) {
            w(line)
            return
          }
          ackReplies++
          const n = ackLines.shift() ?? 1
          if (line.startsWith('OK ')) {
            acked += n
            lastAckAt = nowMs()
          } else {
            ackErrors++
            countErr(line)
          }
        },
        () => {
          flushAcks() // what a read brought short of a batch is acked after it, so nothing waits for more
          check()
        },
      )
      sock.on('error', onError('subscriber'))
      sock.on('close', () => {
        if (!closing) onClose('subscriber')()
      })
      subsConns.push(c)
      if (options.subscriberName !== undefined) {
        const who = `${options.subscriberName}-${i}`
        subReady.push(
          new Promise<void>((resolve, reject) => {
            waiting.push((line) => {
              if (line.startsWith('OK ')) resolve()
              else reject(new Error(`name ${who} refused: ${line}`))
            })
            c.send(`name ${who}\n`)
          }),
        )
      }
      for (const t of topics) {
        subReady.push(
          new Promise<void>((resolve, reject) => {
            waiting.push((line) => {
              if (line.startsWith('OK ')) resolve()
              else reject(new Error(`sub ${t} refused: ${line}`))
            })
            c.send(o.ackMode === 'none' ? `sub ${t} ack=none\n` : `sub ${t} ${o.inFlight}\n`)
          }),
        )
      }
    }
    const ready = await Promise.race([Promise.all(subReady).then(() => true), finished.then(() => false)])
    if (ready && options.onReady) await options.onReady()

    if (ready && fatal === null) {
      // --- load -------------------------------------------------------------
      startAt = nowMs()
      publishing = true
      for (const p of pubs) {
        refill(p)
        p.conn.flush()
      }
      if (o.rate > 0) {
        paceTimer = setInterval(() => {
          for (const p of pubs) {
            refill(p)
            p.conn.flush()
          }
        }, 1)
      }
    }
  } catch (e) {
    if (fatal === null) fatal = (e as Error).message
    finish(false)
  }

  let bar: { update(n: number, payload?: object): void; stop(): void } | null = null
  const showProgress = o.progress && process.stderr.isTTY === true
  const progressTimer = showProgress
    ? setInterval(() => {
        if (startAt === 0 || nowMs() - startAt < 2000) return
        if (bar === null) {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const cliProgress = require('cli-progress') as typeof import('cli-progress')
          const b = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: 'bench [{bar}] {percentage}% | delivered {value}/{total} | published {published} | {eta_formatted} left',
              hideCursor: true,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          )
          b.start(Math.max(1, o.messages * o.subscribers), 0, { published: 0 })
          bar = b
        }
        bar.update(delivered, { published })
      }, 200)
    : null

  const timedOut = await finished
  clearTimeout(timer)
  if (progressTimer) clearInterval(progressTimer)
  if (paceTimer) clearInterval(paceTimer)
  if (bar !== null) (bar as { stop(): void }).stop()

  const end = nowMs()
  const result: BenchResult = {
    config: {
      host: o.host,
      port: o.port,
      publishers: o.publishers,
      subscribers: o.subscribers,
      messages: o.messages,
      size: o.size,
      priorities: prio,
      inFlight: o.inFlight,
      ack: o.ack,
      ackMode: ackModeText(o.ackMode),
      topics: o.topics,
      window: o.window,
      rate: o.rate,
      durationLimitMs: o.durationLimitMs,
      topicPrefix: o.topicPrefix,
      subscriberName: options.subscriberName ?? null,
      progress: o.progress,
    },
    complete: !timedOut && fatal === null && isDone() && publishErrors === 0,
    timedOut,
    fatal,
    elapsedMs: startAt === 0 ? 0 : end - startAt,
    published,
    publishErrors,
    expectedDeliveries: pubReplies === o.messages ? expected() : plannedExpected(),
    delivered,
    redelivered,
    acked,
    ackErrors,
    errors,
    rates: {
      published: startAt === 0 ? 0 : rate(published, lastPubAt - startAt),
      delivered: startAt === 0 ? 0 : rate(delivered, lastDeliveryAt - startAt),
      acked: startAt === 0 ? 0 : rate(acked, lastAckAt - startAt),
    },
    latencyMs: lat.summary(),
    confirmLatencyMs: confirmLat.summary(),
  }
  try {
    if (options.onSettled) await options.onSettled(result)
  } finally {
    closing = true
    for (const s of sockets) s.destroy()
  }
  return result
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}

const f = (n: number, d = 0): string => (Number.isNaN(n) ? '-' : n.toFixed(d))

/** Human readable multi-line report. */
export function formatBenchResult(r: BenchResult): string {
  const c = r.config
  const l = r.latencyMs
  const lines = [
    `ackline bench ${c.host}:${c.port}  pubs=${c.publishers} subs=${c.subscribers} topics=${c.topics} messages=${c.messages} size~${c.size}B ` +
      `priorities=${c.priorities ? `${c.priorities.min}-${c.priorities.max}` : 'default'} in-flight=${c.inFlight} ack=${c.ack ? c.ackMode : 'off'} window=${c.window}${c.rate ? ` rate=${c.rate}/s` : ''}`,
    `elapsed     ${f(r.elapsedMs / 1000, 2)} s`,
    `published   ${r.published} (${f(r.rates.published)} ev/s)${r.publishErrors ? `, ${r.publishErrors} errors` : ''}`,
    `delivered   ${r.delivered}/${r.expectedDeliveries} (${f(r.rates.delivered)} ev/s)${r.redelivered ? `, ${r.redelivered} redeliveries` : ''}`,
    `acked       ${c.ack && c.ackMode !== 'none' ? `${r.acked} (${f(r.rates.acked)} ev/s)${r.ackErrors ? `, ${r.ackErrors} errors` : ''}` : 'off'}`,
    `latency ms  p50 ${f(l.p50, 2)}  p90 ${f(l.p90, 2)}  p99 ${f(l.p99, 2)}  max ${f(l.max, 2)}  (n=${l.count})`,
    `confirm ms  p50 ${f(r.confirmLatencyMs.p50, 2)}  p99 ${f(r.confirmLatencyMs.p99, 2)}  (pub to OK)`,
  ]
  const errs = Object.entries(r.errors)
  if (errs.length) lines.push(`errors      ${errs.map(([k, v]) => `${k}=${v}`).join(' ')}`)
  if (r.fatal) lines.push(`FATAL       ${r.fatal}`)
  if (r.timedOut) lines.push(`TIMED OUT   after ${f(c.durationLimitMs / 1000)} s (duration limit)`)
  if (!r.complete) {
    lines.push(`INCOMPLETE  ${r.expectedDeliveries - r.delivered} expected deliveries missing, ${c.messages - r.published} pubs not confirmed`)
  }
  return lines.join('\n')
}
