import Ajv from 'ajv'
import { fail } from '../errors'

/** An event as stored: shared by every subscription that holds it (fan-out does not copy). */
export interface StoredEvent {
  id: string | number
  /** String form of the id: what `ack <topic> <id>` matches against. */
  key: string
  priority: number
  /** Publish order within the topic; breaks priority ties. */
  seq: number
  /** The event serialized once, as delivered: id, priority, msg, timestamp and any extra fields. */
  json: string
  /** Subscriptions still holding this event; at 0 it is forgotten. */
  refs: number
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

/** Fields the broker writes; a publisher may not set `deliveries`, and `timestamp` is overwritten. */
const RESERVED = 'deliveries'

export interface ParsedEvent {
  body: Record<string, unknown>
  id: string | number | undefined
  priority: number
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

/** Parses and validates the JSON of a `pub` line. Errors say where and which field. */
export function parseEvent (text: string): ParsedEvent {
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
  if (RESERVED in obj) fail('BAD_EVENT.reserved', { field: RESERVED })
  const priority = obj.priority === undefined ? 0 : obj.priority as number
  return { body: obj, id: obj.id as string | number | undefined, priority }
}

/** Completes a parsed event (id, priority, timestamp) and serializes it once. */
export function sealEvent (parsed: ParsedEvent, id: string | number, seq: number, now: number, knownKey?: string): StoredEvent {
  // id and priority lead so a person reading a delivery sees them first; a publisher's own fields keep their order
  // (a publisher's "timestamp" keeps its place, with the broker's value). The JSON is built field by field: the same
  // text JSON.stringify gives for `{ id, priority, ...body }` (checked by test/unit/sealEvent.test.ts), without
  // copying the body into a new object first.
  const src = parsed.body
  const key = knownKey ?? (typeof id === 'string' ? id : String(id))
  let json = '{"id":' + (typeof id === 'string' ? JSON.stringify(id) : key) + ',"priority":' + String(parsed.priority)
  let stamped = false
  for (const k in src) {
    const c = k.charCodeAt(0)
    // Integer-like keys sort first in a JS object, and "__proto__" is special: leave those to the general path.
    if ((c >= 48 && c <= 57) || k === '__proto__') return sealEventSlow(parsed, id, seq, now)
    if (k === 'id' || k === 'priority') continue
    if (k === 'timestamp') {
      json += ',"timestamp":' + String(now)
      stamped = true
      continue
    }
    json += ',' + JSON.stringify(k) + ':' + JSON.stringify(src[k])
  }
  if (!stamped) json += ',"timestamp":' + String(now)
  json += '}'
  return { id, key, priority: parsed.priority, seq, json: flat(json), refs: 0 }
}

/**
 * Memory: a stored event's JSON lives as long as the event is pending, so it
 * must be one exact-size flat string. A string built by `+` is a tree of
 * pieces (~470 bytes for a 140-character event), and a JSON.stringify result
 * keeps ~100 bytes of slack; reading a character of the built string makes
 * V8 flatten it into one exact-size copy (~170 bytes), the pieces become
 * garbage. Measured in docs/benchmarks.md (M1).
 */
function flat (s: string): string {
  s.charCodeAt(0)
  return s
}

function sealEventSlow (parsed: ParsedEvent, id: string | number, seq: number, now: number): StoredEvent {
  const body: Record<string, unknown> = { id, priority: parsed.priority, ...parsed.body }
  body.id = id
  body.priority = parsed.priority
  body.timestamp = now
  return { id, key: String(id), priority: parsed.priority, seq, json: JSON.stringify(body), refs: 0 }
}

/** The event JSON for a delivery: the stored JSON, plus the delivery count on redelivery. */
export function deliveryJson (ev: StoredEvent, deliveries: number): string {
  return deliveries <= 1 ? ev.json : `${ev.json.slice(0, -1)},"deliveries":${deliveries}}`
}
