import t, { type Test } from 'tap'
import type { StoredEvent } from '../../src/store/event'
import { Subscription } from '../../src/store/subscription'
import { Topic } from '../../src/store/topic'
import { generateSecret } from '../../src/webhooks/signature'
import { Webhook, type WebhookOutcomes } from '../../src/webhooks/webhook'
import { ManualClock } from '../helpers/clock'
import { Receiver, verifyWithStandardWebhooks } from '../helpers/webhookReceiver'
import { NO_JITTER, storedEvent, testWebhookConfig } from '../helpers/webhooks'

// A real Subscription (src/store) delivering through a Webhook as its
// DeliverySink, with an in-test outcome adapter doing what the broker's
// integration will do (ack as `ack` does, give back as Redelivery.giveBack
// does, with a sweep for due delays as Redelivery.sweep does).

/** The adapter: WebhookOutcomes on one Subscription. */
class SubscriptionOutcomes implements WebhookOutcomes {
  readonly deadLetters: Array<{ ev: StoredEvent, reason: string }> = []
  readonly disabledReasons: string[] = []
  acks = 0
  private sub!: Subscription
  private readonly clock: ManualClock

  constructor (clock: ManualClock) {
    this.clock = clock
    // Redelivery's sweep: delayed deliveries that are due go back to the front of the queue.
    clock.every(100, () => { if (this.sub.releaseDue(clock.now())) this.sub.pump() })
  }

  bind (sub: Subscription): void { this.sub = sub }

  acked = (key: string): void => {
    if (this.sub.ack(key)) this.acks++
    this.sub.pump()
  }

  retryLater = (key: string, delayMs: number): void => {
    const d = this.sub.takeBack(key)
    if (d === undefined) return
    if (delayMs > 0) this.sub.delay(d, this.clock.now() + delayMs)
    else this.sub.requeue(d)
    this.sub.pump()
  }

  deadLetter = (key: string, reason: string): void => {
    const d = this.sub.takeBack(key)
    if (d === undefined) return
    this.deadLetters.push({ ev: d.ev, reason })
    this.sub.topic.owedStale = true // the store forgets it, as Redelivery does after a dead letter
    this.sub.pump()
  }

  disabled = (reason: string): void => { this.disabledReasons.push(reason) }

  ready = (): void => this.sub.pump()
}

interface Wired { topic: Topic, sub: Subscription, webhook: Webhook, outcomes: SubscriptionOutcomes, clock: ManualClock, secret: string }

function wire (t: Test, url: string, opts: { maxInFlight: number, maxDeliveries?: number, timeoutMs?: number }): Wired {
  const clock = new ManualClock(Date.now())
  const topic = new Topic('orders', { observer: null, timed: new Set(), pendingBytes: 0, clock, cache: null })
  const config = testWebhookConfig({ timeoutMs: opts.timeoutMs ?? 10000 })
  // The subscription's ack timeout must outlast an attempt, or the sweep would take the event back mid-request.
  const sub = topic.subscribe('billing', true, opts.maxInFlight, config.timeoutMs + 1000)
  const outcomes = new SubscriptionOutcomes(clock)
  outcomes.bind(sub)
  const secret = generateSecret()
  const webhook = new Webhook({ topic: 'orders', name: 'billing', url, secret, maxInFlight: opts.maxInFlight, maxDeliveries: opts.maxDeliveries },
    { config, clock, outcomes, random: NO_JITTER })
  sub.attach(webhook)
  t.teardown(() => webhook.close())
  return { topic, sub, webhook, outcomes, clock, secret }
}

function publish (topic: Topic, id: string): StoredEvent {
  const offset = topic.nextOffset
  const ev = storedEvent(id, offset, { msg: { n: offset, text: `event ${id}` } })
  topic.publish(ev, true)
  return ev
}

/** Every request the receivers got verifies with the standardwebhooks verifier, at its own timestamp. */
function allVerify (t: Test, secret: string, receivers: Receiver[]): void {
  let n = 0
  for (const r of receivers) {
    for (const got of r.received) {
      t.doesNotThrow(() => verifyWithStandardWebhooks(secret, got, Number(got.headers['webhook-timestamp']) * 1000), `request ${++n} verifies`)
    }
  }
}

/** Waits (real time, for real I/O) until cond holds. */
async function until (cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

t.test('a receiver that fails every way and recovers: no event lost, one webhook-id per event, every signature verifies', async t => {
  let r = await Receiver.start()
  const port = r.port
  t.teardown(async () => await r.close())
  const { topic, sub, webhook, outcomes, clock, secret } = wire(t, r.url(), { maxInFlight: 3, timeoutMs: 5000 })
  const ids = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6']

  // 500 for the three in flight: one counted failure, each event waits 1 s, the webhook pauses 1 s.
  r.plan = [{ status: 500 }, { status: 500 }, { status: 500 }]
  for (const id of ids) publish(topic, id)
  t.equal(sub.inFlight.size, 3, 'the in-flight cap holds the rest')
  await until(() => sub.inFlight.size === 0, 'three failures')
  t.match(webhook.state(), { consecutiveFailures: 1, lastStatus: 500, nextAttemptAt: clock.now() + 1000 })
  t.equal(sub.pending, 6, 'all six still held by the subscription')

  // 429 with Retry-After: 3 for the probe (waited 3.3 s: jitter only lengthens it, by up to 20 %, here 10 %).
  r.plan = [{ status: 429, headers: { 'retry-after': '3' } }]
  clock.advance(1000)
  await until(() => r.received.length === 4 && sub.inFlight.size === 0, 'the probe after 1 s')
  t.match(webhook.state(), { consecutiveFailures: 2, lastStatus: 429, nextAttemptAt: clock.now() + 3300 })

  // A receiver that never answers: the next probe times out after 5 s.
  r.plan = ['hang']
  clock.advance(3300)
  await until(() => r.received.length === 5, 'the probe after Retry-After')
  clock.advance(5000)
  await until(() => sub.inFlight.size === 0, 'the timeout')
  t.match(webhook.state(), { consecutiveFailures: 3, lastStatus: null, lastError: 'no response within 5000 ms (webhooks.timeoutMs)' })
  t.equal(webhook.state().nextAttemptAt, clock.now() + 30000, '3rd failure: 30 s')

  // The receiver goes away: connection refused.
  const first = r
  await r.close()
  await new Promise(resolve => setTimeout(resolve, 20)) // the webhook's idle keep-alive socket sees the close
  clock.advance(30000)
  await until(() => webhook.state().consecutiveFailures === 4, 'connection refused')
  t.match(webhook.state(), { lastError: /ECONNREFUSED/, nextAttemptAt: clock.now() + 120000 })

  // It comes back on the same port, answering 410 Gone: the webhook is disabled, nothing is lost.
  r = await Receiver.start(undefined, port)
  r.plan = [{ status: 410 }]
  clock.advance(120000)
  await until(() => outcomes.disabledReasons.length === 1, '410')
  t.match(webhook.state(), { disabled: true, lastStatus: 410 })
  t.equal(sub.pending, 6, 'a disabled webhook keeps its events')
  t.equal(sub.inFlight.size, 0)
  clock.advance(3600000)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(r.received.length, 1, 'nothing is sent while disabled')

  // Enabled again, with a healthy receiver: everything is delivered.
  webhook.enable()
  await until(() => outcomes.acks === 6, 'all six acked')
  t.equal(sub.pending, 0)
  t.equal(sub.inFlight.size, 0)
  t.equal(topic.info().pending, 0, 'the topic owes nothing: each event was acked exactly once')
  t.match(webhook.state(), { consecutiveFailures: 0, delivered: 6, disabled: false })

  // What the receivers saw: every request signed, every event there, one webhook-id per event.
  t.equal(first.received.length, 5)
  allVerify(t, secret, [first, r])
  const byEvent = new Map<string, Set<string>>()
  for (const got of [...first.received, ...r.received]) {
    const body = verifyWithStandardWebhooks(secret, got, Number(got.headers['webhook-timestamp']) * 1000) as { id: string }
    const seen = byEvent.get(body.id) ?? new Set<string>()
    seen.add(got.headers['webhook-id'] as string)
    byEvent.set(body.id, seen)
  }
  t.same([...byEvent.keys()].sort(), ids, 'every event arrived')
  for (const [id, seen] of byEvent) t.equal(seen.size, 1, `${id}: one webhook-id across its attempts`)
  t.equal(new Set([...byEvent.values()].map(s => [...s][0])).size, ids.length, 'different events, different ids')
})

t.test('webhook state for the API: the webhook\'s fields plus the subscription\'s pending count', async t => {
  const r = await Receiver.start()
  t.teardown(async () => await r.close())
  r.plan = ['hang']
  const { topic, sub, webhook, secret } = wire(t, r.url(), { maxInFlight: 1 })
  publish(topic, 'a')
  publish(topic, 'b')
  await r.waitFor(1)
  const listed = { ...webhook.state(), pending: sub.pending }
  t.match(listed, { name: 'billing', topic: 'orders', inFlight: 1, pending: 1, consecutiveFailures: 0, nextAttemptAt: null, disabled: false })
  r.release(200)
  await until(() => sub.pending === 0 && sub.inFlight.size === 0, 'both delivered')
  allVerify(t, secret, [r])
})

t.test('maxDeliveries through the subscription: the delivery count is the store\'s, the dead letter leaves the queue', async t => {
  const r = await Receiver.start()
  t.teardown(async () => await r.close())
  r.plan = [{ status: 500 }, { status: 500 }, { status: 500 }]
  const { topic, sub, outcomes, clock, secret } = wire(t, r.url(), { maxInFlight: 1, maxDeliveries: 3 })
  publish(topic, 'poison')
  await until(() => r.received.length === 1 && sub.inFlight.size === 0, 'delivery 1')
  clock.advance(1000)
  await until(() => r.received.length === 2 && sub.inFlight.size === 0, 'delivery 2')
  clock.advance(5000)
  await until(() => outcomes.deadLetters.length === 1, 'dead letter')
  t.equal(r.received.length, 3)
  t.match(r.received[2].body.toString(), /,"deliveries":3}$/, 'the store counted the deliveries')
  t.equal(outcomes.deadLetters[0].ev.key, 'poison')
  t.equal(outcomes.deadLetters[0].reason, 'webhook billing: HTTP 500 Internal Server Error')
  t.equal(sub.pending + sub.inFlight.size, 0)
  t.equal(topic.info().pending, 0)
  // The next event flows (after the webhook's own back-off).
  publish(topic, 'fine')
  clock.advance(30000)
  await until(() => outcomes.acks === 1, 'the next event')
  allVerify(t, secret, [r])
})
