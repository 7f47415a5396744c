/** Shared measurement rules for every peer driver (and the Ackline one). */
import * as net from 'node:net'
import * as fs from 'node:fs'
import { LatencyRecorder, nowMs, paceAllowance, rate } from '../../../src/bench/stats'
import { paddingFor, pickPriority, PriorityRange } from '../../../src/bench/args'

export type Workload = 'W1' | 'W2' | 'W3' | 'M1'
export const WORKLOADS: readonly Workload[] = ['W1', 'W2', 'W3', 'M1']

export interface Settings {
  w1Messages: number
  w2Messages: number
  m1Count: number
  size: number
  window: number
  /** open-loop publish rate, events/s (0 = as fast as the window allows) */
  rate: number
  inFlight: number
  runTimeoutMs: number
  stallMs: number
  ackline: { root: string; w1InFlight: number; durableArgs: string[] | null }
}

export interface RunResult {
  peer: string
  workload: Workload
  variant: string
  messages: number
  published: number
  expected: number
  delivered: number
  acked: number
  complete: boolean
  elapsedMs: number
  pubRate: number
  delRate: number
  p50: number
  p99: number
  max: number
  /** Publish-to-confirmation latency (broker's per-publish reply), where the protocol has one. */
  confirmP50?: number
  confirmP99?: number
  note: string
  /** M1 only */
  rssBaselineKb?: number
  rssAfterKb?: number
  bytesPerEvent?: number
}

/** Same ~size-byte event body for every broker: what `ackline bench` publishes. */
export class Body {
  private readonly pad: string
  constructor(size: number, private readonly prio: PriorityRange | null) {
    this.pad = paddingFor(size)
  }
  /** Returns [priority (or -1), body]. */
  next(): [number, string] {
    const p = this.prio === null ? -1 : pickPriority(this.prio)
    const pr = p < 0 ? '' : `"priority":${p},`
    return [p, `{${pr}"msg":{"t":${nowMs()},"p":"${this.pad}"}}`]
  }
}

/**
 * Counts publishes/deliveries and end-to-end latency (publisher's send time in
 * the body, taken again on delivery, same process) exactly like runBench.
 */
export class Meter {
  readonly lat = new LatencyRecorder()
  /** Publish-to-confirmation times, fed by pipelined() for brokers that confirm each publish. */
  readonly confirmLat = new LatencyRecorder()
  published = 0
  delivered = 0
  acked = 0
  private startAt = 0
  private lastPub = 0
  private lastDel = 0
  private lastProgress = 0
  private waiter: (() => void) | null = null
  expected = 0

  start(expected: number): void {
    this.expected = expected
    this.startAt = nowMs()
    this.lastProgress = this.startAt
  }
  pub(confirmMs?: number): void {
    this.published++
    this.lastPub = nowMs()
    if (confirmMs !== undefined) this.confirmLat.record(confirmMs)
  }
  deliver(body: string | Uint8Array): void {
    const now = nowMs()
    this.delivered++
    this.lastDel = now
    this.lastProgress = now
    const s = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString()
    try {
      const t = (JSON.parse(s) as { msg?: { t?: number } }).msg?.t
      if (typeof t === 'number') this.lat.record(now - t)
    } catch {
      /* not a bench body */
    }
    if (this.waiter && this.delivered >= this.expected) this.waiter()
  }
  /** Resolves when everything expected was delivered, on timeout, or after `stallMs` without deliveries. */
  wait(s: Settings): Promise<boolean> {
    if (this.delivered >= this.expected) return Promise.resolve(true)
    return new Promise((resolve) => {
      const deadline = this.startAt + s.runTimeoutMs
      const iv = setInterval(() => {
        const now = nowMs()
        if (now > deadline || now - Math.max(this.lastProgress, this.lastPub) > s.stallMs) done(false)
      }, 250)
      const done = (ok: boolean): void => {
        clearInterval(iv)
        this.waiter = null
        resolve(ok)
      }
      this.waiter = () => done(true)
    })
  }
  /** Give outstanding ack replies a moment to arrive (acks are counted on the broker's reply). */
  async waitAcks(ms: number): Promise<void> {
    const end = Date.now() + ms
    while (this.acked < this.delivered && Date.now() < end) await sleep(10)
  }
  result(peer: string, workload: Workload, variant: string, messages: number, note = ''): RunResult {
    const l = this.lat.summary()
    const c = this.confirmLat.summary()
    return {
      peer,
      workload,
      variant,
      messages,
      published: this.published,
      expected: this.expected,
      delivered: this.delivered,
      acked: this.acked,
      complete: this.delivered >= this.expected && this.published === messages,
      elapsedMs: Math.max(this.lastPub, this.lastDel) - this.startAt,
      pubRate: rate(this.published, this.lastPub - this.startAt),
      delRate: rate(this.delivered, this.lastDel - this.startAt),
      p50: l.p50,
      p99: l.p99,
      max: l.max,
      ...(c.count > 0 ? { confirmP50: c.p50, confirmP99: c.p99 } : {}),
      note,
    }
  }
}

/**
 * Keep at most `window` sends outstanding until `total` were sent and confirmed;
 * with `ratePerSec` > 0, also never send ahead of that open-loop rate.
 */
export async function pipelined(total: number, window: number, send: () => Promise<unknown>, onDone: (confirmMs: number) => void, ratePerSec = 0): Promise<void> {
  let sent = 0
  let first: Error | null = null
  const start = nowMs()
  let timer: NodeJS.Timeout | null = null
  await new Promise<void>((resolve, reject) => {
    let outstanding = 0
    const pump = (): void => {
      const allowed = paceAllowance(nowMs() - start, ratePerSec)
      while (sent < total && outstanding < window && first === null && sent < allowed) {
        sent++
        outstanding++
        const sentAt = nowMs()
        send().then(
          () => {
            outstanding--
            onDone(nowMs() - sentAt)
            if (sent === total && outstanding === 0) resolve()
            else pump()
          },
          (e: Error) => {
            first ??= e
            reject(e)
          },
        )
      }
      if (sent < total && sent >= allowed && timer === null && first === null) {
        timer = setTimeout(() => {
          timer = null
          pump()
        }, 1)
      }
    }
    if (total === 0) resolve()
    else pump()
  })
}

/** For protocols without a per-publish reply: how many to send in the next batch (0 = wait a little). */
export function nextBatch(sent: number, total: number, window: number, start: number, ratePerSec: number): number {
  return Math.max(0, Math.min(window, total - sent, paceAllowance(nowMs() - start, ratePerSec) - sent))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Poll until a TCP port on 127.0.0.1 accepts connections. */
export async function waitPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > end) throw new Error(`port ${port} not listening after ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** VmRSS of a process in kB (from /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}
