import { checkStoredEvent } from '../store/event'
import { detachedSlice } from '../store/flatString'
import { decodeLine, lineProblem, type SegmentLine } from './segmentCodec'

/**
 * The journal's publish record, `["P", topic, event]`, whose event must come
 * back byte for byte. JSON.parse of the line would re-serialize it, so the
 * reader rebuilds the record's prefix from the parsed topic, exactly as the
 * writer formats it, and takes the event text from between it and the final
 * `]`; the text is checked with the segment codec (it is the event's segment
 * line, offset included). Writer and reader share `prefix`.
 */

function prefix (topicJson: string): string {
  return '["P",' + topicJson + ','
}

/** The record's text before the event: the writer (Journal.appendText) writes it, then the event's text, then `]`. */
export function publishRecordHead (topic: string): string {
  return prefix(JSON.stringify(topic))
}

/** A publish record as read back. */
export interface PublishRecord {
  topic: string
  /** The event as stored (its text exactly as journaled and delivered, its offset, id, priority, timestamp). */
  event: SegmentLine
}

/** Reads a publish record `line` whose JSON.parse result is `rec`. Throws an Error saying what is wrong. */
export function decodePublishRecord (line: string, rec: unknown[]): PublishRecord {
  const [, topic, event] = rec
  if (rec.length !== 3 || typeof topic !== 'string' || typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new Error('not a publish record ["P", topic, event]')
  }
  const head = prefix(JSON.stringify(topic))
  if (!line.startsWith(head) || !line.endsWith(']') || line.length < head.length + 1) {
    throw new Error('publish record not in the layout the broker writes')
  }
  const json = detachedSlice(line, head.length, line.length - 1)
  if (json.charCodeAt(json.length - 1) !== 0x7d) throw new Error('publish record not in the layout the broker writes')
  const decoded = decodeLine(json)
  if (decoded === null) throw new Error(`publish record's event is not an event line: ${lineProblem(json) ?? 'unreadable'}`)
  return { topic, event: decoded }
}

// --- storage v1 (read by the migration only) ---

/** v1's `["P", topic, seq, event, [subs]]`: the event's prefix and suffix, as v1 brokers wrote them. */
function prefixV1 (topicJson: string, seq: number): string {
  return '["P",' + topicJson + ',' + String(seq) + ','
}

function suffixV1 (subsJson: string): string {
  return ',[' + subsJson + ']]'
}

/** A v1 publish record as read back. */
export interface PublishRecordV1 {
  topic: string
  seq: number
  /** The event text exactly as journaled (and delivered). */
  json: string
  id: string | number
  priority: number
  subs: string[]
}

/** Reads a v1 publish record `line` whose JSON.parse result is `rec`. Throws an Error saying what is wrong. */
export function decodePublishRecordV1 (line: string, rec: unknown[]): PublishRecordV1 {
  const [, topic, seq, , subs] = rec
  if (rec.length !== 5 || typeof topic !== 'string' || !Number.isSafeInteger(seq) || !Array.isArray(subs) || !subs.every(s => typeof s === 'string')) {
    throw new Error('not a publish record ["P", topic, seq, event, [subs]]')
  }
  const head = prefixV1(JSON.stringify(topic), seq as number)
  const tail = suffixV1((subs as string[]).map(s => JSON.stringify(s)).join(','))
  if (!line.startsWith(head) || !line.endsWith(tail) || line.length < head.length + tail.length) {
    throw new Error('publish record not in the layout the broker writes')
  }
  const json = detachedSlice(line, head.length, line.length - tail.length)
  const { id, priority } = checkStoredEvent(json)
  return { topic, seq: seq as number, json, id, priority, subs: subs as string[] }
}
