import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { resolveConfig } from '../../src/config/loadConfig'
import { DEFAULTS } from '../../src/config/defaults'
import { WEBHOOK_DEFAULTS, WEBHOOK_LIMITS } from '../../src/webhooks/config'
import type { ConfigOverrides } from '../../src/config/loadConfig'

const config = (webhooks: Record<string, unknown>, rest: ConfigOverrides = {}): ReturnType<typeof resolveConfig> =>
  resolveConfig({ overrides: { ...rest, webhooks } as ConfigOverrides })

t.test('defaults: private addresses refused, 10 s timeout, the issue\'s schedule, 10 in flight', async t => {
  const cfg = resolveConfig()
  t.same(cfg.webhooks, {
    allowPrivateAddresses: false,
    timeoutMs: 10000,
    retryScheduleMs: [1000, 5000, 30000, 120000, 600000, 3600000],
    retryJitter: 0.2,
    maxRetryAfterMs: 3600000,
    maxInFlight: 10,
  })
  t.same(DEFAULTS.webhooks, cfg.webhooks, 'DEFAULTS and config/default.json agree')
})

t.test('a layer sets only the webhook fields it names; later layers win', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'my.json')
  writeFileSync(file, JSON.stringify({ webhooks: { timeoutMs: 3000, retryScheduleMs: [10, 20] } }))
  const cfg = resolveConfig({ file, overrides: { webhooks: { allowPrivateAddresses: true } } })
  t.same(cfg.webhooks, { ...WEBHOOK_DEFAULTS, timeoutMs: 3000, retryScheduleMs: [10, 20], allowPrivateAddresses: true })
  cfg.webhooks.retryScheduleMs.push(30)
  t.same(resolveConfig().webhooks.retryScheduleMs, WEBHOOK_DEFAULTS.retryScheduleMs, 'configs do not share the schedule array')
})

t.test('every numeric limit at its edges', async t => {
  const L = WEBHOOK_LIMITS
  const edges: Array<[string, { min: number, max: number }]> = [
    ['timeoutMs', L.timeoutMs],
    ['maxRetryAfterMs', L.maxRetryAfterMs],
    ['maxInFlight', L.maxInFlight],
  ]
  for (const [field, { min, max }] of edges) {
    t.equal(config({ [field]: min }).webhooks[field as 'timeoutMs'], min, `${field} = ${min}`)
    t.equal(config({ [field]: max }).webhooks[field as 'timeoutMs'], max, `${field} = ${max}`)
    t.throws(() => config({ [field]: min - 1 }), { message: `invalid config in overrides: webhooks.${field} must be >= ${min}` })
    t.throws(() => config({ [field]: max + 1 }), { message: `invalid config in overrides: webhooks.${field} must be <= ${max}` })
    t.throws(() => config({ [field]: min + 0.5 }), { message: `invalid config in overrides: webhooks.${field} must be an integer` })
  }
  t.equal(config({ retryJitter: 0 }).webhooks.retryJitter, 0)
  t.equal(config({ retryJitter: 0.9 }).webhooks.retryJitter, 0.9)
  t.throws(() => config({ retryJitter: 0.91 }), { message: 'invalid config in overrides: webhooks.retryJitter must be <= 0.9' })
  t.throws(() => config({ retryJitter: -0.01 }), { message: 'invalid config in overrides: webhooks.retryJitter must be >= 0' })
})

t.test('the retry schedule: 1 to 100 steps of 1 ms to 24 h', async t => {
  const { min, max } = WEBHOOK_LIMITS.retryDelayMs
  t.same(config({ retryScheduleMs: [min, max] }).webhooks.retryScheduleMs, [1, 86400000])
  t.same(config({ retryScheduleMs: [5] }).webhooks.retryScheduleMs, [5], 'one step, repeated for ever')
  t.equal(config({ retryScheduleMs: new Array(100).fill(1000) }).webhooks.retryScheduleMs.length, 100)
  t.throws(() => config({ retryScheduleMs: new Array(101).fill(1000) }), { message: 'invalid config in overrides: webhooks.retryScheduleMs must have at most 100 items' })
  t.throws(() => config({ retryScheduleMs: [] }), { message: 'invalid config in overrides: webhooks.retryScheduleMs must not be empty' })
  t.throws(() => config({ retryScheduleMs: [1000, 0] }), { message: 'invalid config in overrides: webhooks.retryScheduleMs[1] must be >= 1' })
  t.throws(() => config({ retryScheduleMs: [max + 1] }), { message: 'invalid config in overrides: webhooks.retryScheduleMs[0] must be <= 86400000' })
})

t.test('type errors, typos and the cross-field check name the field', async t => {
  t.throws(() => config({ allowPrivateAddresses: 'yes' }), { message: 'invalid config in overrides: webhooks.allowPrivateAddresses must be true or false' })
  t.throws(() => config({ tiemoutMs: 5 }), { message: 'invalid config in overrides: unknown field "webhooks.tiemoutMs" (did you mean "webhooks.timeoutMs"?)' })
  t.throws(() => resolveConfig({ overrides: { webhooks: null } as unknown as ConfigOverrides }), { message: 'invalid config in overrides: webhooks must be an object {...}' })
  t.equal(config({ maxInFlight: 20 }, { maxInFlightLimit: 20 }).webhooks.maxInFlight, 20, 'up to maxInFlightLimit')
  t.throws(() => config({ maxInFlight: 21 }, { maxInFlightLimit: 20 }), { message: 'invalid config: webhooks.maxInFlight (21) must not exceed maxInFlightLimit (20)' })
})
