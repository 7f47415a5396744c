import { detachedSlice } from './flatString'
import { fail } from '../errors'

/**
 * A topic name becomes a file name (`<logDir>/<topic>.json`), so the allowed
 * alphabet has no path separators and `.`/`..` are refused outright.
 */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/
/** A private topic, `~<owner>.<rest>` (see docs/security.md); `~` is safe in a file name. */
const PRIVATE_TOPIC_NAME = /^~[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9._-]{1,198}$/
/** Client ids key subscriptions in topic logs; same safe alphabet. */
const CLIENT_NAME = /^[A-Za-z0-9._-]{1,200}$/

export function isValidTopicName (name: string): boolean {
  if (name.length > 200 && name.endsWith(DLQ_SUFFIX)) {
    // A dead-letter topic adds ".dlq" to a valid name, so it may run 4 characters past the limit.
    return name.length <= 200 + DLQ_SUFFIX.length && isValidTopicName(name.slice(0, -DLQ_SUFFIX.length))
  }
  if (name.charCodeAt(0) === 0x7e) return name.length <= 200 && PRIVATE_TOPIC_NAME.test(name)
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..'
}

/** Dead letters of topic T go to topic T + DLQ_SUFFIX. */
export const DLQ_SUFFIX = '.dlq'

/** The last name that passed checkTopicName, as a string of its own: a client usually repeats the same topic line after line. */
let lastValidTopic = ''

/**
 * Returns a valid topic name, else throws BAD_TOPIC (an absent one is the
 * command layer's BAD_ARGS). The name returned is never a slice of the
 * caller's text (a `pub` line may be a slice of a whole read, see
 * LineFramer), so a topic, a reply or a map keeps only its own characters.
 */
export function checkTopicName (name: string): string {
  if (name === lastValidTopic && name !== '') return lastValidTopic
  if (!isValidTopicName(name)) {
    fail('BAD_TOPIC', { name })
  }
  lastValidTopic = detachedSlice(name, 0, name.length)
  return lastValidTopic
}

/** checkTopicName for the text line[from, to), compared in place with the last valid name (no slice when it is the same). */
export function checkTopicNameAt (line: string, from: number, to: number): string {
  const last = lastValidTopic
  if (last.length === to - from && last !== '' && line.startsWith(last, from)) return last
  return checkTopicName(line.slice(from, to))
}

/** Whether `name` is a valid client id (also the alphabet of webhook names). */
export function isValidClientName (name: string): boolean {
  return CLIENT_NAME.test(name)
}

/** Returns a valid client id, else throws BAD_NAME. */
export function checkClientName (name: string): string {
  if (!CLIENT_NAME.test(name)) {
    fail('BAD_NAME', { name })
  }
  return name
}
