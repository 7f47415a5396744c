import t from 'tap'
import { WEBHOOK_DEFAULTS, type WebhookConfig } from '../../src/webhooks/config'
import { parseRetryAfter, retryAfterDelay, scheduledDelay } from '../../src/webhooks/retryPolicy'

const cfg: WebhookConfig = { ...WEBHOOK_DEFAULTS }
const mid = (): number => 0.5 // factor exactly 1
const low = (): number => 0 // the lowest draw
const high = (): number => 1 - Number.EPSILON // the highest draw

t.test('the default schedule: 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, then every hour', async t => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 50].map(n => scheduledDelay(cfg, n, mid))
  t.same(delays, [1000, 5000, 30000, 120000, 600000, 3600000, 3600000, 3600000, 3600000])
  t.equal(scheduledDelay(cfg, 0, mid), 1000, 'a count below 1 is the first step')
})

t.test('jitter stays within +-retryJitter of the step', async t => {
  t.equal(scheduledDelay(cfg, 1, low), 800, '1 s - 20 %')
  t.equal(scheduledDelay(cfg, 1, high), 1200, '1 s + 20 % (rounded; the factor is below 1.2)')
  t.equal(scheduledDelay(cfg, 6, low), 2880000)
  t.equal(scheduledDelay({ ...cfg, retryJitter: 0 }, 2, high), 5000, 'no jitter')
  t.equal(scheduledDelay({ ...cfg, retryScheduleMs: [1], retryJitter: 0.9 }, 1, low), 1, 'never below 1 ms')
  for (let i = 0; i < 1000; i++) {
    const d = scheduledDelay(cfg, 2, Math.random)
    if (d < 4000 || d > 6000) t.fail(`5 s with jitter gave ${d}`)
  }
})

t.test('Retry-After is lengthened by jitter, floored at the first step and cut at maxRetryAfterMs', async t => {
  t.equal(retryAfterDelay(cfg, 7000, low), 7000, 'as asked')
  t.equal(retryAfterDelay(cfg, 7000, mid), 7700, 'jitter only adds')
  t.equal(retryAfterDelay(cfg, 0, low), 1000, 'Retry-After: 0 waits the first step')
  t.equal(retryAfterDelay(cfg, cfg.maxRetryAfterMs - 1, high), cfg.maxRetryAfterMs, 'jitter does not pass the max')
  t.equal(retryAfterDelay(cfg, 10 * 3600000, low), cfg.maxRetryAfterMs, 'a longer wait is cut to the max')
  t.equal(retryAfterDelay({ ...cfg, retryScheduleMs: [5000], maxRetryAfterMs: 2000 }, 0, low), 2000, 'the floor never passes the max')
})

t.test('Retry-After values: delta-seconds and HTTP dates; anything else is ignored', async t => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  t.equal(parseRetryAfter('120', now), 120000)
  t.equal(parseRetryAfter(' 3 ', now), 3000)
  t.equal(parseRetryAfter('0', now), 0)
  t.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30000, 'IMF-fixdate')
  t.equal(parseRetryAfter('Wednesday, 01-Jan-25 00:01:00 GMT', now), 60000, 'RFC 850 date')
  t.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0, 'a date in the past: at once')
  t.equal(parseRetryAfter(undefined, now), null)
  t.equal(parseRetryAfter('', now), null)
  t.equal(parseRetryAfter('-5', now), null)
  t.equal(parseRetryAfter('1.5', now), null)
  t.equal(parseRetryAfter('2025-01-01T00:00:30Z', now), null, 'ISO dates are not HTTP dates')
  t.equal(parseRetryAfter('Wed, 99 Foo 2025', now), null)
  t.equal(parseRetryAfter('12345678901', now), null, 'more than 10 digits')
})

t.test('a configured schedule and jitter at their edges', async t => {
  const custom = { ...cfg, retryScheduleMs: [50, 70] }
  t.same([1, 2, 3, 10].map(n => scheduledDelay(custom, n, mid)), [50, 70, 70, 70], 'the last step repeats')
  t.same([1, 2].map(n => scheduledDelay({ ...cfg, retryScheduleMs: [86400000] }, n, mid)), [86400000, 86400000], 'one step of 24 h')
  t.equal(scheduledDelay({ ...cfg, retryJitter: 0.9 }, 1, low), 100, 'the widest jitter: 10 % of the step at the lowest draw')
  t.equal(scheduledDelay({ ...cfg, retryJitter: 0.9 }, 1, high), 1900, 'and 190 % at the highest')
  t.equal(retryAfterDelay({ ...cfg, retryJitter: 0.9 }, 10000, high), 19000)
})
