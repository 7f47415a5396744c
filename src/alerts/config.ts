/**
 * The `alerts` config section: rules evaluated every `alertCheckMs`
 * (docs/alerts.md). Each rule is a condition on a figure, the topics it
 * watches and the webhook that hears of it firing and resolving.
 */

/** The figures a rule can watch; `diskFreeBytes` is broker-wide, the others are per topic. */
export const ALERT_METRICS = ['dlq', 'pending', 'inFlight', 'oldestPendingMs', 'diskFreeBytes'] as const
export type AlertMetric = typeof ALERT_METRICS[number]

/** One rule as written in the config file. */
export interface AlertRule {
  /** `<figure> > N` or `<figure> < N`, e.g. `dlq > 0`, `pending > 1000`, `oldestPendingMs > 60000`, `diskFreeBytes < 1000000000`. */
  when: string
  /** Topics watched: a name, `prefix.*` or `*` (default). Ignored for diskFreeBytes. */
  topic?: string
  /** Where firing and resolving are POSTed (JSON, Standard Webhooks signature). */
  webhook: string
  /** The signing secret (`whsec_` + base64), as webhooks use. */
  secret: string
}

/** A parsed `when`. */
export interface AlertCondition {
  metric: AlertMetric
  op: '>' | '<'
  threshold: number
}

export const ALERTS_DEFAULTS = Object.freeze({ checkMs: 5000 })

/** `figure op N` with one blank either side of the operator (what the schema allows). */
const WHEN = new RegExp(`^(${ALERT_METRICS.join('|')}) ([<>]) (\\d{1,15})$`)

/** Parses a rule's `when`; null when it is not one of the documented forms. */
export function parseCondition (when: string): AlertCondition | null {
  const m = WHEN.exec(when)
  if (m === null) return null
  return { metric: m[1] as AlertMetric, op: m[2] as '>' | '<', threshold: Number(m[3]) }
}

export const alertsSchema = {
  type: 'array',
  maxItems: 1000,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['when', 'webhook', 'secret'],
    properties: {
      when: { type: 'string', pattern: WHEN.source, description: `"<figure> > N" or "<figure> < N", figure one of ${ALERT_METRICS.join(', ')}` },
      topic: { type: 'string', pattern: '^(\\*|[A-Za-z0-9._~-]{1,200}(\\.\\*)?)$', description: 'a topic name, <prefix>.* or *' },
      webhook: { type: 'string', pattern: '^https?://', maxLength: 2048 },
      secret: { type: 'string', pattern: '^whsec_' },
    },
  },
} as const

export const alertCheckMsSchema = { type: 'integer', minimum: 100, maximum: 3600000 } as const
