import { fail } from '../errors'
import { parseEvent, type ParsedEvent } from '../store/event'
import { rejectControlChars } from '../protocol/tokens'
import type { ArgKind, ArgSpec } from '../commands/spec'
import { checkTopicName } from '../store/names'
import { isPatternName, topicPatternProblem } from './topicPattern'

/** The argument kinds of the routing commands (exchange, bind, unbind, route); see src/commands/args.ts for the others. */

const EXCHANGE_NAME = /^[A-Za-z0-9._-]{1,200}$/
const ROUTING_KEY = /^[A-Za-z0-9._-]{1,200}$/
const BINDING_KEY = /^[A-Za-z0-9._*#-]{1,200}$/
/** The flag route takes after its event: ` mandatory=1` (or `=0`) at the very end of the line. */
const MANDATORY = /\s+mandatory=([01])$/

/** An event to route, and whether an unroutable one is refused (`mandatory=1`). */
export interface RoutedEvent {
  parsed: ParsedEvent
  mandatory: boolean
}

function spec<N extends string, T> (name: N, label: string, what: string, kind: ArgKind<T>, rest = false, json = false): ArgSpec<N, T, false> {
  return Object.freeze({ name, label, what, optional: false, rest, json, kind })
}

/** `<exchange>`: an exchange name (BAD_EXCHANGE otherwise). */
export function exchangeName<N extends string = 'exchange'> (name: N = 'exchange' as N): ArgSpec<N, string, false> {
  return spec(name, 'exchange', 'exchange name', {
    type: 'string',
    parse: text => {
      if (!EXCHANGE_NAME.test(text) || text === '.' || text === '..') fail('BAD_EXCHANGE', { name: text })
      return text
    },
  })
}

/** `<binding-key>`: words of topic-name characters, `*` and `#` (BAD_KEY otherwise; whether they are allowed depends on the exchange). */
export function bindingKey<N extends string = 'key'> (name: N = 'key' as N): ArgSpec<N, string, false> {
  return spec(name, 'binding-key', 'binding key', {
    type: 'string',
    parse: text => {
      if (!BINDING_KEY.test(text)) fail('BAD_KEY', { what: 'binding key', key: text, detail: 'use 1-200 characters of A-Z a-z 0-9 . _ - * #' })
      const problem = topicPatternProblem(text)
      if (problem !== null) fail('BAD_KEY', { what: 'binding key', key: text, detail: problem })
      return text
    },
  })
}

/** `<routing-key>`: dot-separated words of topic-name characters (BAD_KEY otherwise). */
export function routingKey<N extends string = 'routingKey'> (name: N = 'routingKey' as N): ArgSpec<N, string, false> {
  return spec(name, 'routing-key', 'routing key', {
    type: 'string',
    parse: text => {
      if (!ROUTING_KEY.test(text)) fail('BAD_KEY', { what: 'routing key', key: text, detail: 'use 1-200 characters of A-Z a-z 0-9 . _ -' })
      return text
    },
  })
}

/**
 * `<event-json> [mandatory=1]`: the rest of the line, an event (BAD_JSON,
 * BAD_EVENT otherwise) optionally followed by the flag. A JSON object ends
 * with `}`, so a trailing ` mandatory=1` cannot be part of it. (The flag
 * is not an argument of its own: the rest-of-line JSON must come last.)
 */
export function routedEvent<N extends string = 'event'> (name: N = 'event' as N): ArgSpec<N, RoutedEvent, false> {
  return spec(name, 'event-json', 'event JSON', {
    type: 'string',
    parse: text => {
      const m = MANDATORY.exec(text)
      const json = m === null ? text : text.slice(0, m.index)
      try {
        return { parsed: parseEvent(json), mandatory: m?.[1] === '1' }
      } catch (err) {
        rejectControlChars(json) // JSON.parse refused a raw control character: say so (the line check skipped the JSON)
        throw err
      }
    },
  }, true, true)
}

const TOPIC_PATTERN = /^[A-Za-z0-9._*#-]{1,200}$/

/**
 * `<topic>` of `sub` and `unsub`: a topic name, or a pattern of its words
 * (`orders.*`, `orders.#`: a wildcard subscription); BAD_TOPIC otherwise.
 */
export function topicOrPattern<N extends string = 'topic'> (name: N = 'topic' as N): ArgSpec<N, string, false> {
  return spec(name, 'topic', 'topic name', {
    type: 'string',
    parse: text => {
      if (!isPatternName(text)) return checkTopicName(text)
      if (!TOPIC_PATTERN.test(text) || topicPatternProblem(text) !== null) fail('BAD_TOPIC', { name: text })
      return text
    },
  })
}
