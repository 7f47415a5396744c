import { AcklineError } from './errors'

/**
 * Command lines the client sends. A bad `key=value` option of `sub` is
 * `BAD_OPTION`, the broker's code for it. Each argument is checked so that it stays
 * one word of one line: a blank would shift the arguments and a line break
 * would start another command, so the client refuses them instead of sending
 * something other than what was asked. Everything else (allowed characters,
 * ranges) is the broker's to check, and its `ERR` comes back as usual.
 */

/** True when s holds a blank (space, tab) or a control character: not a protocol word. */
function hasBlankOrControl (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f) return true
  }
  return false
}

function word (value: string, code: string, what: string): string {
  if (typeof value !== 'string' || value === '' || hasBlankOrControl(value)) {
    throw new AcklineError(code, `${what} must be a non-empty string without blanks or control characters, got ${JSON.stringify(value)}`)
  }
  return value
}

export function topicWord (topic: string): string {
  return word(topic, 'BAD_TOPIC', 'topic')
}

/** The event as one line of JSON text: an object is serialized, a string is sent as it is (byte for byte). */
export function eventText (event: unknown): string {
  if (typeof event === 'string') {
    if (/[\r\n]/.test(event)) {
      throw new AcklineError('BAD_JSON', 'event text contains a line break; the protocol carries one event per line (JSON.stringify never writes one)')
    }
    return event
  }
  let text: string | undefined
  try {
    text = JSON.stringify(event)
  } catch (err) {
    throw new AcklineError('BAD_JSON', `event cannot be serialized: ${(err as Error).message}`, { cause: err })
  }
  if (text === undefined) throw new AcklineError('BAD_JSON', `event cannot be serialized: ${typeof event}`)
  return text
}

export function pubLine (topic: string, event: unknown): string {
  return `pub ${topicWord(topic)} ${eventText(event)}`
}

function nonNegativeInt (n: number, what: string, min: number): string {
  if (!Number.isSafeInteger(n) || n < min) throw new AcklineError('BAD_DELAY', `${what} must be an integer of at least ${min} ms, got ${String(n)}`)
  return String(n)
}

/** Where a subscription starts: the wire's `from=beginning|latest|<offset>|time:<ms>` (a Date or `{ time }` is the time form). */
export type StartPosition = 'beginning' | 'latest' | number | Date | { time: number }

/** The parts of `sub` after the topic (SubscribeOptions without the client-side ones). */
export interface SubLineOptions {
  maxInFlight?: number
  ackTimeoutMs?: number
  from?: StartPosition
  to?: number
  group?: string
  ack?: 'each' | 'none'
}

/** Offsets start at 1. */
function offsetWord (n: unknown, what: string): string {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new AcklineError('BAD_OPTION', `${what} must be an offset (an integer from 1), got ${String(n)}`)
  return String(n)
}

/** `from=` as the broker takes it. */
export function fromWord (from: StartPosition): string {
  if (from === 'beginning' || from === 'latest') return from
  if (typeof from === 'number') return offsetWord(from, 'from')
  const ms = from instanceof Date ? from.getTime() : typeof from === 'object' && from !== null ? from.time : NaN
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new AcklineError('BAD_OPTION', `from must be 'beginning', 'latest', an offset, a Date or { time: <unix ms> }, got ${from instanceof Date ? 'an invalid Date' : JSON.stringify(from)}`)
  }
  return `time:${ms}`
}

/** `sub <topic> [max-in-flight [ack-timeout-ms]] [from=…] [to=…] [group=…] [ack=none]` */
export function subLine (topic: string, opts: SubLineOptions = {}): string {
  const { maxInFlight, ackTimeoutMs } = opts
  let line = `sub ${topicWord(topic)}`
  if (maxInFlight !== undefined) {
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new AcklineError('BAD_IN_FLIGHT', `maxInFlight must be a positive integer, got ${String(maxInFlight)}`)
    line += ` ${maxInFlight}`
  }
  if (ackTimeoutMs !== undefined) {
    if (maxInFlight === undefined) throw new AcklineError('BAD_ARGS', 'ackTimeoutMs needs maxInFlight: the protocol takes the cap before the timeout (sub <topic> <n> <ms>)')
    line += ` ${nonNegativeInt(ackTimeoutMs, 'ackTimeoutMs', 1)}`
  }
  if (opts.from !== undefined) line += ` from=${fromWord(opts.from)}`
  if (opts.to !== undefined) {
    line += ` to=${offsetWord(opts.to, 'to')}`
    if (typeof opts.from === 'number' && opts.to < opts.from) throw new AcklineError('BAD_OPTION', `to (${opts.to}) is before from (${opts.from})`)
  }
  if (opts.group !== undefined) line += ` group=${word(opts.group, 'BAD_OPTION', 'group')}`
  if (opts.ack !== undefined && opts.ack !== 'each') {
    if (opts.ack !== 'none') throw new AcklineError('BAD_OPTION', `ack must be 'each' or 'none', got ${JSON.stringify(opts.ack)}`)
    line += ' ack=none'
  }
  return line
}

export function ackLine (topic: string, id: string): string {
  return `ack ${topic} ${id}`
}

export function nackLine (topic: string, id: string, delayMs: number | undefined): string {
  return delayMs === undefined ? `nack ${topic} ${id}` : `nack ${topic} ${id} ${nonNegativeInt(delayMs, 'delay', 0)}`
}

export function touchLine (topic: string, id: string, extendMs: number | undefined): string {
  return extendMs === undefined ? `touch ${topic} ${id}` : `touch ${topic} ${id} ${nonNegativeInt(extendMs, 'extension', 1)}`
}

export function nameLine (name: string): string {
  return `name ${word(name, 'BAD_NAME', 'name')}`
}

export function authLine (user: string, password: string): string {
  word(user, 'BAD_ARGS', 'user')
  // The password is the rest of the line: inner spaces are fine, blanks at either end and control characters are not.
  if (password === '' || /^[ \t]|[ \t]$/.test(password) || /[\x00-\x08\x0a-\x1f\x7f]/.test(password)) {
    throw new AcklineError('BAD_ARGS', 'password must be non-empty, without blanks at either end or control characters')
  }
  return `auth ${user} ${password}`
}

/** `create <topic>`, `delete <topic>`. */
export function topicCommandLine (command: 'create' | 'delete', topic: string): string {
  return `${command} ${topicWord(topic)}`
}

export function statsLine (topic: string | undefined): string {
  return topic === undefined ? 'stats' : `stats ${topicWord(topic)}`
}
