import { createHash } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { isValidTopicName } from '../store/names'

/**
 * Where a topic's files live in storage v2: `<logDir>/topics/<dir>/`.
 *
 * Topics get a directory of their own under `topics/`, never next to the
 * broker's files (`ackline.lock`, `journal-<gen>.ndjson`, v1 `<topic>.json`),
 * which are themselves valid topic names. The directory name is the topic
 * name with every upper-case letter written `+` + its lower-case form and a
 * leading `.` written `+.`: so no two topics share a directory on a
 * case-insensitive file system (`Orders` is `+orders`, `orders` is
 * `orders`), no topic directory is hidden, `.` and `..` cannot occur, and
 * the name decodes back. A name that would encode past 200 characters is cut
 * and ends with `=` and 16 hex digits of its SHA-256; its real name is read
 * from the directory's `topic.json`. Only `a-z 0-9 . _ - ~ + =` ever appear.
 */
export const TOPICS_DIR = 'topics'
/** `{"topic": "<name>", "created": <ms>}`: written when the directory is created; names the topic for sure. */
export const TOPIC_META_FILE = 'topic.json'

const MAX_DIR_NAME = 200
const SAFE_DIR_NAME = /^[a-z0-9._~+=-]{1,200}$/

/** The directory name of a topic (see above). Throws on a name that is not a valid topic name. */
export function topicDirName (topic: string): string {
  if (!isValidTopicName(topic)) throw new Error(`invalid topic name ${JSON.stringify(topic)}`)
  let out = topic.charCodeAt(0) === 0x2e ? '+' : ''
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    out += c >= 0x41 && c <= 0x5a ? '+' + String.fromCharCode(c + 32) : topic[i]
  }
  if (out.length > MAX_DIR_NAME) {
    out = out.slice(0, MAX_DIR_NAME - 17) + '=' + createHash('sha256').update(topic).digest('hex').slice(0, 16)
  }
  // Belt and braces: whatever the name rules become, a directory name never leaves topics/.
  if (!SAFE_DIR_NAME.test(out) || out === '.' || out === '..') throw new Error(`topic ${JSON.stringify(topic)} has no safe directory name`)
  return out
}

/**
 * The topic a directory name stands for, or null: for a shortened name
 * (read its `topic.json`) or a name no topic encodes to (not a topic directory).
 */
export function topicOfDirName (name: string): string | null {
  if (!SAFE_DIR_NAME.test(name) || name.includes('=')) return null
  let out = ''
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c !== 0x2b) { out += name[i]; continue }
    const next = name.charCodeAt(++i)
    if (next >= 0x61 && next <= 0x7a) out += String.fromCharCode(next - 32)
    else if (next === 0x2e && i === 1) out += '.'
    else return null
  }
  if (!isValidTopicName(out)) return null
  return topicDirName(out) === name ? out : null
}

/** `<logDir>/topics/<dir>`, checked to sit directly inside `<logDir>/topics`. */
export function topicDirPath (logDir: string, topic: string): string {
  const parent = join(logDir, TOPICS_DIR)
  const path = join(parent, topicDirName(topic))
  if (dirname(path) !== parent || basename(path) === '..') throw new Error(`topic ${JSON.stringify(topic)} would leave ${parent}`)
  return path
}
