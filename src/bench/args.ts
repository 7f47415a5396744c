/** Pure argument parsing helpers for `ackline bench` (and the peer runner). */

export interface PriorityRange {
  min: number
  max: number
}

/** Parse `0-9`, `5`, or `3-7` into an inclusive range within 0..9. */
export function parsePriorities(s: string): PriorityRange {
  const m = /^\s*(\d)\s*(?:-\s*(\d)\s*)?$/.exec(s)
  if (!m) throw new Error(`invalid priority range "${s}" (expected e.g. 0-9 or 5)`)
  const min = Number(m[1])
  const max = m[2] === undefined ? min : Number(m[2])
  if (min > max) throw new Error(`invalid priority range "${s}": ${min} > ${max}`)
  return { min, max }
}

/** How bench subscribers acknowledge: one `ack` per event, one `ack` line per up to `batch` events, or `sub … ack=none` (at most once). */
export type AckMode = 'each' | 'none' | { batch: number }

/** Parse `each`, `none` or `batch=<n>` (n >= 1). */
export function parseAckMode(s: string): AckMode {
  const v = s.trim().toLowerCase()
  if (v === 'each' || v === 'none') return v
  const m = /^batch=(.+)$/.exec(v)
  if (m) return { batch: parseCount(m[1]!, 'batch size') }
  throw new Error(`invalid ack mode "${s}" (expected each, none or batch=<n>)`)
}

/** The text form of an AckMode, as `--ack` takes it. */
export function ackModeText(m: AckMode): string {
  return typeof m === 'string' ? m : `batch=${m.batch}`
}

/** Random integer priority in the inclusive range. */
export function pickPriority(r: PriorityRange, random: () => number = Math.random): number {
  return r.min + Math.floor(random() * (r.max - r.min + 1))
}

/**
 * Parse a positive integer; accepts `_` or `,` separators and k/m suffixes
 * (`200k`, `1m`, `1_000_000`). `min` defaults to 1.
 */
export function parseCount(s: string, name = 'value', min = 1): number {
  const m = /^\s*([\d_,]+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(s)
  if (!m) throw new Error(`invalid ${name} "${s}" (expected an integer)`)
  let n = Number(m[1]!.replace(/[_,]/g, ''))
  const suffix = m[2]!.toLowerCase()
  if (suffix === 'k') n *= 1_000
  else if (suffix === 'm') n *= 1_000_000
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`invalid ${name} "${s}" (expected an integer >= ${min})`)
  }
  return n
}

/** Parse a duration in seconds: `30`, `30s`, `2m`, `500ms`. Returns milliseconds. */
export function parseDurationMs(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(s)
  if (!m) throw new Error(`invalid duration "${s}" (expected e.g. 30s, 2m, 500ms)`)
  const v = Number(m[1])
  const unit = m[2] ?? 's'
  const ms = unit === 'ms' ? v : unit === 'm' ? v * 60_000 : v * 1000
  if (ms <= 0) throw new Error(`invalid duration "${s}" (must be > 0)`)
  return ms
}

/** Parse a comma separated list, trimming and lower-casing; rejects unknown names. */
export function parseList<T extends string>(s: string, allowed: readonly T[], name: string): T[] {
  const out: T[] = []
  for (const raw of s.split(',')) {
    const v = raw.trim()
    if (v === '') continue
    const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase())
    if (hit === undefined) {
      throw new Error(`unknown ${name} "${v}" (allowed: ${allowed.join(', ')})`)
    }
    if (!out.includes(hit)) out.push(hit)
  }
  if (out.length === 0) throw new Error(`empty ${name} list`)
  return out
}

/**
 * Padding string so that an event `{"priority":P,"msg":{"t":<ms>,"p":"<pad>"}}`
 * is about `size` bytes. The fixed part is ~45 bytes; never negative.
 */
export function paddingFor(size: number): string {
  const overhead = '{"priority":9,"msg":{"t":1763900000000.123,"p":""}}'.length
  return 'x'.repeat(Math.max(0, size - overhead))
}
