/**
 * Config of webhook delivery (`webhooks` in the config file): its type,
 * defaults, JSON-schema fragment and cross-field checks. Kept here so the
 * shared config files only import them.
 */

export interface WebhookConfig {
  /**
   * When false (the default), a webhook URL whose host is or resolves to a
   * loopback, private, link-local, metadata or other special-purpose address
   * is refused, at creation and again at every connection.
   */
  allowPrivateAddresses: boolean
  /** One delivery attempt (connect, send, response headers) may take this long; then it counts as failed. */
  timeoutMs: number
  /** Delays before the 1st, 2nd, ... retry of a failed delivery; the last one repeats. */
  retryScheduleMs: number[]
  /** Each scheduled delay is multiplied by a random factor in [1 - retryJitter, 1 + retryJitter). */
  retryJitter: number
  /** The longest `Retry-After` (on 429 and 503) that is honoured; longer ones are cut to this. */
  maxRetryAfterMs: number
  /** Requests one webhook has open at once, when the webhook does not set its own. */
  maxInFlight: number
}

export const WEBHOOK_DEFAULTS: Readonly<WebhookConfig> = Object.freeze({
  allowPrivateAddresses: false,
  timeoutMs: 10000,
  // 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, then every hour.
  retryScheduleMs: Object.freeze([1000, 5000, 30000, 120000, 600000, 3600000]) as number[],
  retryJitter: 0.2,
  maxRetryAfterMs: 3600000,
  maxInFlight: 10,
})

/** Bounds of the numeric fields, shared by the schema, the docs and the edge tests. */
export const WEBHOOK_LIMITS = Object.freeze({
  timeoutMs: { min: 100, max: 600000 },
  retryDelayMs: { min: 1, max: 86400000 },
  retryScheduleLength: { min: 1, max: 100 },
  retryJitter: { min: 0, max: 0.9 },
  maxRetryAfterMs: { min: 1000, max: 86400000 },
  maxInFlight: { min: 1, max: 1000 },
})

const L = WEBHOOK_LIMITS

export const webhooksSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowPrivateAddresses: { type: 'boolean' },
    timeoutMs: { type: 'integer', minimum: L.timeoutMs.min, maximum: L.timeoutMs.max },
    retryScheduleMs: {
      type: 'array',
      minItems: L.retryScheduleLength.min,
      maxItems: L.retryScheduleLength.max,
      items: { type: 'integer', minimum: L.retryDelayMs.min, maximum: L.retryDelayMs.max },
    },
    retryJitter: { type: 'number', minimum: L.retryJitter.min, maximum: L.retryJitter.max },
    maxRetryAfterMs: { type: 'integer', minimum: L.maxRetryAfterMs.min, maximum: L.maxRetryAfterMs.max },
    maxInFlight: { type: 'integer', minimum: L.maxInFlight.min, maximum: L.maxInFlight.max },
  },
} as const

/** A config layer's `webhooks`: any subset of the fields; the rest keep their value from the layers below. */
export function mergeWebhookConfig (base: WebhookConfig, layer: Partial<WebhookConfig> | undefined): WebhookConfig {
  if (layer === undefined) return base
  const out = { ...base, ...layer }
  out.retryScheduleMs = [...out.retryScheduleMs]
  return out
}
