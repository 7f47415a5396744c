/**
 * Segment lines already encoded: what a segment append writes. The bytes are
 * the lines back to back (each event's JSON as UTF-8, then a newline), with
 * what the segment index notes of each line beside them in typed arrays. A
 * topic's events not yet stored are kept in this shape (src/store/unstoredEvents.ts),
 * off the JavaScript heap, and handed to the append without another copy.
 */
export interface LineBatch {
  /** Lines in the batch. */
  readonly count: number
  /** The lines, back to back, each ending with `\n`: `count` lines exactly. */
  readonly bytes: Buffer
  /** Offset of each line's event (increasing). */
  readonly offsets: Float64Array
  /** Timestamp of each line's event (ms since the epoch). */
  readonly timestamps: Float64Array
  /** Priority of each line's event. */
  readonly priorities: Float64Array
  /** Bytes of each line, its newline included. */
  readonly lengths: Uint32Array
}

/** Lines in several parts, in offset order, appended as one (a topic's unstored events come a part per page). */
export type LineParts = readonly LineBatch[]

/** Lines in all the parts. */
export function linesIn (parts: LineParts): number {
  let n = 0
  for (const p of parts) n += p.count
  return n
}

/** The offset of the last line of the parts; -1 when they have none. */
export function lastOffsetIn (parts: LineParts): number {
  for (let k = parts.length - 1; k >= 0; k--) {
    const p = parts[k]
    if (p.count > 0) return p.offsets[p.count - 1]
  }
  return -1
}

/** What a line batch needs of an event: its stored text (no newline), offset, timestamp and priority. */
export interface LineSource {
  readonly offset: number
  readonly timestamp: number
  readonly priority: number
  readonly json: string
}

/** Encodes events into one line batch (migration, tests: the broker's own events are encoded as they arrive). */
export function encodeLines (events: readonly LineSource[]): LineBatch {
  const count = events.length
  const lengths = new Uint32Array(count)
  let size = 0
  for (let i = 0; i < count; i++) {
    lengths[i] = Buffer.byteLength(events[i].json, 'utf8') + 1
    size += lengths[i]
  }
  const bytes = Buffer.allocUnsafeSlow(size)
  const offsets = new Float64Array(count)
  const timestamps = new Float64Array(count)
  const priorities = new Float64Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const e = events[i]
    at += bytes.write(e.json, at, 'utf8')
    bytes[at++] = 0x0a
    offsets[i] = e.offset
    timestamps[i] = e.timestamp
    priorities[i] = e.priority
  }
  return { count, bytes, offsets, timestamps, priorities, lengths }
}
