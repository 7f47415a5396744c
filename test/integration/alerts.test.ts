import t from 'tap'
import { startLoggedBroker } from '../helpers/auth'
import { waitFor } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import { Receiver, verifyWithStandardWebhooks } from '../helpers/webhookReceiver'
import { startBroker } from '../../src/broker'

const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
const CHECK_MS = 1000

/** Alert rules POST to a real local receiver; time moves on a manual clock, so every evaluation is the test's. */
async function setup (t: { teardown: (fn: () => unknown) => void }, alerts: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  const receiver = await Receiver.start()
  t.teardown(() => receiver.close())
  const clock = new ManualClock(Date.now())
  const rules = alerts.map(a => ({ webhook: receiver.url('/alerts'), secret: SECRET, ...a }))
  const tb = await startLoggedBroker(t, { alerts: rules as never, alertCheckMs: CHECK_MS, webhooks: { allowPrivateAddresses: true }, ...extra }, clock)
  t.teardown(() => tb.broker.stop())
  /** Runs one evaluation (as the timer does) and waits for it and its POSTs. */
  const check = async (): Promise<void> => {
    await tb.broker.alerts!.idle() // one the timer started earlier, so the next one reads the new time
    clock.advance(CHECK_MS)
    await tb.broker.alerts!.evaluate()
  }
  const bodies = (): Array<Record<string, unknown>> => receiver.received.map(r => verifyWithStandardWebhooks(SECRET, r, clock.now()) as Record<string, unknown>)
  return { receiver, clock, tb, check, bodies }
}

t.test('pending > N fires once per topic, stays quiet while firing, resolves once; logged and signed', async t => {
  const { receiver, tb, check, bodies } = await setup(t, [{ when: 'pending > 2', topic: 'orders.*' }])
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub orders.eu {"msg":"create"}')
  await p.request('pub other {"msg":"create"}')
  await s.request('sub orders.eu 1')
  const o = await tb.client()
  await o.request('sub other 1')
  for (let i = 0; i < 4; i++) {
    await p.request(`pub orders.eu {"id":"e${i}","msg":${i}}`)
    await p.request(`pub other {"msg":${i}}`)
  }
  await check()
  t.equal(receiver.received.length, 1, 'one POST: other is not watched')
  const fired = bodies()[0]
  t.match(fired, { type: 'ackline.alert', status: 'firing', when: 'pending > 2', topic: 'orders.eu', rule: 'orders.*', value: 3, threshold: 2 })
  t.equal(receiver.received[0].method, 'POST')
  t.equal(receiver.received[0].url, '/alerts')
  t.match(receiver.received[0].headers['webhook-id'], /^alert_0_\d+_firing_/)
  t.match(tb.logs.filter(l => l.msg === 'alert firing'), [{ level: 40, alert: 'pending > 2', topic: 'orders.eu', value: 3 }], 'logged at warn')
  t.same(tb.broker.alerts!.active, ['0:orders.eu'])

  for (let i = 0; i < 5; i++) await check()
  t.equal(receiver.received.length, 1, 'still firing: nothing more is sent')
  await p.request('pub orders.eu {"msg":"more"}')
  await check()
  t.equal(receiver.received.length, 1, 'a higher value while firing sends nothing either')

  // Consume until 2 are pending: each ack lets the next one in flight.
  t.match((await s.event()).event, { id: 'e0' })
  s.send('ack orders.eu e0')
  t.equal(await s.next(), 'OK acked e0 on orders.eu')
  t.match((await s.event()).event, { id: 'e1' })
  s.send('ack orders.eu e1')
  t.equal(await s.next(), 'OK acked e1 on orders.eu')
  await waitFor(() => tb.broker.store.topic('orders.eu')!.subscriptions.values().next().value!.pending === 2, 'two pending')
  await check()
  t.equal(receiver.received.length, 2)
  t.match(bodies()[1], { status: 'resolved', topic: 'orders.eu', value: 2, since: fired.since })
  t.match(tb.logs.filter(l => l.msg === 'alert resolved'), [{ level: 40, topic: 'orders.eu', value: 2 }])
  t.same(tb.broker.alerts!.active, [])
  await check()
  t.equal(receiver.received.length, 2, 'resolved once')
})

t.test('dlq > 0 fires when a dead letter arrives and resolves when it is requeued', async t => {
  const { receiver, tb, check, bodies } = await setup(t, [{ when: 'dlq > 0', topic: 'jobs' }], { maxDeliveries: 1 })
  const c = await tb.client()
  await c.request('pub jobs {"msg":"create"}')
  await c.request('sub jobs')
  await c.request('pub jobs {"id":"j1","msg":1}')
  await c.event()
  await check()
  t.equal(receiver.received.length, 0, 'no dead letters yet')
  t.match(await c.request('nack jobs j1'), /moved to jobs\.dlq/)
  await check()
  t.match(bodies(), [{ status: 'firing', when: 'dlq > 0', topic: 'jobs', value: 1 }], 'the source topic is named, not jobs.dlq')
  const ops = await tb.client()
  t.equal(await ops.request('requeue jobs.dlq all'), 'OK requeued 1 dead letter from jobs.dlq to jobs (0 left)')
  await check()
  t.match(bodies()[1], { status: 'resolved', topic: 'jobs', value: 0 })
})

t.test('oldestPendingMs and diskFreeBytes; a failed POST is retried with the same webhook-id', async t => {
  const { receiver, clock, tb, check, bodies } = await setup(t, [
    { when: 'oldestPendingMs > 5000' },
    { when: 'diskFreeBytes < 999999999999999' },
  ])
  receiver.plan = [{ status: 500 }]
  const c = await tb.client()
  await c.request('pub slow {"msg":"create"}')
  await c.request('name s')
  await c.request('sub slow')
  await c.request('pub slow {"msg":"waits"}')
  await c.event()
  await check()
  t.equal(receiver.received.length, 1, 'the disk alert, refused with 500')
  t.match(bodies()[0], { status: 'firing', when: 'diskFreeBytes < 999999999999999', topic: null })
  clock.advance(5000)
  await check()
  t.equal(receiver.received.length, 3, 'the retry, then the new alert')
  t.equal(receiver.received[1].headers['webhook-id'], receiver.received[0].headers['webhook-id'], 'the retry carries the same webhook-id')
  t.match(bodies()[2], { status: 'firing', when: 'oldestPendingMs > 5000', topic: 'slow' })
  t.ok((bodies()[2].value as number) > 5000)
  t.match(tb.logs.filter(l => l.msg === 'alert webhook failed; retrying at the next check'), [{ level: 40, error: 'HTTP 500' }])
  await check()
  t.equal(receiver.received.length, 3, 'the disk alert stays firing without repeats')
})

t.test('rules are checked at start-up', async t => {
  const base = { logDir: '/nonexistent-never-used', port: 0, http: null }
  const start = (rule: Record<string, unknown>): Promise<unknown> => startBroker({ overrides: { ...base, alerts: [{ when: 'pending > 1', webhook: 'http://x', secret: SECRET, ...rule }] } as never })
  await t.rejects(start({ webhook: 'ftp://x' }), { name: 'ConfigError', message: 'invalid config in overrides: alerts[0].webhook must be a match of ^https?://' })
  await t.rejects(start({ webhook: 'http://x y' }), { name: 'ConfigError', message: 'invalid config: alerts[0].webhook url is not an absolute URL' })
  await t.rejects(start({ secret: 'whsec_abc' }), { name: 'ConfigError', message: /^invalid config: alerts\[0\]\.secret secret must be whsec_ followed by standard base64/ })
  await t.rejects(start({ secret: 'whsec_' + Buffer.alloc(8).toString('base64') }), { message: 'invalid config: alerts[0].secret secret must encode 24 to 64 bytes, got 8' })
  await t.rejects(start({ when: 'pending >= 1' }), { name: 'ConfigError', message: /alerts\[0\]\.when must be "<figure> > N" or "<figure> < N", figure one of dlq, pending, inFlight, oldestPendingMs, diskFreeBytes/ })
  await t.rejects(start({ when: 'pending > 1', secret: undefined }), { name: 'ConfigError', message: /secret/ })
})
