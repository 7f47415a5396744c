import Ajv from 'ajv'
import { fail } from '../errors'
import { objectMembers } from './jsonText'
import { scanEvent } from './eventScan'
import { detachedSlice, flat } from './flatString'
import { RESERVED_FIELDS } from './reservedFields'

/** An event as stored: shared by every subscription that holds it (fan-out does not copy). */
export interface StoredEvent {
  id: string | number
  /** String form of the id: what `ack <topic> <id>` matches against. */
  key: string
  priority: number
  /** The event's place in its topic: unique, increasing, from 1; breaks priority ties. */
  offset: number
  /** When the broker accepted it (ms since the epoch), as in its text. */
  timestamp: number
  /**
   * The event text as delivered and as stored in the topic's segments: the
   * broker's `id`/`priority` when the publisher gave none, the publisher's
   * members exactly as sent, then the broker's `timestamp` and `offset`. One
   * flat exact-size string (see `flat`) once its topic has it (Topic.publish
   * flattens what sealEvent built).
   */
  json: string
}

/** The event DTO accepted by `pub`. Unknown fields are kept as sent. */
export const eventSchema = {
  type: 'object',
  required: ['msg'],
  properties: {
    id: {
      anyOf: [
        // No spaces (an id is one word of `ack`) and no control characters (refused in any command line).
        { type: 'string', pattern: '^[^\\s\\x00-\\x1f\\x7f]{1,200}$' },
        { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      ],
    },
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    msg: {},
  },
} as const

const ajv = new Ajv({ allErrors: false })
const validateEvent = ajv.compile(eventSchema)

export { RESERVED_FIELDS }

/** A validated `pub` event: its text as sent, plus what the broker needs of its content. */
export interface ParsedEvent {
  /** The publisher's JSON text, unchanged: its members are delivered byte for byte. */
  text: string
  /** The publisher's id; undefined when the broker must assign one. */
  id: string | number | undefined
  priority: number
  /** The publisher sent a `priority` member (else the broker adds `"priority":0`). */
  hasPriority: boolean
}

/**
 * Where JSON.parse stopped, in our own words (the engine's message, which may
 * quote the input and changes between Node versions, never reaches clients).
 */
function jsonErrorWhere (err: Error): string {
  const at = /at position (\d+)/.exec(err.message)
  if (at !== null) return ` (error at character ${Number(at[1]) + 1})`
  if (/end of (JSON|data)/i.test(err.message)) return ' (it ends too early)'
  const token = /Unexpected token '(.)'/.exec(err.message)
  if (token !== null) return ` (unexpected ${JSON.stringify(token[1])})`
  return ''
}

/**
 * Parses and validates the JSON of a `pub` line, text[from, to), once. Errors
 * say where and which field. (The text may be a whole read's: see LineSink.line.)
 */
export function parseEvent (text: string, from = 0, to = text.length): ParsedEvent {
  // The common case without building the object, else JSON.parse decides.
  return scanEvent(text, from, to) ?? parseEventFully(from === 0 && to === text.length ? text : text.slice(from, to))
}

/** parseEvent by JSON.parse and the schema: for what scanEvent leaves, and its reference in tests. */
export function parseEventFully (text: string): ParsedEvent {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    fail('BAD_JSON', { where: jsonErrorWhere(err as Error) })
  }
  if (!validateEvent(body)) {
    const e = validateEvent.errors![0]
    const where = e.instancePath === '' ? 'event' : `field "${e.instancePath.slice(1)}"`
    let detail = e.message ?? 'is invalid'
    if (e.instancePath === '/id') detail = 'must be a string of 1-200 non-space, non-control characters or a safe integer'
    fail('BAD_EVENT', { where, detail })
  }
  const obj = body as unknown as Record<string, unknown>
  for (let i = 0; i < RESERVED_FIELDS.length; i++) {
    const name = RESERVED_FIELDS[i]
    if (Object.hasOwn(obj, name)) fail('BAD_EVENT.reserved', { field: name })
  }
  const priority = obj.priority
  // A publisher's id is kept for the dedupe window: its own characters, never a share of the line's read.
  const id = typeof obj.id === 'string' ? detachedSlice(obj.id, 0, obj.id.length) : obj.id as number | undefined
  return { text, id, priority: priority === undefined ? 0 : priority as number, hasPriority: priority !== undefined }
}

/**
 * Builds the stored event from the publisher's text, without re-serializing
 * it: `{`, the broker's `"id":<id>,` when the publisher gave none and
 * `"priority":0,` when it gave none, the publisher's members verbatim (bytes
 * and order as sent, whitespace inside the braces included), then
 * `,"timestamp":<now>,"offset":<offset>}`. `parsed.text` must be a validated
 * JSON object. The result is also the event's line in its topic's segment.
 */
export function sealEvent (parsed: ParsedEvent, id: string | number, offset: number, now: number, knownKey?: string): StoredEvent {
  const text = parsed.text
  const key = knownKey ?? (typeof id === 'string' ? id : String(id))
  // A valid object's text is `{` ... `}` with only whitespace outside: its braces are the first and the last
  // character but whitespace (found by a loop: lastIndexOf is a call into C++, ~35 ns per event).
  const open = openBrace(text)
  const close = closeBrace(text)
  // A topic whose events all get broker ids has offset === id: the id's text is the offset's (no String(offset)).
  const offsetText = id === offset ? key : String(offset)
  let json: string
  if (!hasMembers(text, open + 1, close)) {
    json = '{' + brokerMembers(parsed, id, key) + '"timestamp":' + String(now) + ',"offset":' + offsetText + '}'
  } else {
    // One expression per case, constant pieces joined: each `+` is a piece to allocate and, when flattened, to walk
    // (a sequence of `json +=` cost 0.13 µs more per event in W1: docs/benchmarks.md, issue 11).
    const members = text.slice(open + 1, close)
    const tail = timestampPiece(now)
    if (parsed.id !== undefined) {
      json = parsed.hasPriority
        ? '{' + members + tail + offsetText + '}'
        : OPEN_WITH_PRIORITY[parsed.priority] + members + tail + offsetText + '}'
    } else {
      const idText = idJson(id, key)
      json = parsed.hasPriority
        ? '{"id":' + idText + ',' + members + tail + offsetText + '}'
        : '{"id":' + idText + PRIORITY_BETWEEN[parsed.priority] + members + tail + offsetText + '}'
    }
  }
  // Not flattened here: Topic.publish does it, by encoding the text into the topic's unstored events (which
  // flattens the string in place, one call into C++ instead of two) or, when nothing stores it, with flat().
  return { id, key, priority: parsed.priority, offset, timestamp: now, json }
}

/** Index of the `{` that opens a JSON object text (only whitespace before it). */
function openBrace (text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x7b) return i
  return -1
}

/** Index of the `}` that closes a JSON object text (only whitespace after it). */
function closeBrace (text: string): number {
  for (let i = text.length - 1; i >= 0; i--) if (text.charCodeAt(i) === 0x7d) return i
  return -1
}

/** The broker-assigned id as a JSON value: a string id quoted, a number id its text (`key`). */
function idJson (id: string | number, key: string): string {
  return typeof id === 'string' ? JSON.stringify(id) : key
}

/** `{"priority":<p>,` and `,"priority":<p>,` for each priority (0-9): the member the broker adds when the publisher gave none. */
const OPEN_WITH_PRIORITY = Array.from({ length: 10 }, (_, p) => `{"priority":${p},`)
const PRIORITY_BETWEEN = Array.from({ length: 10 }, (_, p) => `,"priority":${p},`)

/** The members the broker adds in front of the publisher's (`"id":…,` and `"priority":…,` when it gave none), for an empty object. */
function brokerMembers (parsed: ParsedEvent, id: string | number, key: string): string {
  let head = ''
  if (parsed.id === undefined) head += '"id":' + idJson(id, key) + ','
  if (!parsed.hasPriority) head += '"priority":' + String(parsed.priority) + ','
  return head
}

/** The `now` of the last timestampPiece, and that piece. */
let pieceAt = -1
let piece = ''

/**
 * `,"timestamp":<now>,"offset":`, made once per millisecond: the events sealed
 * in the same millisecond share it. Why: the text of a 13-digit number (not a
 * small integer) was the dearest part of sealing an event.
 */
function timestampPiece (now: number): string {
  if (now !== pieceAt) {
    pieceAt = now
    piece = flat(',"timestamp":' + String(now) + ',"offset":')
  }
  return piece
}

/** Whether text[from, to) holds anything but JSON whitespace (an object with members). */
function hasMembers (text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true
  }
  return false
}

/**
 * A stored event re-published as a dead letter: its members byte for byte,
 * except its id (the dead-letter topic assigns a new one) and the broker's
 * own fields, plus `"deadLetter":<info>`. The priority stays the event's.
 */
export function deadLetterEvent (ev: StoredEvent, info: Record<string, unknown>): ParsedEvent {
  const json = ev.json
  let text = '{'
  let hasPriority = false
  for (const m of objectMembers(json)) {
    if (m.name === 'id' || RESERVED_FIELDS.includes(m.name)) continue
    if (m.name === 'priority') hasPriority = true
    text += json.slice(m.start, m.end) + ','
  }
  if (!hasPriority) text += `"priority":${ev.priority},`
  text += `"deadLetter":${JSON.stringify(info)}}`
  return { text, id: undefined, priority: ev.priority, hasPriority: true }
}

/**
 * Checks a stored event's text read back from disk with JSON.parse: an object from its first
 * to its last character (deliveries append to it), with an id and a priority.
 */
export function checkStoredEvent (json: string): { id: string | number, priority: number } {
  if (json.charCodeAt(0) !== 0x7b || json.charCodeAt(json.length - 1) !== 0x7d) throw new Error('event is not an object text from { to }')
  let event: unknown
  try {
    event = JSON.parse(json)
  } catch (err) {
    throw new Error(`event is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new Error('event is not an object')
  const ev = event as Record<string, unknown>
  if ((typeof ev.id !== 'string' && typeof ev.id !== 'number') || !Number.isInteger(ev.priority)) throw new Error('event has no id or priority')
  return { id: ev.id, priority: ev.priority as number }
}

/** The event JSON for a delivery: the stored JSON, plus the delivery count on redelivery. */
export function deliveryJson (ev: StoredEvent, deliveries: number): string {
  return deliveries <= 1 ? ev.json : `${ev.json.slice(0, -1)},"deliveries":${deliveries}}`
}
