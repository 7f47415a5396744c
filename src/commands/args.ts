import { USER_NAME } from '../auth/config'
import type { BrokerConfig } from '../config/defaults'
import { fail } from '../errors'
import { digitsValue, rejectControlChars, skipBlanks, tokenEnd } from '../protocol/tokens'
import { parseEvent, type ParsedEvent } from '../store/event'
import { checkClientName, checkTopicName, checkTopicNameAt, isValidClientName } from '../store/names'
import { checkAddress, literalAddress, parseWebhookUrl } from '../webhooks/addressPolicy'
import { parseSecret } from '../webhooks/signature'
import type { ArgKind, ArgSpec } from './spec'

/**
 * The argument kinds commands are declared with, e.g.
 * `args: [arg.topic(), arg.eventId(), arg.optional(arg.millis('delayMs', 'delay-ms', 'delay', 0))]`.
 * Each kind turns the text of one argument into its typed value with the
 * catalogue error that names the problem (BAD_TOPIC, BAD_IN_FLIGHT, BAD_DELAY, ...).
 */

function required<N extends string, T> (name: N, label: string, what: string, kind: ArgKind<T>, rest = false, json = false): ArgSpec<N, T, false> {
  return Object.freeze({ name, label, what, optional: false, rest, json, kind })
}

/** Makes an argument optional: absent, its field is undefined. */
export function optional<N extends string, T> (a: ArgSpec<N, T, false>): ArgSpec<N, T, true> {
  return Object.freeze({ ...a, optional: true })
}

const TOPIC: ArgKind<string> = { type: 'string', parse: text => checkTopicName(text), parseAt: checkTopicNameAt, refusesControlChars: true }
const WORD: ArgKind<string> = { type: 'string', parse: text => text }
const CLIENT_ID: ArgKind<string> = { type: 'string', parse: text => checkClientName(text) }
const USER: ArgKind<string> = {
  type: 'string',
  parse: text => {
    if (!USER_NAME.test(text)) fail('BAD_ARGS.badUserName', { user: text })
    return text
  },
}
const IN_FLIGHT: ArgKind<number> = {
  type: 'integer',
  parse: (text, config) => {
    const n = digitsValue(text, 9)
    if (!(n >= 1 && n <= config.maxInFlightLimit)) fail('BAD_IN_FLIGHT', { max: config.maxInFlightLimit, got: text })
    return n
  },
}
/** The event JSON line[from, to), parsed once. */
function eventAt (line: string, from: number, to: number): ParsedEvent {
  try {
    return parseEvent(line, from, to)
  } catch (err) {
    rejectControlChars(line, from, to) // JSON.parse refused a raw control character: say so (the line check skipped the JSON)
    throw err
  }
}
/** JSON refuses raw control characters in strings, and whitespace is blanks, CR and LF (which ends a line). */
const EVENT: ArgKind<ParsedEvent> = { type: 'string', parse: text => eventAt(text, 0, text.length), parseAt: eventAt, refusesControlChars: true }

/** `<topic>`: a topic name (BAD_TOPIC otherwise). */
export function topic<N extends string = 'topic'> (name: N = 'topic' as N): ArgSpec<N, string, false> {
  return required(name, 'topic', 'topic name', TOPIC)
}

/** An event id as the client writes it: any word without control characters (no event's id has one). */
const EVENT_ID: ArgKind<string> = {
  type: 'string',
  parse: text => {
    rejectControlChars(text)
    return text
  },
  refusesControlChars: true,
}

/** `<event-id>`: an event id as the client writes it, one word. */
export function eventId<N extends string = 'id'> (name: N = 'id' as N): ArgSpec<N, string, false> {
  return required(name, 'event-id', 'event id', EVENT_ID)
}

/** Event ids as words separated by blanks. */
const EVENT_IDS: ArgKind<readonly string[]> = {
  type: 'string',
  parse: text => {
    rejectControlChars(text)
    const words: string[] = []
    let i = 0
    while (i < text.length) {
      const end = tokenEnd(text, i)
      words.push(text.slice(i, end))
      i = skipBlanks(text, end)
    }
    return words
  },
  refusesControlChars: true,
}

/**
 * `[event-id ...]`: the rest of the line as a list of event ids (words
 * separated by blanks); optional, so absent it is undefined and a one-id
 * command allocates no list. Last argument only.
 */
export function moreEventIds<N extends string = 'more'> (name: N = 'more' as N): ArgSpec<N, readonly string[], true> {
  return optional(required(name, 'event-id ...', 'event ids', EVENT_IDS, true))
}

/** `<client-id>`: a durable subscriber name (BAD_NAME otherwise). */
export function clientId<N extends string = 'clientId'> (name: N = 'clientId' as N): ArgSpec<N, string, false> {
  return required(name, 'client-id', 'client id', CLIENT_ID)
}

/** `<user>`: a user name as in the config (BAD_ARGS otherwise). */
export function userName<N extends string = 'user'> (name: N = 'user' as N): ArgSpec<N, string, false> {
  return required(name, 'user', 'user name', USER)
}

/** `<password>`: the rest of the line, inner blanks kept. */
export function password<N extends string = 'password'> (name: N = 'password' as N): ArgSpec<N, string, false> {
  return required(name, 'password', 'password', WORD, true)
}

/** `<max-in-flight>`: an in-flight cap from 1 to maxInFlightLimit (BAD_IN_FLIGHT otherwise). */
export function inFlight<N extends string = 'maxInFlight'> (name: N = 'maxInFlight' as N): ArgSpec<N, number, false> {
  return required(name, 'max-in-flight', 'max in flight', IN_FLIGHT)
}

/** A duration in ms from `min` to maxAckTimeoutMs (BAD_DELAY, naming it `what`, otherwise). */
export function millis<N extends string> (name: N, label: string, what: string, min: number): ArgSpec<N, number, false> {
  return required(name, label, what, {
    type: 'integer',
    parse: (text: string, config: BrokerConfig) => {
      const n = digitsValue(text, 12)
      if (!(n >= min && n <= config.maxAckTimeoutMs)) fail('BAD_DELAY', { what, min, max: config.maxAckTimeoutMs, got: text })
      return n
    },
  })
}

/** One of a few words, shown as `a|b|c` (BAD_ARGS naming the choices otherwise). */
export function choice<N extends string, const C extends string> (name: N, what: string, choices: readonly C[]): ArgSpec<N, C, false> {
  const allowed = choices.length === 1 ? choices[0] : choices.slice(0, -1).join(', ') + ' or ' + choices[choices.length - 1]
  return required(name, choices.join('|'), what, {
    type: 'string',
    parse: (text: string) => {
      if (!(choices as readonly string[]).includes(text)) fail('BAD_ARGS.notOneOf', { what, choices: allowed, got: text })
      return text as C
    },
  })
}

/** `<offset>`: a topic offset, an integer from 1 up to 2^53-1 (BAD_ARGS otherwise). */
export function offset<N extends string = 'offset'> (name: N = 'offset' as N): ArgSpec<N, number, false> {
  return required(name, 'offset', 'offset', {
    type: 'integer',
    parse: (text: string) => {
      const n = digitsValue(text, 16)
      if (!(n >= 1 && Number.isSafeInteger(n))) fail('BAD_ARGS.notOffset', { what: 'offset', got: text })
      return n
    },
  })
}

/** `<event-json>`: the rest of the line, parsed and validated as an event (BAD_JSON, BAD_EVENT otherwise). */
export function event<N extends string = 'event'> (name: N = 'event' as N): ArgSpec<N, ParsedEvent, false> {
  return required(name, 'event-json', 'event JSON', EVENT, true, true)
}

const WEBHOOK_NAME: ArgKind<string> = {
  type: 'string',
  parse: text => {
    if (!isValidClientName(text)) fail('BAD_NAME.webhook', { name: text })
    return text
  },
}

const WEBHOOK_URL: ArgKind<string> = {
  type: 'string',
  parse: (text, config) => {
    const url = parseWebhookUrl(text)
    if (typeof url === 'string') fail('BAD_ARGS.webhook', { problem: url })
    // A literal address is judged here; a host name at every connection (and, over HTTP, when the webhook is created).
    const literal = literalAddress(url)
    const refused = literal === null ? null : checkAddress(literal, literal, config.webhooks.allowPrivateAddresses)
    if (refused !== null) fail('BAD_ARGS.webhook', { problem: refused.message })
    return url.href
  },
}

const WEBHOOK_SECRET: ArgKind<string> = {
  type: 'string',
  parse: text => {
    const key = parseSecret(text)
    if (typeof key === 'string') fail('BAD_ARGS.webhook', { problem: key })
    return text
  },
}

/** The most deliveries a webhook may set before its events are dead-lettered. */
export const MAX_WEBHOOK_DELIVERIES = 1000000

const MAX_DELIVERIES: ArgKind<number> = {
  type: 'integer',
  parse: text => {
    const n = digitsValue(text, 9)
    if (!(n >= 1 && n <= MAX_WEBHOOK_DELIVERIES)) fail('BAD_ARGS.maxDeliveries', { max: MAX_WEBHOOK_DELIVERIES, got: text })
    return n
  },
}

/** `<name>`: a webhook's name, the client-id alphabet (BAD_NAME otherwise). */
export function webhookName<N extends string = 'name'> (name: N = 'name' as N): ArgSpec<N, string, false> {
  return required(name, 'name', 'webhook name', WEBHOOK_NAME)
}

/** `<url>`: an http or https URL a webhook may reach (BAD_ARGS naming the problem otherwise); normalised by the URL parser. */
export function webhookUrl<N extends string = 'url'> (name: N = 'url' as N): ArgSpec<N, string, false> {
  return required(name, 'url', 'url', WEBHOOK_URL)
}

/** `<secret>`: `whsec_` and the base64 of 24 to 64 bytes (BAD_ARGS otherwise). */
export function webhookSecret<N extends string = 'secret'> (name: N = 'secret' as N): ArgSpec<N, string, false> {
  return required(name, 'secret', 'secret', WEBHOOK_SECRET)
}

/** `<max-deliveries>`: 1 to MAX_WEBHOOK_DELIVERIES (BAD_ARGS otherwise). */
export function maxDeliveries<N extends string = 'maxDeliveries'> (name: N = 'maxDeliveries' as N): ArgSpec<N, number, false> {
  return required(name, 'max-deliveries', 'max deliveries', MAX_DELIVERIES)
}
