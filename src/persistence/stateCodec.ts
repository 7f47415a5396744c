import { PRIORITIES, type PendingIndex } from '../store/pendingIndex'
import type { HookSettings } from '../store/subscription'

/**
 * The text formats of a topic's subscription state in storage v2
 * (docs/storage-v2-design.md), I/O-free. One JSON array per line, so
 * `cat` and `jq -c` read them.
 *
 * State log `state-<k>.jsonl`, appended once per batch:
 *   ["S", sub, maxInFlight, ackTimeoutMs, start, to, user?]  subscription created (owed every offset >= start, up to `to`, 0: no end), or its settings changed;
 *                                       `user` only on a private topic: the user that made (or last resumed) it
 *   ["R", user, rights]                 what a user may do on a private topic now: "pub", "sub", "both" or "none" (grant/revoke)
 *   ["U", sub]                          subscription ended
 *   ["D", sub, offset, priority, n]     offset delivered for the n-th time
 *   ["A", sub, first, last]             offsets first..last acked (or dropped by an overflow policy)
 *   ["C", sub, offset]                  commit: every delivered, unacked offset <= offset acked
 *   ["H", sub, url, secret, maxDeliveries]             the subscription is a webhook subscriber (maxDeliveries null: for ever)
 *   ["F", sub, failures, nextAttemptAt, disabledReason]  a webhook's retry state changed (nulls: not backing off, not disabled)
 *   ["G", gen, nextOffset, nextAutoId]  batch marker: reflects journal generations <= gen
 *
 * Snapshot `snapshot-<k>.jsonl` (the state as of the end of log k-1):
 *   {"snapshot":k,"topic":…,"gen":…,"nextOffset":…,"nextAutoId":…}
 *   ["R", user, rights]                                         a grant on a private topic
 *   ["S", sub, maxInFlight, ackTimeoutMs, start, to, tailFrom, user?]   tailFrom: offsets >= it are owed implicitly (not listed below)
 *   ["W", sub, priority, [start, end, start, end, …]]            waiting (never delivered) offsets as runs
 *   ["D", sub, [offset, priority, n, …]]                          delivered, not acked
 *   ["H", …] and ["F", …]                                        a webhook subscriber, as in the log
 *   ["END", lines]                                                the line count: a snapshot without it is incomplete
 * A snapshot costs one line per subscription plus its runs and unacked
 * deliveries, never one line per pending event.
 */

const q = JSON.stringify

export function subscribedRecord (sub: string, maxInFlight: number, ackTimeoutMs: number, start: number, to: number, user: string | null = null): string {
  return `["S",${q(sub)},${maxInFlight},${ackTimeoutMs},${start},${to}${user === null ? '' : ',' + q(user)}]`
}

/** A grant on a private topic: what `user` may do now (`pub`, `sub`, `both` or `none`). */
export function grantRecord (user: string, rights: string): string {
  return `["R",${q(user)},${q(rights)}]`
}

export function unsubscribedRecord (sub: string): string {
  return `["U",${q(sub)}]`
}

export function deliveredRecord (sub: string, offset: number, priority: number, n: number): string {
  return `["D",${q(sub)},${offset},${priority},${n}]`
}

export function ackedRecord (sub: string, first: number, last: number): string {
  return `["A",${q(sub)},${first},${last}]`
}

export function committedRecord (sub: string, offset: number): string {
  return `["C",${q(sub)},${offset}]`
}

/** The subscription delivers by HTTP POST (src/webhooks): its URL, secret and dead-letter limit. */
export function hookRecord (sub: string, url: string, secret: string, maxDeliveries: number | null): string {
  return `["H",${q(sub)},${q(url)},${q(secret)},${maxDeliveries === null ? 'null' : maxDeliveries}]`
}

/** A webhook's retry state: failures in a row, when it may send again, why it is disabled. */
export function hookStateRecord (sub: string, failures: number, nextAttemptAt: number | null, disabledReason: string | null): string {
  return `["F",${q(sub)},${failures},${nextAttemptAt === null ? 'null' : nextAttemptAt},${disabledReason === null ? 'null' : q(disabledReason)}]`
}

export function batchMarker (gen: number, nextOffset: number, nextAutoId: number): string {
  return `["G",${gen},${nextOffset},${nextAutoId}]`
}

/** Ack records for a set of acked offsets: contiguous ones coalesce into one range (sorts `offsets` in place). */
export function ackRecords (sub: string, offsets: number[]): string[] {
  offsets.sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < offsets.length;) {
    let j = i
    while (j + 1 < offsets.length && offsets[j + 1] <= offsets[j] + 1) j++
    out.push(ackedRecord(sub, offsets[i], offsets[j]))
    i = j + 1
  }
  return out
}

/** What a snapshot needs of a subscription (the recovery model and, in phase B, a live Subscription). */
export interface SubImage {
  readonly name: string
  readonly maxInFlight: number
  readonly ackTimeoutMs: number
  readonly start: number
  readonly to: number
  readonly tailFrom: number
  /** On a private topic, the user that made the subscription; null otherwise. */
  readonly user: string | null
  /** A consistent copy when the live one keeps changing while the snapshot is written (PendingIndex.clone()). */
  readonly waiting: PendingIndex
  forEachDelivered: (fn: (offset: number, priority: number, deliveries: number) => void) => void
  /** A webhook subscriber's settings and retry state (a copy); null or absent otherwise. */
  readonly hook?: HookSettings | null
}

export interface SnapshotHeader {
  snapshot: number
  topic: string
  gen: number
  nextOffset: number
  nextAutoId: number
}

/** Runs or deliveries per snapshot line: lines stay short enough to read and to write in slices. */
const PER_LINE = 512

/** The lines of a snapshot, produced lazily so a writer can yield to the event loop between slices. */
export function * snapshotLines (header: SnapshotHeader, subs: Iterable<SubImage>, grants: Iterable<[string, string]> = []): Generator<string> {
  let lines = 1
  yield JSON.stringify({ snapshot: header.snapshot, topic: header.topic, gen: header.gen, nextOffset: header.nextOffset, nextAutoId: header.nextAutoId })
  for (const [user, rights] of grants) {
    lines++
    yield grantRecord(user, rights)
  }
  for (const s of subs) {
    const name = q(s.name)
    lines++
    yield `["S",${name},${s.maxInFlight},${s.ackTimeoutMs},${s.start},${s.to},${s.tailFrom}${s.user === null ? '' : ',' + q(s.user)}]`
    const hook = s.hook
    if (hook != null) {
      lines += 2
      yield hookRecord(s.name, hook.url, hook.secret, hook.maxDeliveries)
      yield hookStateRecord(s.name, hook.failures, hook.nextAttemptAt, hook.disabledReason)
    }
    for (let p = PRIORITIES - 1; p >= 0; p--) {
      const level = s.waiting.level(p)
      const n = level?.runCount ?? 0
      for (let i = 0; i < n; i += PER_LINE) {
        const runs: number[] = []
        for (let k = i; k < n && k < i + PER_LINE; k++) runs.push(level!.startAt(k), level!.endAt(k))
        lines++
        yield `["W",${name},${p},[${runs.join(',')}]]`
      }
    }
    let triples: number[] = []
    const delivered: string[] = []
    s.forEachDelivered((o, p, n) => {
      triples.push(o, p, n)
      if (triples.length === PER_LINE * 3) { delivered.push(`["D",${name},[${triples.join(',')}]]`); triples = [] }
    })
    if (triples.length > 0) delivered.push(`["D",${name},[${triples.join(',')}]]`)
    for (const l of delivered) { lines++; yield l }
  }
  lines++
  yield `["END",${lines}]`
}

/** Parses one state line into a checked record array; throws an Error saying what is wrong. */
export function parseStateLine (line: string): unknown[] {
  const rec = JSON.parse(line) as unknown
  if (!Array.isArray(rec) || rec.length === 0 || typeof rec[0] !== 'string') throw new Error('not a state record')
  const shape = SHAPES[rec[0]]
  if (shape === undefined) throw new Error(`unknown record kind ${q(rec[0])}`)
  if (!shape(rec)) throw new Error(`malformed ${rec[0]} record`)
  return rec
}

const isName = (v: unknown): boolean => typeof v === 'string' && v.length > 0
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0
const isPriority = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 9
const allCounts = (v: unknown, groups: number): boolean => Array.isArray(v) && v.length % groups === 0 && v.every(isCount)

const SHAPES: Record<string, (r: unknown[]) => boolean> = Object.assign(Object.create(null) as Record<string, (r: unknown[]) => boolean>, {
  // A log's S has an optional user at 6; a snapshot's has tailFrom at 6, then an optional user.
  S: (r: unknown[]) => r.length >= 6 && r.length <= 8 && isName(r[1]) && isCount(r[2]) && isCount(r[3]) && isCount(r[4]) && isCount(r[5]) &&
    (r.length === 6 || isCount(r[6]) || (r.length === 7 && isName(r[6]))) && (r.length < 8 || (isCount(r[6]) && isName(r[7]))),
  R: (r: unknown[]) => r.length === 3 && isName(r[1]) && (r[2] === 'pub' || r[2] === 'sub' || r[2] === 'both' || r[2] === 'none'),
  U: (r: unknown[]) => r.length === 2 && isName(r[1]),
  D: (r: unknown[]) => (r.length === 5 && isName(r[1]) && isCount(r[2]) && isPriority(r[3]) && isCount(r[4])) ||
    (r.length === 3 && isName(r[1]) && allCounts(r[2], 3) && (r[2] as number[]).every((v, i) => i % 3 !== 1 || isPriority(v))),
  A: (r: unknown[]) => r.length === 4 && isName(r[1]) && isCount(r[2]) && isCount(r[3]) && (r[3] as number) >= (r[2] as number),
  C: (r: unknown[]) => r.length === 3 && isName(r[1]) && isCount(r[2]),
  H: (r: unknown[]) => r.length === 5 && isName(r[1]) && isName(r[2]) && isName(r[3]) && (r[4] === null || (isCount(r[4]) && (r[4] as number) > 0)),
  F: (r: unknown[]) => r.length === 5 && isName(r[1]) && isCount(r[2]) && (r[3] === null || isCount(r[3])) && (r[4] === null || isName(r[4])),
  G: (r: unknown[]) => r.length === 4 && isCount(r[1]) && isCount(r[2]) && isCount(r[3]),
  W: (r: unknown[]) => r.length === 4 && isName(r[1]) && isPriority(r[2]) && allCounts(r[3], 2) &&
    (r[3] as number[]).every((v, i, a) => i % 2 === 0 || v >= a[i - 1]),
  END: (r: unknown[]) => r.length === 2 && isCount(r[1]),
})
