import { checkStoredEvent, detachedSlice } from '../store/event'

/**
 * The journal's publish record, `["P", topic, seq, event, [subs]]`, whose
 * event must come back byte for byte. JSON.parse of the line would
 * re-serialize it, so the reader rebuilds the record's prefix and suffix from
 * the parsed values, exactly as the writer formats them, and takes the event
 * text from between them. Writer and reader share `prefix` and `suffix`.
 */

function prefix (topicJson: string, seq: number): string {
  return '["P",' + topicJson + ',' + String(seq) + ','
}

function suffix (subsJson: string): string {
  return ',[' + subsJson + ']]'
}

/** The record line (without newline); `subsJson` is the JSON strings of the subscriber names joined by ",". */
export function encodePublishRecord (topic: string, seq: number, eventJson: string, subsJson: string): string {
  return prefix(JSON.stringify(topic), seq) + eventJson + suffix(subsJson)
}

/** A publish record as read back. */
export interface PublishRecord {
  topic: string
  seq: number
  /** The event text exactly as journaled (and delivered). */
  json: string
  id: string | number
  priority: number
  subs: string[]
}

/** Reads a publish record `line` whose JSON.parse result is `rec`. Throws an Error saying what is wrong. */
export function decodePublishRecord (line: string, rec: unknown[]): PublishRecord {
  const [, topic, seq, , subs] = rec
  if (rec.length !== 5 || typeof topic !== 'string' || !Number.isSafeInteger(seq) || !Array.isArray(subs) || !subs.every(s => typeof s === 'string')) {
    throw new Error('not a publish record ["P", topic, seq, event, [subs]]')
  }
  const head = prefix(JSON.stringify(topic), seq as number)
  const tail = suffix((subs as string[]).map(s => JSON.stringify(s)).join(','))
  if (!line.startsWith(head) || !line.endsWith(tail) || line.length < head.length + tail.length) {
    throw new Error('publish record not in the layout the broker writes')
  }
  const json = detachedSlice(line, head.length, line.length - tail.length)
  const { id, priority } = checkStoredEvent(json)
  return { topic, seq: seq as number, json, id, priority, subs: subs as string[] }
}
