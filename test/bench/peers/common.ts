/** Settings, result shape and small helpers shared by the peer runner and its drivers. */
import * as net from 'node:net'
import * as fs from 'node:fs'
import { rate } from '../../../src/bench/stats'
import type { Meter } from './wire'

/** W2G: W2 through competing consumers (an Ackline consumer group; one RabbitMQ queue with several consumers). */
export type Workload = 'W1' | 'W2' | 'W2G' | 'W3' | 'M1'
export const WORKLOADS: readonly Workload[] = ['W1', 'W2', 'W2G', 'W3', 'M1']

export interface Settings {
  w1Messages: number
  w2Messages: number
  m1Count: number
  size: number
  /** Max publishes sent and not yet confirmed, for every broker. */
  window: number
  /** For NATS core and MQTT QoS 0 (no reply per publish): a PING after every this many publishes. */
  syncEvery: number
  /** open-loop publish rate, events/s (0 = as fast as the window allows) */
  rate: number
  inFlight: number
  /** W2G on RabbitMQ: a durable queue and persistent messages, as durable as Ackline's group (a named subscription). */
  rabbitmqW2gDurable?: boolean
  runTimeoutMs: number
  stallMs: number
  ackline: {
    root: string
    w1InFlight: number
    durableArgs: string[] | null
    /** How this run's subscribers ack: `each`, `none` (`sub … ack=none`) or `batch=<n>` (one `ack` line for up to n ids). */
    ack?: string
    /** The broker runs with retention 0 (`{"retention":{"maxAgeMs":0}}`): events no subscription owes are never written. */
    retention0?: boolean
  }
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
  /** Latency samples taken (one delivery in SAMPLE_EVERY). */
  samples?: number
  /** Publish-to-confirmation latency (broker's per-publish reply), where the protocol has one. */
  confirmP50?: number
  confirmP99?: number
  note: string
  /** Broker CPU time (user + system, /proc/<pid>/stat) over the run, in µs per delivered event: the load-insensitive figure. */
  cpuUsPerEvent?: number
  /** Broker read and write syscalls (/proc/<pid>/io syscr + syscw) over the run, per delivered event. */
  syscallsPerEvent?: number
  /** M1 only */
  rssBaselineKb?: number
  rssAfterKb?: number
  bytesPerEvent?: number
}

/** The RunResult of a finished (or failed) run from what its Meter counted. */
export function resultOf(m: Meter, peer: string, workload: Workload, variant: string, messages: number, note: string): RunResult {
  const l = m.lat.summary()
  const c = m.confirmLat.summary()
  const problems: string[] = []
  if (m.failure !== null) problems.push(`FAILED: ${m.failure}`)
  if (m.refused > 0) problems.push(`${m.refused} publishes refused`)
  if (m.delivered > m.expected) problems.push(`OVERCOUNT: ${m.delivered} deliveries counted, ${m.expected} expected`)
  const errs = Object.entries(m.errors)
  if (errs.length) problems.push(`errors ${errs.map(([k, v]) => `${k}=${v}`).join(' ')}`)
  const end = Math.max(m.lastPub, m.lastDel)
  return {
    peer,
    workload,
    variant,
    messages,
    published: m.published,
    expected: m.expected,
    delivered: m.delivered,
    acked: m.acked,
    complete: m.failure === null && m.refused === 0 && m.delivered === m.expected && m.published === messages,
    elapsedMs: end > 0 ? end - m.startAt : 0,
    pubRate: rate(m.published, m.lastPub - m.startAt),
    delRate: rate(m.delivered, m.lastDel - m.startAt),
    p50: l.p50,
    p99: l.p99,
    max: l.max,
    samples: l.count,
    ...(c.count > 0 ? { confirmP50: c.p50, confirmP99: c.p99 } : {}),
    note: [note, ...problems].filter(Boolean).join('; '),
  }
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

/** CPU time (user + system) a process has used so far, in µs (from /proc/<pid>/stat; NaN when unreadable). */
export function cpuUs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from 3 (state) on; utime and stime are fields 14 and 15
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS
  } catch {
    return NaN
  }
}

/** Read and write syscalls a process has made so far (/proc/<pid>/io syscr + syscw; NaN when unreadable). */
export function syscalls(pid: number): number {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8')
    const r = /syscr:\s+(\d+)/.exec(io)
    const w = /syscw:\s+(\d+)/.exec(io)
    return r && w ? Number(r[1]) + Number(w[1]) : NaN
  } catch {
    return NaN
  }
}

/** USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100

/** VmRSS of a process in kB (from /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}
