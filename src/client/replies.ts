/**
 * The broker's lines, parsed without I/O: a reply (`OK <text>` or
 * `ERR <CODE> <message>`), a delivery (`EVENT <topic> <json>`), the end of a
 * subscription (`END <topic> <to>` or `END <topic> deleted`), and the
 * details of the `OK` texts the client reads. See docs/protocol.md.
 */

export type BrokerLine =
  | { kind: 'ok', text: string }
  | { kind: 'err', code: string, message: string }
  | { kind: 'event', topic: string, json: string }
  | { kind: 'end', topic: string, reason: string }
  | { kind: 'unknown', text: string }

/** Classifies one line from the broker. */
export function parseLine (line: string): BrokerLine {
  if (line.startsWith('EVENT ')) {
    const sp = line.indexOf(' ', 6)
    if (sp > 6) return { kind: 'event', topic: line.slice(6, sp), json: line.slice(sp + 1) }
  } else if (line.startsWith('END ')) {
    const sp = line.indexOf(' ', 4)
    if (sp > 4 && sp < line.length - 1) return { kind: 'end', topic: line.slice(4, sp), reason: line.slice(sp + 1) }
  } else if (line.startsWith('OK ')) {
    return { kind: 'ok', text: line.slice(3) }
  } else if (line.startsWith('ERR ')) {
    const sp = line.indexOf(' ', 4)
    return sp === -1 ? { kind: 'err', code: line.slice(4), message: '' } : { kind: 'err', code: line.slice(4, sp), message: line.slice(sp + 1) }
  }
  return { kind: 'unknown', text: line }
}

/** What `OK <id> published to <topic> (<n> subscriber[s][; <k> lowest-priority event[s] dropped from full queues])` says. */
export interface Published {
  id: string
  subscribers: number
  /** Events dropped from full drop-oldest queues to make room. */
  dropped: number
}

const PUBLISHED = /^(\S+) published to \S+ \((\d+) subscribers?(?:; (\d+) lowest-priority events? dropped from full queues)?\)$/

export function parsePublished (text: string): Published | null {
  const m = PUBLISHED.exec(text)
  if (m === null) return null
  return { id: m[1], subscribers: Number(m[2]), dropped: m[3] === undefined ? 0 : Number(m[3]) }
}

const DUPLICATE = /^(\S+) duplicate, already published to \S+$/

/** The id of `OK <id> duplicate, already published to <topic>` (an idempotent publish the broker already had), or null. */
export function parseDuplicate (text: string): string | null {
  const m = DUPLICATE.exec(text)
  return m === null ? null : m[1]
}

/** How a subscription ended, from the reason of `END <topic> <reason>`. */
export type SubscriptionEnd = { reason: 'range', to: number } | { reason: 'deleted' } | { reason: 'forgotten' } | { reason: 'other', text: string }

export function parseEndReason (reason: string): SubscriptionEnd {
  if (reason === 'deleted' || reason === 'forgotten') return { reason }
  if (/^\d{1,16}$/.test(reason)) return { reason: 'range', to: Number(reason) }
  return { reason: 'other', text: reason }
}

/**
 * What `OK subscribed to <topic> (max in flight <n>[, resumed with <k> pending])`,
 * `(group <g>, max in flight <n>[, <m> members, <k> pending])` or
 * `(at most once, ack=none)` says.
 */
export interface Subscribed {
  /** The subscription's in-flight cap; 0 for an at-most-once one, which has none. */
  maxInFlight: number
  /** A named client's durable subscription, or a consumer group's queue, was already there: its unacked events come again. */
  resumed: boolean
  /** Events the resumed subscription (or the group's queue) held and had not delivered (0 when not resumed). */
  pending: number
}

const SUBSCRIBED = /^subscribed to \S+ \((?:max in flight (\d+)(?:, resumed with (\d+) pending)?|at most once, ack=none)\)$/
const JOINED = /^subscribed to \S+ \(group \S+, max in flight (\d+)(?:, \d+ members?, (\d+) pending)?\)$/

export function parseSubscribed (text: string): Subscribed | null {
  const m = SUBSCRIBED.exec(text) ?? JOINED.exec(text)
  if (m === null) return null
  return { maxInFlight: m[1] === undefined ? 0 : Number(m[1]), resumed: m[2] !== undefined, pending: m[2] === undefined ? 0 : Number(m[2]) }
}
