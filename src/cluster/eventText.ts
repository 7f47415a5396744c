import { checkStoredEvent, deadLetterEvent, sealEvent, type ParsedEvent, type StoredEvent } from '../store/event'
import type { StartAt } from '../store/topic'

/**
 * An event's text as the publish script finishes it: `pre .. id .. body ..
 * offset .. '}'` (the id only when the broker assigns it, `pre` is then
 * `{"id":`). Built by sealEvent exactly as on one node, with the offset (and
 * an assigned id) left for the script, which alone knows them: the offset is
 * always the text's last member, a broker-assigned id its first.
 */
export interface EventParts {
  pre: string
  body: string
}

const ASSIGNED_ID_HEAD = '{"id":0'

/**
 * Splits the sealed text of a parsed `pub` event (publisher bytes kept
 * verbatim) around its offset and assigned id. `routeId`: an event without
 * an id that `route` gives one (a UUID, the same in every topic), set here
 * as on one node; the script then assigns none.
 */
export function eventParts (parsed: ParsedEvent, now: number, routeId?: string): EventParts {
  if (parsed.id === undefined && routeId !== undefined) return { pre: '', body: sealEvent(parsed, routeId, 0, now, routeId).json.slice(0, -2) }
  const json = sealEvent(parsed, 0, 0, now, '0').json
  const body = json.slice(0, -2) // `…"offset":` without `0}`
  if (parsed.id !== undefined) return { pre: '', body }
  return { pre: '{"id":', body: body.slice(ASSIGNED_ID_HEAD.length) }
}

/** A stored event text read back from Redis, as the delivery path takes it (Session.deliver → deliveryJson). */
export function storedEventOf (topicText: string, offset: number): StoredEvent {
  return { id: '', key: '', priority: 0, offset, timestamp: 0, json: topicText }
}

/**
 * The dead letter of an event: deadLetterEvent, as on one node (its members
 * byte for byte, a new id, `deadLetter` with where it came from), as parts
 * for the dead-letter script.
 */
export function deadLetterParts (text: string, info: { topic: string, subscriber: string | null, reason: string, deliveries: number, at: number }, now: number): EventParts & { priority: number } {
  const { id, priority } = checkStoredEvent(text)
  const ev: StoredEvent = { id, key: String(id), priority, offset: 0, timestamp: 0, json: text }
  const parsed = deadLetterEvent(ev, { topic: info.topic, subscriber: info.subscriber, id, reason: info.reason, deliveries: info.deliveries, at: info.at })
  return { ...eventParts(parsed, now), priority }
}

/** A `from=` position as the subscribe and join scripts take it: `next`, `beginning`, `latest`, `o:<offset>`, `t:<unix-ms>`. */
export function startSpec (at: StartAt | undefined): string {
  if (at === undefined || at === 'next' || at === 'beginning' || at === 'latest') return at ?? 'next'
  return 'offset' in at ? `o:${at.offset}` : `t:${at.time}`
}
