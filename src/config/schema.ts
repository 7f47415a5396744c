import { httpSchema } from '../http/config'
import { authSchema, tlsSchema } from '../auth/config'
import { LOG_LEVELS } from '../log'
import { webhooksSchema } from '../webhooks/config'
import { metricsSchema } from '../metrics/config'
import { alertsSchema, alertCheckMsSchema } from '../alerts/config'
import { COMMAND_NAMES } from '../commands/builtin'
import { clusterSchema } from '../cluster/config'

const positiveInt = { type: 'integer', minimum: 1 }
/** Retention limits: 0 keeps nothing for replay (only what subscriptions still owe). */
const retentionLimit = { type: 'integer', minimum: 0 }
/** A topic pattern: `name`, `prefix.*` or `*` (as in overflowDropOldest), private topics (`~owner.…`) included. */
const topicPattern = { type: 'string', pattern: '^(\\*|[A-Za-z0-9._~-]{1,200}(\\.\\*)?)$' }
const commandWords = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$', description: 'a word: a letter, then up to 31 letters, digits, _ or -' },
}

/** JSON schema of a config file: every field optional, no unknown fields (typos fail loudly). */
export const configFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $comment: { type: 'string' },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string', minLength: 1 },
    logDir: { type: 'string', minLength: 1 },
    logLevel: { enum: LOG_LEVELS },
    commands: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(COMMAND_NAMES.map(name => [name, commandWords])), // one key per registry entry
    },
    maxLineBytes: { type: 'integer', minimum: 64, maximum: 256 * 1024 * 1024 },
    maxInFlight: positiveInt,
    maxInFlightLimit: positiveInt,
    maxConnections: positiveInt,
    maxConnectionsPerIp: positiveInt,
    maxSubscriptionsPerConnection: positiveInt,
    maxTopics: positiveInt,
    maxExchanges: positiveInt,
    maxBindingsPerExchange: positiveInt,
    idleTimeoutMs: positiveInt,
    maxQueuedLines: positiveInt,
    maxPageEvents: positiveInt,
    workerBatchLines: positiveInt,
    workerConcurrency: positiveInt,
    flushBytes: positiveInt,
    drainTimeoutMs: positiveInt,
    ackTimeoutMs: { type: 'integer', minimum: 10 },
    maxAckTimeoutMs: { type: 'integer', minimum: 10 },
    maxDeliveries: positiveInt,
    maxPendingPerSubscriber: positiveInt,
    overflowDropOldest: { type: 'array', items: { type: 'string', pattern: '^(\\*|[A-Za-z0-9._-]{1,200}(\\.\\*)?)$', description: 'a topic name, <prefix>.* or *' } },
    maxPendingBytes: { type: 'integer', minimum: 1024 },
    atMostOnceMaxWaiting: positiveInt,
    publishHoldPending: positiveInt,
    publishHoldMaxMs: { type: 'integer', minimum: 1, maximum: 60000 },
    redeliveryCheckMs: { type: 'integer', minimum: 5, maximum: 60000 },
    batchIntervalMs: { type: 'integer', minimum: 10, maximum: 3600000 },
    retention: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxAgeMs: retentionLimit,
        maxBytes: retentionLimit,
        overrides: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['pattern'],
            properties: {
              pattern: topicPattern,
              maxAgeMs: retentionLimit,
              maxBytes: retentionLimit,
            },
          },
        },
      },
    },
    retentionCheckMs: { type: 'integer', minimum: 10, maximum: 3600000 },
    segmentBytes: { type: 'integer', minimum: 1024, maximum: 1024 * 1024 * 1024 },
    eventCacheBytes: positiveInt,
    dedupeWindowMs: positiveInt,
    dedupeMaxIds: positiveInt,
    stateCompactMinBytes: { type: 'integer', minimum: 1024 },
    stateTailBytes: { type: 'integer', minimum: 1024 },
    fsync: { enum: ['always', 'batch', 'off'] },
    auth: authSchema,
    authFailuresPerMinutePerIp: positiveInt,
    tls: tlsSchema,
    webhooks: webhooksSchema,
    http: httpSchema,
    requeueMaxEvents: { type: 'integer', minimum: 1, maximum: 100000 },
    metrics: metricsSchema,
    alerts: alertsSchema,
    alertCheckMs: alertCheckMsSchema,
    cluster: clusterSchema,
  },
} as const
