import { createHash, createHmac, randomBytes } from 'node:crypto'

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): every POST
 * carries `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
 * keyed with the bytes of the secret `whsec_<base64>`.
 */

export const SECRET_PREFIX = 'whsec_'
/** Key bytes of a generated secret. */
export const SECRET_BYTES = 32
/** The key sizes the spec recommends (24 to 64 bytes); other sizes are refused. */
export const SECRET_MIN_BYTES = 24
export const SECRET_MAX_BYTES = 64

/** A new random secret, `whsec_` and the base64 of 32 random bytes. */
export function generateSecret (): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64')
}

/**
 * The key bytes of a `whsec_<base64>` secret, or a sentence saying what is
 * wrong with it (for the API's 400 answer). The secret itself never appears
 * in the sentence.
 */
export function parseSecret (secret: string): Buffer | string {
  if (!secret.startsWith(SECRET_PREFIX)) return `secret must start with ${SECRET_PREFIX}`
  const b64 = secret.slice(SECRET_PREFIX.length)
  // Buffer.from(.., 'base64') skips bad characters silently: check the alphabet and padding first.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    return `secret must be ${SECRET_PREFIX} followed by standard base64 (A-Z a-z 0-9 + /, = padding)`
  }
  const key = Buffer.from(b64, 'base64')
  if (key.length < SECRET_MIN_BYTES || key.length > SECRET_MAX_BYTES) {
    return `secret must encode ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes, got ${key.length}`
  }
  return key
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function sign (key: Buffer, id: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', key)
  mac.update(`${id}.${timestamp}.`)
  mac.update(body)
  return 'v1,' + mac.digest('base64')
}

/** The three Standard Webhooks headers of one attempt. */
export interface SignatureHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/** The headers for one attempt at `nowMs` (the timestamp is in whole seconds). */
export function signatureHeaders (key: Buffer, id: string, nowMs: number, body: Buffer): SignatureHeaders {
  const timestamp = Math.floor(nowMs / 1000)
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(key, id, timestamp, body) }
}

/**
 * The `webhook-id` of an event: the same for every attempt and every restart
 * (topic, offset and event id all persist), different for every
 * other event of the topic (a later event reusing an acked id has another
 * offset), and made only of header-safe characters whatever the
 * event id holds. A topic deleted and created again starts its offsets
 * anew, so its events may repeat ids of the old topic's events.
 */
export function messageId (topic: string, offset: number, eventKey: string): string {
  const digest = createHash('sha256').update(`${topic}\n${offset}\n${eventKey}`).digest('base64url')
  return 'msg_' + digest.slice(0, 27)
}
