import { grantFromWord } from '../auth/acl'
import { checkStoredEvent } from '../store/event'
import { detachedSlice } from '../store/flatString'
import type { GrantRights } from '../store/topic'

/**
 * Storage v1's per-topic JSON log, `<logDir>/<topic>.json`, read by the
 * migration to storage v2 only (migrateV1.ts); no longer written: an object keyed by
 * subscriber name, each value that subscriber's unacked events in delivery
 * order. Broker bookkeeping sits under "#meta" (no subscriber name can start
 * with #). Format 2 (this one) keeps each event's exact text, beside the
 * broker's bookkeeping rather than inside it, one entry per line:
 *
 *   {
 *     "#meta": {"format":2,"topic":...,"subscribers":{...}},
 *     "alice": [
 *       {"seq":12,"deliveries":1,"event":<the event text as delivered>},
 *       ...
 *     ],
 *     "bob": []
 *   }
 *
 * JSON.parse would re-serialize the events, so the reader takes each event's
 * text from its line with the same codec the writer uses (`encodeLogEntry`,
 * `decodeLogEntry`), and checks it with JSON.parse. Format 1 (no "format" in
 * "#meta", each event carrying "#seq" and "deliveries" inside it) is still read.
 */
export const META_KEY = '#meta'
export const LOG_SUFFIX = '.json'
export const LOG_FORMAT = 2

/** How every format-2 file starts: tells it apart from format 1 without parsing it. */
const FORMAT_HEAD = `{\n  ${JSON.stringify(META_KEY)}: {"format":${LOG_FORMAT},`
const META_LINE = `  ${JSON.stringify(META_KEY)}: `
const ENTRY_INDENT = '    '
const ENTRY_SEQ = '{"seq":'
const ENTRY_DELIVERIES = ',"deliveries":'
const ENTRY_EVENT = ',"event":'

/** A named subscriber's settings; `user`: on a private topic, the user that made the subscription. */
export interface SubscriberSettings { maxInFlight: number, ackTimeoutMs?: number, user?: string }

export interface TopicMeta {
  format?: number
  topic: string
  seq: number
  nextAutoId: number
  /** This file reflects every journal record up to and including this generation. */
  journalGen: number
  /** Settings by subscriber name (a prototype-free object: any client id is a safe key). */
  subscribers: Record<string, SubscriberSettings>
  /** Private topics with grants: what each user may do (`pub`, `sub` or `both`). Absent when there is none. */
  grants?: Record<string, 'pub' | 'sub' | 'both'>
}

/** One log entry: the broker's bookkeeping, then the event text verbatim (what v1 brokers wrote; for tests of the migration). */
export function encodeLogEntry (seq: number, json: string, deliveries: number): string {
  return ENTRY_SEQ + String(seq) + ENTRY_DELIVERIES + String(deliveries) + ENTRY_EVENT + json + '}'
}

/** An event as read back from a topic log. */
export interface LoadedEntry {
  seq: number
  deliveries: number
  /** The event text exactly as stored (and delivered). */
  json: string
  id: string | number
  priority: number
}

/**
 * Reads one entry `line[start, end)` written by encodeLogEntry: the event
 * text is what lies between the bookkeeping and the closing brace, checked
 * with JSON.parse. Throws an Error saying what is wrong.
 */
export function decodeLogEntry (line: string, start = 0, end = line.length): LoadedEntry {
  if (!line.startsWith(ENTRY_SEQ, start)) throw new Error(`does not start with ${ENTRY_SEQ}`)
  let i = start + ENTRY_SEQ.length
  const seqEnd = line.indexOf(ENTRY_DELIVERIES, i)
  const seq = seqEnd === -1 ? NaN : decimal(line.slice(i, seqEnd))
  if (!Number.isSafeInteger(seq)) throw new Error('has no valid "seq"')
  i = seqEnd + ENTRY_DELIVERIES.length
  const delEnd = line.indexOf(ENTRY_EVENT, i)
  const deliveries = delEnd === -1 ? NaN : decimal(line.slice(i, delEnd))
  if (!Number.isSafeInteger(deliveries)) throw new Error('has no valid "deliveries"')
  i = delEnd + ENTRY_EVENT.length
  if (line.charCodeAt(end - 1) !== 0x7d) throw new Error('does not end with }')
  const json = detachedSlice(line, i, end - 1)
  const event = checkStoredEvent(json)
  return { seq, deliveries, json, id: event.id, priority: event.priority }
}

/** Digits only (what the writer produces), else NaN. */
function decimal (text: string): number {
  return /^\d{1,16}$/.test(text) ? Number(text) : NaN
}

/** A topic log as read back: plain data, turned into store objects by recovery. */
export interface LoadedTopicLog {
  meta: TopicMeta
  /** Settings by subscriber name. */
  settings: Map<string, SubscriberSettings>
  /** Each named subscriber's events, in the file's order. */
  subscribers: Map<string, LoadedEntry[]>
  /** `"#meta".grants`, checked. */
  grants: Map<string, GrantRights>
}

/** Parses and checks a topic log (format 2, or format 1 from older brokers); throws an Error saying what is wrong. */
export function parseTopicLog (text: string, expectedTopic: string): LoadedTopicLog {
  return text.startsWith(FORMAT_HEAD) ? parseFormat2(text, expectedTopic) : parseFormat1(text, expectedTopic)
}

function checkMeta (meta: unknown, expectedTopic: string): { meta: TopicMeta, settings: Map<string, SubscriberSettings> } {
  if (typeof meta !== 'object' || meta === null) throw new Error(`missing "${META_KEY}"`)
  const m = meta as TopicMeta
  if (m.topic !== expectedTopic) throw new Error(`"${META_KEY}.topic" is ${JSON.stringify(m.topic)}, expected ${JSON.stringify(expectedTopic)}`)
  for (const k of ['seq', 'nextAutoId', 'journalGen'] as const) {
    if (!Number.isSafeInteger(m[k])) throw new Error(`"${META_KEY}.${k}" is not an integer`)
  }
  if (typeof m.subscribers !== 'object' || m.subscribers === null) throw new Error(`"${META_KEY}.subscribers" is not an object`)
  // Object.entries sees own members only, "__proto__" included (JSON.parse makes it an own member).
  return { meta: m, settings: new Map(Object.entries(m.subscribers)) }
}

/**
 * Format 2, read line by line in exactly the layout renderTopicLog writes
 * (so every piece is checked, and the whole is valid JSON).
 */
function parseFormat2 (text: string, expectedTopic: string): LoadedTopicLog {
  const lines = text.split('\n')
  let n = 1 // lines[0] is "{", checked by FORMAT_HEAD
  const at = (): string => `line ${n + 1}`
  const metaLine = lines[n]
  let more = metaLine.endsWith(',')
  const metaText = metaLine.slice(META_LINE.length, more ? -1 : undefined)
  let parsedMeta: unknown
  try {
    parsedMeta = JSON.parse(metaText)
  } catch (err) {
    throw new Error(`${at()}: "${META_KEY}" is not valid JSON: ${(err as Error).message}`)
  }
  const { meta, settings } = checkMeta(parsedMeta, expectedTopic)
  if (meta.format !== LOG_FORMAT) throw new Error(`"${META_KEY}.format" is ${JSON.stringify(meta.format)}, expected ${LOG_FORMAT}`)
  const subscribers: LoadedTopicLog['subscribers'] = new Map()
  while (more) {
    const header = lines[++n]
    if (header === undefined) throw new Error(`${at()}: the file ends inside the object`)
    // `  "<name>": [` (entries follow) or `  "<name>": []`, then "," when another subscriber follows.
    const comma = header.endsWith(',')
    const body = comma ? header.slice(0, -1) : header
    const empty = body.endsWith(': []')
    if (!header.startsWith('  "') || (!empty && !body.endsWith(': ['))) throw new Error(`${at()}: expected a subscriber's array`)
    let name: unknown
    try {
      name = JSON.parse(body.slice(2, body.length - (empty ? 4 : 3)))
    } catch {
      name = undefined
    }
    if (typeof name !== 'string' || name === META_KEY) throw new Error(`${at()}: expected a subscriber name`)
    if (subscribers.has(name)) throw new Error(`${at()}: subscriber ${JSON.stringify(name)} appears twice`)
    const entries: LoadedEntry[] = []
    subscribers.set(name, entries)
    more = comma
    if (empty) continue
    for (;;) {
      const line = lines[++n]
      if (line === undefined) throw new Error(`${at()}: the file ends inside ${JSON.stringify(name)}`)
      if (line === '  ]' || line === '  ],') {
        more = line === '  ],'
        break
      }
      if (!line.startsWith(ENTRY_INDENT)) throw new Error(`${at()}: expected an entry of ${JSON.stringify(name)}`)
      if (entries.length > 0 && !lines[n - 1].endsWith(',')) throw new Error(`${at()}: missing "," after the previous entry`)
      const last = line.endsWith(',') ? line.length - 1 : line.length
      try {
        entries.push(decodeLogEntry(line, ENTRY_INDENT.length, last))
      } catch (err) {
        throw new Error(`${at()}: ${name}[${entries.length}] ${(err as Error).message}`)
      }
    }
    if (lines[n - 1].endsWith(',')) throw new Error(`line ${n}: "," after the last entry of ${JSON.stringify(name)}`)
  }
  if (lines[++n] !== '}') throw new Error(`${at()}: expected the closing "}"`)
  for (n++; n < lines.length; n++) if (lines[n].trim() !== '') throw new Error(`${at()}: text after the closing "}"`)
  return { meta, settings, subscribers, grants: parseGrants(meta.grants) }
}

/**
 * Format 1 (brokers before format 2): any JSON layout, each event with the
 * broker's "#seq" and "deliveries" inside it. The event text is what
 * JSON.stringify makes of the rest, which is what such a broker delivered
 * (a publisher's own "#seq" was already lost when it wrote the file).
 */
function parseFormat1 (text: string, expectedTopic: string): LoadedTopicLog {
  const data = JSON.parse(text) as unknown
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object')
  const obj = data as Record<string, unknown>
  const { meta, settings } = checkMeta(Object.hasOwn(obj, META_KEY) ? obj[META_KEY] : undefined, expectedTopic)
  if (meta.format !== undefined) throw new Error(`"${META_KEY}.format" is ${JSON.stringify(meta.format)}: this broker reads formats 1 and ${LOG_FORMAT}`)
  const subscribers: LoadedTopicLog['subscribers'] = new Map()
  for (const [name, events] of Object.entries(obj)) {
    if (name === META_KEY) continue
    if (!Array.isArray(events)) throw new Error(`subscriber ${JSON.stringify(name)} is not an array`)
    const list = events.map((e: unknown, i): LoadedEntry => {
      if (typeof e !== 'object' || e === null) throw new Error(`${name}[${i}] is not an object`)
      const ev = e as Record<string, unknown>
      const seq = ev['#seq']
      const deliveries = ev.deliveries ?? 0
      if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(deliveries)) throw new Error(`${name}[${i}] has no valid "#seq"/"deliveries"`)
      if (ev.id === undefined || !Number.isInteger(ev.priority)) throw new Error(`${name}[${i}] has no id or priority`)
      delete ev['#seq']
      delete ev.deliveries
      return { seq: seq as number, deliveries: deliveries as number, json: JSON.stringify(ev), id: ev.id as string | number, priority: ev.priority as number }
    })
    subscribers.set(name, list)
  }
  return { meta, settings, subscribers, grants: parseGrants(meta.grants) }
}

/** `"#meta".grants` (optional): user -> `pub`/`sub`/`both`. JSON.parse makes every key, `__proto__` too, an own property. */
function parseGrants (value: unknown): Map<string, GrantRights> {
  const grants = new Map<string, GrantRights>()
  if (value === undefined) return grants
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`"${META_KEY}.grants" is not an object`)
  for (const [user, word] of Object.entries(value)) {
    let rights: GrantRights | undefined
    try {
      rights = grantFromWord(word)
    } catch (err) {
      throw new Error(`"${META_KEY}.grants" of ${JSON.stringify(user)}: ${(err as Error).message}`)
    }
    if (rights !== undefined) grants.set(user, rights)
  }
  return grants
}
