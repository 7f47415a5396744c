/**
 * Retention of storage v2 segments, pure: which whole segments of a topic
 * may be deleted. Acked events are kept for replay until they are older than
 * `maxAgeMs` or the topic holds more than `maxBytes`; an event still owed to
 * a subscription is never dropped, whatever the limits say. Only a prefix of
 * the segments is ever deleted (offsets stay contiguous from the first
 * retained one), and never the active (last) segment: the caller rolls it
 * when `rollActive` says it has wholly expired, and deletes it next time.
 */

export interface RetentionPolicy {
  /** Keep events at least this long (ms since their timestamp). */
  maxAgeMs: number
  /** Keep at most this many bytes of segments per topic (the active segment counts). */
  maxBytes: number
}

/** A retention override for the topics matching `pattern` (`name`, `prefix.*`, `*`), private topics included. */
export interface RetentionOverride extends Partial<RetentionPolicy> {
  pattern: string
}

export interface RetentionConfig extends RetentionPolicy {
  /** Checked in order; the first match wins, its missing fields fall back to the defaults above. */
  overrides?: readonly RetentionOverride[]
}

/** What retention needs to know of a segment. */
export interface SegmentSummary {
  firstOffset: number
  /** Offset of the last line; firstOffset - 1 when the segment is empty. */
  lastOffset: number
  bytes: number
  /** Highest event timestamp in the segment (clocks can step back: not necessarily the last line's). */
  maxTimestamp: number
}

export interface RetentionVerdict {
  /** How many leading segments may be deleted. */
  deleteCount: number
  /** Their total size. */
  deleteBytes: number
  /** Why the last of them goes: by age or by size (null when none). */
  reason: 'age' | 'bytes' | null
  /** The active segment has wholly expired and owes nothing: roll it so the next pass can delete it. */
  rollActive: boolean
  /** Deletion stopped early because a segment still holds events owed to a subscription. */
  heldByOwed: boolean
}

/** The policy for one topic: the first matching override over the defaults. */
export function retentionFor (topic: string, config: RetentionConfig): RetentionPolicy {
  for (const o of config.overrides ?? []) {
    if (matches(o.pattern, topic)) {
      return { maxAgeMs: o.maxAgeMs ?? config.maxAgeMs, maxBytes: o.maxBytes ?? config.maxBytes }
    }
  }
  return { maxAgeMs: config.maxAgeMs, maxBytes: config.maxBytes }
}

/**
 * A policy of 0 age or 0 bytes keeps no event for replay: an event is kept
 * only while some subscription owes it, so one that no subscription owes when
 * it is published (the topic has none, or only at-most-once ones) is never
 * written at all, as with NATS core or Redis pub/sub (docs/storage.md).
 */
export function keepsNothing (policy: RetentionPolicy): boolean {
  return policy.maxAgeMs === 0 || policy.maxBytes === 0
}

function matches (pattern: string, topic: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('.*')) return topic.length > pattern.length - 1 && topic.startsWith(pattern.slice(0, -1))
  return pattern === topic
}

/**
 * Decides which leading segments go. `owedFrom` is the lowest offset any
 * subscription still holds (waiting, in flight or owed a redelivery);
 * Infinity when nothing is owed.
 */
export function expiredSegments (segments: readonly SegmentSummary[], policy: RetentionPolicy, owedFrom: number, now: number): RetentionVerdict {
  const verdict: RetentionVerdict = { deleteCount: 0, deleteBytes: 0, reason: null, rollActive: false, heldByOwed: false }
  const n = segments.length
  if (n === 0) return verdict
  let total = 0
  for (const s of segments) total += s.bytes
  const oldest = now - policy.maxAgeMs
  for (let i = 0; i < n - 1; i++) {
    const s = segments[i]
    const byAge = s.maxTimestamp < oldest
    const bySize = total - verdict.deleteBytes > policy.maxBytes
    if (!byAge && !bySize) break
    if (s.lastOffset >= owedFrom) { verdict.heldByOwed = true; break }
    verdict.deleteCount++
    verdict.deleteBytes += s.bytes
    verdict.reason = byAge ? 'age' : 'bytes'
  }
  if (verdict.deleteCount === n - 1) {
    const active = segments[n - 1]
    const empty = active.lastOffset < active.firstOffset
    if (!empty && active.lastOffset < owedFrom && (active.maxTimestamp < oldest || total - verdict.deleteBytes > policy.maxBytes)) {
      verdict.rollActive = true
    }
  }
  return verdict
}
