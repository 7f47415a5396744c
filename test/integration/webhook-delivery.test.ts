import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { deliveryJson } from '../../src/store/event'
import { checkWebhookUrl, type ResolvedAddress, type Resolver } from '../../src/webhooks/addressPolicy'
import type { WebhookConfig } from '../../src/webhooks/config'
import { generateSecret } from '../../src/webhooks/signature'
import { Webhook, type WebhookSpec } from '../../src/webhooks/webhook'
import { makeCert } from '../helpers/auth'
import { ManualClock } from '../helpers/clock'
import { Receiver, verifyWithStandardWebhooks } from '../helpers/webhookReceiver'
import { NO_JITTER, RecordedOutcomes, storedEvent, testWebhookConfig } from '../helpers/webhooks'

interface Setup {
  webhook: Webhook
  outcomes: RecordedOutcomes
  clock: ManualClock
  secret: string
}

/** A webhook on a manual clock that starts at the real time (the verifier checks timestamps against its clock). */
function setup (t: Test, spec: Partial<WebhookSpec> & { url: string }, config: Partial<WebhookConfig> = {},
  extra: { resolver?: Resolver, ca?: Buffer, random?: () => number } = {}): Setup {
  const clock = new ManualClock(Date.now())
  const outcomes = new RecordedOutcomes()
  const secret = spec.secret ?? generateSecret()
  secrets.add(secret)
  const webhook = new Webhook({ topic: 'orders', name: 'billing', secret, ...spec }, {
    config: testWebhookConfig(config), clock, outcomes, random: extra.random ?? NO_JITTER, resolver: extra.resolver, ca: extra.ca,
  })
  t.teardown(() => webhook.close())
  return { webhook, outcomes, clock, secret }
}

/** Every secret a webhook of this file signs with, and the receivers of each test. */
const secrets = new Set<string>()
const receiversOf = new WeakMap<Test, Receiver[]>()

async function receiver (t: Test, tls?: { cert: Buffer, key: Buffer }): Promise<Receiver> {
  const r = await Receiver.start(tls)
  t.teardown(async () => await r.close())
  receiversOf.set(t, [...(receiversOf.get(t) ?? []), r])
  return r
}

/** A test after which every request its receivers got must verify with the standardwebhooks verifier. */
function test (name: string, fn: (t: Test) => Promise<void>): void {
  t.test(name, async t => {
    await fn(t)
    for (const r of receiversOf.get(t) ?? []) {
      for (const got of r.received) {
        // At the receiver's time of arrival (the attempt's own timestamp), with one of the webhooks' secrets.
        const at = Number(got.headers['webhook-timestamp']) * 1000
        const ok = [...secrets].some(secret => { try { verifyWithStandardWebhooks(secret, got, at); return true } catch { return false } })
        if (!ok) t.fail(`a request to ${got.url} does not verify: ${JSON.stringify(got.headers)}`)
      }
    }
    const total = (receiversOf.get(t) ?? []).reduce((n, r) => n + r.received.length, 0)
    if (total > 0) t.pass(`all ${total} received requests verify with standardwebhooks`)
  })
}

/** A loopback port with nothing listening (bound, then closed). */
async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

test('a 2xx is an ack: the EVENT body byte for byte, JSON content type, Standard Webhooks headers that verify', async t => {
  const r = await receiver(t)
  const { webhook, outcomes, clock, secret } = setup(t, { url: r.url('/in?src=ackline') })
  const ev = storedEvent('o-1', 1, { priority: 3, msg: { total: 12.5, note: 'ünïcödé ✓ "quoted"' }, lang: 'de' })
  t.ok(webhook.canDeliver())
  webhook.deliver('orders', ev, 1)
  t.same(await outcomes.next(), { call: 'acked', key: 'o-1' })
  const got = r.received[0]
  t.equal(got.method, 'POST')
  t.equal(got.url, '/in?src=ackline')
  t.equal(got.body.toString(), ev.json, 'the body is the event text as the EVENT line carries it')
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['content-length'], String(Buffer.byteLength(ev.json)))
  t.match(got.headers['webhook-id'], /^msg_[A-Za-z0-9_-]{27}$/)
  t.equal(got.headers['webhook-timestamp'], String(Math.floor(clock.now() / 1000)))
  t.match(got.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/)
  t.same(verifyWithStandardWebhooks(secret, got, clock.now()), JSON.parse(ev.json), 'the standardwebhooks verifier accepts it')
  const s = webhook.state()
  t.match(s, { topic: 'orders', name: 'billing', url: r.url('/in?src=ackline'), inFlight: 0, consecutiveFailures: 0, attempts: 1, delivered: 1, failed: 0, lastStatus: 200, lastError: null, nextAttemptAt: null, disabled: false, disabledReason: null, lastSuccessAt: clock.now() })
})

test('every 2xx acks; a redelivery carries "deliveries":N as the EVENT line does', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 201 }, { status: 204 }, { status: 299 }]
  const { webhook, outcomes } = setup(t, { url: r.url() })
  for (const [i, id] of ['a', 'b', 'c'].entries()) {
    webhook.deliver('orders', storedEvent(id, i + 1), 3)
    t.same(await outcomes.next(), { call: 'acked', key: id })
  }
  t.equal(r.received[0].body.toString(), deliveryJson(storedEvent('a', 1), 3))
  t.match(r.received[0].body.toString(), /,"deliveries":3}$/)
})

test('a 500 is retried on the schedule 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, 1 h ...; the webhook-id stays, every signature verifies', async t => {
  const r = await receiver(t)
  r.plan = Array.from({ length: 8 }, () => ({ status: 500 }))
  const { webhook, outcomes, clock, secret } = setup(t, { url: r.url() })
  const ev = storedEvent('o-7', 7)
  const expected = [1000, 5000, 30000, 120000, 600000, 3600000, 3600000, 3600000]
  for (let n = 1; n <= expected.length; n++) {
    t.ok(webhook.canDeliver(), `attempt ${n} may go`)
    webhook.deliver('orders', ev, n)
    t.same(await outcomes.next(), { call: 'retryLater', key: 'o-7', delayMs: expected[n - 1] }, `failure ${n} waits ${expected[n - 1]} ms`)
    const s = webhook.state()
    t.equal(s.consecutiveFailures, n)
    t.equal(s.lastStatus, 500)
    t.equal(s.lastError, 'HTTP 500 Internal Server Error')
    t.equal(s.nextAttemptAt, clock.now() + expected[n - 1], 'the webhook backs off as long')
    t.notOk(webhook.canDeliver(), 'nothing goes out while backing off')
    t.ok(webhook.stalled(), 'a failing webhook holds no publisher back')
    clock.advance(expected[n - 1] - 1)
    t.notOk(webhook.canDeliver(), 'not 1 ms early')
    t.same(outcomes.unread(), [])
    clock.advance(1)
    t.same(await outcomes.next(), { call: 'ready' }, 'the store is told to pump when the back-off is over')
  }
  webhook.deliver('orders', ev, 9)
  t.same(await outcomes.next(), { call: 'acked', key: 'o-7' }, 'the receiver recovered')
  t.match(webhook.state(), { consecutiveFailures: 0, nextAttemptAt: null, attempts: 9, delivered: 1, failed: 8, lastStatus: 200, lastError: 'HTTP 500 Internal Server Error' })
  const ids = new Set(r.received.map(x => x.headers['webhook-id']))
  t.equal(ids.size, 1, 'one webhook-id for all 9 attempts')
  const stamps = r.received.map(x => Number(x.headers['webhook-timestamp']))
  t.ok(stamps.every((s, i) => i === 0 || s > stamps[i - 1]), 'each attempt has its own timestamp')
  for (const [i, got] of r.received.entries()) {
    t.same(verifyWithStandardWebhooks(secret, got, Number(got.headers['webhook-timestamp']) * 1000), JSON.parse(deliveryJson(ev, i + 1)), `attempt ${i + 1} verifies`)
  }
})

test('jitter: the retry delay varies around the step, within retryJitter', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 502 }, { status: 502 }]
  const draws = [0, 0.999]
  const { webhook, outcomes, clock } = setup(t, { url: r.url() }, {}, { random: () => draws.shift() ?? 0.5 })
  webhook.deliver('orders', storedEvent('j', 1), 1)
  // The first draw sets the webhook's pause, the second the event's delay.
  t.same(await outcomes.next(), { call: 'retryLater', key: 'j', delayMs: 1200 })
  t.equal(webhook.state().nextAttemptAt, clock.now() + 800)
})

test('429 and 503 with Retry-After: the receiver says when; bounded by maxRetryAfterMs', async t => {
  const r = await receiver(t)
  const date = (ms: number): string => new Date(Math.ceil(ms / 1000) * 1000).toUTCString()
  const { webhook, outcomes, clock } = setup(t, { url: r.url() }, { maxRetryAfterMs: 600000 }, { random: () => 0 })
  const cases: Array<{ reply: { status: number, headers?: Record<string, string> }, wait: number, note: string }> = [
    { reply: { status: 429, headers: { 'retry-after': '42' } }, wait: 42000, note: '429 with seconds' },
    { reply: { status: 503, headers: { 'retry-after': '7' } }, wait: 7000, note: '503 with seconds' },
    { reply: { status: 429, headers: { 'retry-after': '0' } }, wait: 1000, note: '0 waits the first step' },
    { reply: { status: 429, headers: { 'retry-after': '600' } }, wait: 600000, note: 'exactly the max' },
    { reply: { status: 429, headers: { 'retry-after': '601' } }, wait: 600000, note: 'one second past the max is cut' },
    { reply: { status: 429, headers: { 'retry-after': 'soon' } }, wait: 800, note: 'an unreadable value: the schedule' },
    { reply: { status: 500, headers: { 'retry-after': '42' } }, wait: 800, note: 'only 429 and 503 are honoured' },
  ]
  for (const [i, c] of cases.entries()) {
    r.plan = [c.reply]
    const n = webhook.state().attempts + 1
    webhook.deliver('orders', storedEvent(`r${i}`, n), 1)
    const o = await outcomes.next()
    t.same(o, { call: 'retryLater', key: `r${i}`, delayMs: c.wait }, c.note)
    t.equal(webhook.state().lastStatus, c.reply.status)
    // Let the back-off run out and recover, so each case starts from a healthy webhook.
    clock.advance(3600000)
    t.same(await outcomes.next(), { call: 'ready' })
    r.plan = []
    webhook.deliver('orders', storedEvent(`ok${i}`, n + 1), 1)
    t.same(await outcomes.next(), { call: 'acked', key: `ok${i}` })
  }
  // An HTTP date: the time from the receiver's clock to that date.
  r.plan = [{ status: 503, headers: { 'retry-after': date(clock.now() + 90000) } }]
  webhook.deliver('orders', storedEvent('d', 999), 1)
  const o = await outcomes.next() as { delayMs: number }
  t.ok(o.delayMs >= 90000 && o.delayMs < 91000, `an HTTP date 90 s ahead (rounded up to the second) waits ${o.delayMs} ms`)
  t.equal(webhook.state().nextAttemptAt, clock.now() + o.delayMs, 'the whole webhook waits as the receiver asked')
})

test('a receiver that never answers: the attempt fails after timeoutMs (on the clock), not before', async t => {
  const r = await receiver(t)
  r.plan = ['hang']
  const { webhook, outcomes, clock } = setup(t, { url: r.url() }, { timeoutMs: 2500 })
  webhook.deliver('orders', storedEvent('slow', 1), 1)
  await r.waitFor(1)
  t.equal(webhook.state().inFlight, 1)
  clock.advance(2499)
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(outcomes.unread(), [], 'still waiting 1 ms before the timeout')
  clock.advance(1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'slow', delayMs: 1000 })
  t.match(webhook.state(), { inFlight: 0, consecutiveFailures: 1, lastStatus: null, lastError: 'no response within 2500 ms (webhooks.timeoutMs)' })
  // The receiver recovers: the retry goes through.
  clock.advance(1000)
  t.same(await outcomes.next(), { call: 'ready' })
  webhook.deliver('orders', storedEvent('slow', 1), 2)
  t.same(await outcomes.next(), { call: 'acked', key: 'slow' })
})

test('connection refused is a failure like any other; the receiver coming back is a success', async t => {
  const port = await closedPort()
  const { webhook, outcomes, clock } = setup(t, { url: `http://127.0.0.1:${port}/hook` })
  webhook.deliver('orders', storedEvent('x', 1), 1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'x', delayMs: 1000 })
  t.match(webhook.state(), { lastStatus: null, lastError: /^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+$/, consecutiveFailures: 1 })
  clock.advance(1000)
  t.same(await outcomes.next(), { call: 'ready' })
  webhook.deliver('orders', storedEvent('x', 1), 2)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'x', delayMs: 5000 })
})

test('odd answers: a long reason phrase is cut, a missing one left out, a malformed response is a network failure', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 500, message: 'x'.repeat(150) }]
  const long = setup(t, { url: r.url() })
  long.webhook.deliver('orders', storedEvent('a', 1), 1)
  t.same(await long.outcomes.next(), { call: 'retryLater', key: 'a', delayMs: 1000 })
  t.equal(long.webhook.state().lastError, `HTTP 500 ${'x'.repeat(100)}...`)

  // A raw TCP peer writes exactly what the test says.
  const answers = ['HTTP/1.1 599\r\ncontent-length: 0\r\n\r\n', 'this is not HTTP\r\n\r\n']
  const raw = createServer(socket => socket.once('data', () => socket.end(answers.shift() ?? '')))
  await new Promise<void>(resolve => raw.listen(0, '127.0.0.1', resolve))
  t.teardown(() => raw.close())
  const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`
  const bare = setup(t, { url })
  bare.webhook.deliver('orders', storedEvent('b', 1), 1)
  t.same(await bare.outcomes.next(), { call: 'retryLater', key: 'b', delayMs: 1000 })
  t.match(bare.webhook.state(), { lastStatus: 599, lastError: 'HTTP 599' })
  const garbage = setup(t, { url })
  garbage.webhook.deliver('orders', storedEvent('c', 1), 1)
  t.same(await garbage.outcomes.next(), { call: 'retryLater', key: 'c', delayMs: 1000 })
  t.match(garbage.webhook.state(), { lastStatus: null, lastError: /^HPE_/ })
})

test('a back-off timer that fires early does not end the back-off early', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 500 }]
  // A clock whose one-shot timers fire 30 % early (real timers may fire a little early).
  const clock = new ManualClock(Date.now())
  const onTime = clock.after
  clock.after = (ms, fn) => onTime(ms - Math.floor(ms * 0.3), fn)
  const outcomes = new RecordedOutcomes()
  const secret = generateSecret()
  secrets.add(secret)
  const webhook = new Webhook({ topic: 'orders', name: 'early', url: r.url(), secret },
    { config: testWebhookConfig(), clock, outcomes, random: NO_JITTER })
  t.teardown(() => webhook.close())
  webhook.deliver('orders', storedEvent('e', 1), 1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'e', delayMs: 1000 })
  clock.advance(700)
  t.same(outcomes.unread(), [], 'the early timer found the back-off not over')
  t.notOk(webhook.canDeliver())
  clock.advance(299)
  t.same(outcomes.unread(), [])
  clock.advance(1)
  t.same(await outcomes.next(), { call: 'ready' }, 'ready when the back-off is really over')
  t.ok(webhook.canDeliver())
})

test('410 Gone disables the webhook; its state shows it; enable() resumes', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 410 }]
  const { webhook, outcomes, clock } = setup(t, { url: r.url() })
  webhook.deliver('orders', storedEvent('g', 1), 1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'g', delayMs: 0 }, 'the event stays pending')
  t.same(await outcomes.next(), { call: 'disabled', reason: `${new URL(r.url()).origin} answered 410 Gone` })
  t.notOk(webhook.canDeliver())
  t.ok(webhook.stalled())
  t.match(webhook.state(), { disabled: true, disabledReason: /answered 410 Gone$/, lastStatus: 410, lastError: 'HTTP 410 Gone', nextAttemptAt: null })
  clock.advance(10 * 3600000)
  t.same(outcomes.unread(), [], 'no back-off timer wakes a disabled webhook')
  t.notOk(webhook.canDeliver())
  webhook.enable()
  t.same(await outcomes.next(), { call: 'ready' })
  t.ok(webhook.canDeliver())
  webhook.deliver('orders', storedEvent('g', 1), 2)
  t.same(await outcomes.next(), { call: 'acked', key: 'g' })
  t.match(webhook.state(), { disabled: false, disabledReason: null })
})

test('maxDeliveries: the failure of the last allowed delivery dead-letters the event', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 500 }, { status: 500 }]
  const { webhook, outcomes, clock } = setup(t, { url: r.url(), maxDeliveries: 2 })
  webhook.deliver('orders', storedEvent('p', 1), 1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'p', delayMs: 1000 }, 'delivery 1 of 2 failed: retried')
  clock.advance(1000)
  t.same(await outcomes.next(), { call: 'ready' })
  webhook.deliver('orders', storedEvent('p', 1), 2)
  t.same(await outcomes.next(), { call: 'deadLetter', key: 'p', reason: 'webhook billing: HTTP 500 Internal Server Error' }, 'delivery 2 of 2 failed: dead letter')
  t.equal(webhook.state().maxDeliveries, 2)
})

test('without maxDeliveries an event is retried for ever (here: the 1000th delivery)', async t => {
  const r = await receiver(t)
  r.plan = [{ status: 500 }]
  const { webhook, outcomes } = setup(t, { url: r.url() })
  webhook.deliver('orders', storedEvent('f', 1), 1000)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'f', delayMs: 3600000 })
  t.equal(webhook.state().maxDeliveries, null)
})

test('the in-flight cap: maxInFlight requests at once, the next when one ends', async t => {
  const r = await receiver(t)
  r.plan = ['hang', 'hang', 'hang']
  const { webhook, outcomes } = setup(t, { url: r.url(), maxInFlight: 2 })
  t.equal(webhook.state().maxInFlight, 2)
  webhook.deliver('orders', storedEvent('a', 1), 1)
  t.ok(webhook.canDeliver(), 'one of two slots used')
  webhook.deliver('orders', storedEvent('b', 2), 1)
  t.notOk(webhook.canDeliver(), 'both slots used')
  t.equal(webhook.state().inFlight, 2)
  await r.waitFor(2)
  r.release(200)
  const acks = [await outcomes.next(), await outcomes.next()].map(o => (o as { key: string }).key).sort()
  t.same(acks, ['a', 'b'])
  t.ok(webhook.canDeliver())
  t.equal(r.connections, 2, 'two requests at once used two connections')
})

test('the default cap is webhooks.maxInFlight', async t => {
  const r = await receiver(t)
  r.plan = ['hang', 'hang', 'hang']
  const { webhook } = setup(t, { url: r.url() }, { maxInFlight: 3 })
  for (let i = 1; i <= 3; i++) {
    t.ok(webhook.canDeliver(), `slot ${i}`)
    webhook.deliver('orders', storedEvent(`e${i}`, i), 1)
  }
  t.notOk(webhook.canDeliver())
  await r.waitFor(3)
  r.release(200)
})

test('keep-alive: consecutive deliveries reuse one connection', async t => {
  const r = await receiver(t)
  const { webhook, outcomes } = setup(t, { url: r.url() })
  for (let i = 1; i <= 5; i++) {
    webhook.deliver('orders', storedEvent(`k${i}`, i), 1)
    t.same(await outcomes.next(), { call: 'acked', key: `k${i}` })
  }
  t.equal(r.connections, 1)
})

test('after a failure the webhook probes with one request at a time; failures already in flight do not escalate the back-off', async t => {
  const r = await receiver(t)
  r.plan = ['hang', 'hang', 'hang']
  const { webhook, outcomes, clock } = setup(t, { url: r.url(), maxInFlight: 3 })
  for (let i = 1; i <= 3; i++) webhook.deliver('orders', storedEvent(`e${i}`, i), 1)
  await r.waitFor(3)
  r.release(500)
  const failures = [await outcomes.next(), await outcomes.next(), await outcomes.next()]
  t.ok(failures.every(o => o.call === 'retryLater' && o.delayMs === 1000), 'each event waits its own first step')
  t.equal(webhook.state().consecutiveFailures, 1, 'three requests that were in flight together count as one failure')
  t.equal(webhook.state().nextAttemptAt, clock.now() + 1000)
  clock.advance(1000)
  t.same(await outcomes.next(), { call: 'ready' })
  t.ok(webhook.canDeliver())
  r.plan = ['hang']
  webhook.deliver('orders', storedEvent('e1', 1), 2)
  t.notOk(webhook.canDeliver(), 'one probe at a time while failing')
  await r.waitFor(4)
  r.release(200)
  t.same(await outcomes.next(), { call: 'acked', key: 'e1' })
  t.ok(webhook.canDeliver(), 'a success reopens every slot')
  t.equal(webhook.state().consecutiveFailures, 0)
})

test('a Retry-After on a request that was already in flight still holds the whole webhook', async t => {
  const r = await receiver(t)
  r.plan = ['hang', 'hang']
  const { webhook, outcomes, clock } = setup(t, { url: r.url(), maxInFlight: 2 }, {}, { random: () => 0 })
  webhook.deliver('orders', storedEvent('a', 1), 1)
  webhook.deliver('orders', storedEvent('b', 2), 1)
  await r.waitFor(2)
  r.releaseOldest(500)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'a', delayMs: 800 })
  t.match(webhook.state(), { consecutiveFailures: 1, nextAttemptAt: clock.now() + 800 })
  r.releaseOldest(429, { 'retry-after': '60' })
  t.same(await outcomes.next(), { call: 'retryLater', key: 'b', delayMs: 60000 })
  t.match(webhook.state(), { consecutiveFailures: 1, nextAttemptAt: clock.now() + 60000 }, 'not counted again, but the wait is the receiver\'s')
  clock.advance(59999)
  t.same(outcomes.unread(), [])
  t.notOk(webhook.canDeliver())
  clock.advance(1)
  t.same(await outcomes.next(), { call: 'ready' })
})

test('one slow endpoint never delays another', async t => {
  const slow = await receiver(t)
  const fast = await receiver(t)
  slow.plan = Array.from({ length: 10 }, () => 'hang' as const)
  const a = setup(t, { url: slow.url(), name: 'slow', maxInFlight: 10 })
  const b = setup(t, { url: fast.url(), name: 'fast', maxInFlight: 1 })
  for (let i = 1; i <= 10; i++) a.webhook.deliver('orders', storedEvent(`s${i}`, i), 1)
  await slow.waitFor(10)
  t.notOk(a.webhook.canDeliver(), 'the slow one is full')
  for (let i = 1; i <= 50; i++) {
    t.ok(b.webhook.canDeliver())
    b.webhook.deliver('orders', storedEvent(`f${i}`, i), 1)
    const o = await b.outcomes.next()
    if (o.call !== 'acked') t.fail(`fast delivery ${i}: ${JSON.stringify(o)}`)
  }
  t.equal(fast.received.length, 50, 'the fast receiver got everything while the slow one hangs')
  t.equal(a.webhook.state().inFlight, 10)
  t.same(a.outcomes.unread(), [])
  slow.release(200)
})

test('close(): no outcome for requests still open, no back-off timer', async t => {
  const r = await receiver(t)
  r.plan = ['hang', { status: 500 }]
  const { webhook, outcomes, clock } = setup(t, { url: r.url() })
  webhook.deliver('orders', storedEvent('c', 1), 1)
  await r.waitFor(1)
  webhook.close()
  t.notOk(webhook.canDeliver())
  t.ok(webhook.stalled())
  clock.advance(60000)
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(outcomes.calls, [], 'nothing reported after close')
  webhook.deliver('orders', storedEvent('d', 2), 1)
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(r.received.length, 1, 'a closed webhook sends nothing')
  webhook.enable()
  t.same(outcomes.calls, [])
})

test('restore(): a back-off and a 410 survive a restart', async t => {
  const r = await receiver(t)
  const a = setup(t, { url: r.url() })
  a.webhook.restore({ consecutiveFailures: 3, nextAttemptAt: a.clock.now() + 30000, disabledReason: null })
  t.notOk(a.webhook.canDeliver())
  t.match(a.webhook.state(), { consecutiveFailures: 3, nextAttemptAt: a.clock.now() + 30000 })
  a.clock.advance(30000)
  t.same(await a.outcomes.next(), { call: 'ready' })
  t.ok(a.webhook.canDeliver())
  r.plan = [{ status: 500 }]
  a.webhook.deliver('orders', storedEvent('z', 1), 4)
  t.same(await a.outcomes.next(), { call: 'retryLater', key: 'z', delayMs: 120000 }, 'the event waits its 4th step')
  t.equal(a.webhook.state().nextAttemptAt, a.clock.now() + 120000, 'the streak went on: 4th failure, 2 min')

  const b = setup(t, { url: r.url() })
  b.webhook.restore({ consecutiveFailures: 1, nextAttemptAt: b.clock.now() - 1, disabledReason: null })
  t.ok(b.webhook.canDeliver(), 'a back-off that ended during the restart does not hold')
  b.webhook.restore({ consecutiveFailures: 0, nextAttemptAt: null, disabledReason: 'http://x answered 410 Gone' })
  t.notOk(b.webhook.canDeliver())
  t.match(b.webhook.state(), { disabled: true, disabledReason: 'http://x answered 410 Gone' })
})

test('bad specs are refused with the reason', async t => {
  const config = testWebhookConfig()
  const deps = { config, clock: new ManualClock(), outcomes: new RecordedOutcomes() }
  const spec = { topic: 't', name: 'n', url: 'http://127.0.0.1:1/', secret: generateSecret() }
  t.throws(() => new Webhook({ ...spec, url: 'ftp://x/' }, deps), { message: 'url scheme must be http or https, got ftp' })
  t.throws(() => new Webhook({ ...spec, secret: 'nope' }, deps), { message: 'secret must start with whsec_' })
  t.throws(() => new Webhook({ ...spec, maxInFlight: 0 }, deps), { message: 'maxInFlight must be an integer of at least 1' })
  t.throws(() => new Webhook({ ...spec, maxInFlight: 1.5 }, deps), { message: 'maxInFlight must be an integer of at least 1' })
  t.throws(() => new Webhook({ ...spec, maxDeliveries: 0 }, deps), { message: 'maxDeliveries must be an integer of at least 1, or null' })
  const ok = new Webhook({ ...spec, maxInFlight: 1, maxDeliveries: 1 }, deps)
  t.match(ok.state(), { maxInFlight: 1, maxDeliveries: 1 })
  ok.close()
})

test('https receivers, verified against a CA', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const r = await receiver(t, { cert: readFileSync(cert), key: readFileSync(key) })
  const { webhook, outcomes, secret, clock } = setup(t, { url: r.url('/tls', '127.0.0.1', 'https') }, {}, { ca: readFileSync(cert) })
  webhook.deliver('orders', storedEvent('s', 1), 1)
  t.same(await outcomes.next(), { call: 'acked', key: 's' })
  t.ok(verifyWithStandardWebhooks(secret, r.received[0], clock.now()))
  const untrusted = setup(t, { url: r.url('/tls', '127.0.0.1', 'https') })
  untrusted.webhook.deliver('orders', storedEvent('s', 1), 1)
  t.same(await untrusted.outcomes.next(), { call: 'retryLater', key: 's', delayMs: 1000 })
  t.match(untrusted.webhook.state().lastError, /SELF_SIGNED|self.signed/i, 'an untrusted certificate is a failed delivery')
})

/** A resolver that maps names to addresses from a table that the test may change (DNS rebinding). */
function tableResolver (table: Record<string, ResolvedAddress[]>): Resolver & { asked: string[] } {
  const asked: string[] = []
  const fn = async (host: string): Promise<ResolvedAddress[]> => {
    asked.push(host)
    const found = table[host]
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return found
  }
  return Object.assign(fn, { asked })
}

test('SSRF guard: loopback, private, metadata and mapped addresses are refused before any connection', async t => {
  const r = await receiver(t)
  const port = r.port
  const literal: Array<[string, RegExp]> = [
    [`http://127.0.0.1:${port}/`, /^address 127\.0\.0\.1 is loopback/],
    [`http://localhost.:${port}/`.replace('localhost.', '127.1'), /^address 127\.0\.0\.1 is loopback/],
    [`http://[::1]:${port}/`, /^address ::1 is loopback/],
    [`http://[::ffff:127.0.0.1]:${port}/`, /^address ::ffff:7f00:1 is IPv4-mapped 127\.0\.0\.1, loopback/],
    [`http://10.0.0.1:${port}/`, /^address 10\.0\.0\.1 is private/],
    ['http://169.254.169.254/latest/meta-data/', /^address 169\.254\.169\.254 is link-local \(cloud metadata\)/],
    ['http://[fd00:ec2::254]/', /unique local/],
    ['http://0.0.0.0/', /unspecified/],
  ]
  for (const [url, reason] of literal) {
    const { webhook, outcomes } = setup(t, { url }, { allowPrivateAddresses: false })
    t.match(await checkWebhookUrl(url, false), reason, `${url} is refused at creation`)
    webhook.deliver('orders', storedEvent('x', 1), 1)
    t.same(await outcomes.next(), { call: 'retryLater', key: 'x', delayMs: 1000 }, `${url}: a failed delivery`)
    t.match(webhook.state().lastError, reason)
    t.equal(webhook.state().lastStatus, null)
  }
  t.equal(r.connections, 0, 'the loopback receiver saw no connection at all')
})

test('SSRF guard on names: checked at every connection, so DNS rebinding is refused too', async t => {
  const r = await receiver(t)
  const table: Record<string, ResolvedAddress[]> = {
    'hooks.example.com': [{ address: '93.184.215.14', family: 4 }],
    'internal.example.com': [{ address: '10.1.2.3', family: 4 }],
    'receiver.test': [{ address: '127.0.0.1', family: 4 }],
  }
  const resolver = tableResolver(table)
  const url = `http://hooks.example.com:${r.port}/hook`
  t.equal(await checkWebhookUrl(url, false, resolver), null, 'public at creation')
  // Then the name is pointed at the loopback receiver.
  table['hooks.example.com'] = [{ address: '127.0.0.1', family: 4 }]
  const { webhook, outcomes } = setup(t, { url }, { allowPrivateAddresses: false }, { resolver })
  webhook.deliver('orders', storedEvent('x', 1), 1)
  t.same(await outcomes.next(), { call: 'retryLater', key: 'x', delayMs: 1000 })
  t.equal(webhook.state().lastError, 'host hooks.example.com resolves to 127.0.0.1, loopback; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)')
  t.ok(resolver.asked.filter(h => h === 'hooks.example.com').length >= 2, 'resolved again at connect time')

  const internal = setup(t, { url: `http://internal.example.com:${r.port}/` }, { allowPrivateAddresses: false }, { resolver })
  internal.webhook.deliver('orders', storedEvent('y', 1), 1)
  t.same(await internal.outcomes.next(), { call: 'retryLater', key: 'y', delayMs: 1000 })
  t.match(internal.webhook.state().lastError, /resolves to 10\.1\.2\.3, private/)

  const unknown = setup(t, { url: `http://nowhere.test:${r.port}/` }, { allowPrivateAddresses: false }, { resolver })
  unknown.webhook.deliver('orders', storedEvent('z', 1), 1)
  t.same(await unknown.outcomes.next(), { call: 'retryLater', key: 'z', delayMs: 1000 })
  t.match(unknown.webhook.state().lastError, /^ENOTFOUND: /)
  t.equal(r.connections, 0, 'no connection reached the receiver')

  // With private addresses allowed the same lookup connects: the injected resolver is what node:http uses.
  const allowed = setup(t, { url: `http://receiver.test:${r.port}/hook` }, { allowPrivateAddresses: true }, { resolver })
  allowed.webhook.deliver('orders', storedEvent('w', 1), 1)
  t.same(await allowed.outcomes.next(), { call: 'acked', key: 'w' })
  t.equal(r.received[0].headers.host, `receiver.test:${r.port}`)
  t.equal(r.connections, 1)
})
