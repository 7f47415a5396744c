import t from 'tap'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import { Subscription, type DeliverySink } from '../../src/store/subscription'
import { Topic } from '../../src/store/topic'

class Sink implements DeliverySink {
  got: Array<[string, number]> = []
  open = true
  ended?: (s: Subscription, reason: string) => void
  canDeliver (): boolean { return this.open }
  stalled (): boolean { return !this.open }
  deliver (_topic: string, ev: StoredEvent, deliveries: number): void { this.got.push([ev.key, deliveries]) }
}

function publish (topic: Topic, id: string, priority: number): StoredEvent {
  const ev = sealEvent(parseEvent(JSON.stringify({ id, priority, msg: id })), id, topic.nextOffset, 0)
  topic.publish(ev, true)
  return ev
}

/** Every offset a subscription holds, as [id, deliveries] in delivery order: delivered ones first, then waiting. */
function held (sub: Subscription): Array<[string, number]> {
  const out: Array<[string, number]> = sub.delivered().map(d => [d.ev.key, d.deliveries])
  const w = sub.waiting.clone()
  for (let o = w.shift(); o >= 0; o = w.shift()) out.push([sub.topic.eventAt(o)!.key, 0])
  return out
}

function setup (cap: number, named = false): { topic: Topic, sub: Subscription, sink: Sink } {
  const topic = new Topic('t')
  const sub = new Subscription(topic, named ? 'alice' : '#1', named, cap, 30000)
  topic.subscriptions.set(sub.key, sub)
  const sink = new Sink()
  sub.attach(sink)
  return { topic, sub, sink }
}

t.test('in-flight cap holds the rest; acks release by priority, then publish order', async t => {
  const { topic, sub, sink } = setup(2)
  publish(topic, 'a', 1)
  publish(topic, 'b', 1)
  publish(topic, 'c', 1)
  publish(topic, 'd', 5)
  publish(topic, 'e', 9)
  publish(topic, 'f', 5)
  t.same(sink.got.map(g => g[0]), ['a', 'b'], 'only maxInFlight delivered')
  t.equal(sub.pending, 4)
  t.equal(sub.inFlight.size, 2)
  t.ok(sub.ack('a')); sub.pump()
  t.ok(sub.ack('b')); sub.pump()
  t.same(sink.got.map(g => g[0]), ['a', 'b', 'e', 'd'])
  t.ok(sub.ack('e')); sub.pump()
  t.ok(sub.ack('d')); sub.pump()
  t.ok(sub.ack('f')); sub.pump()
  t.same(sink.got.map(g => g[0]), ['a', 'b', 'e', 'd', 'f', 'c'])
  t.notOk(sub.ack('zzz'), 'unknown id')
  t.notOk(sub.ack('a'), 'already acked')
  t.ok(sub.ack('c'))
  t.equal(topic.lowestOwed(), Infinity, 'acked events are owed to no one')
  t.notOk(topic.holds(1, 'a'), 'nor held')
})

t.test('a sink that cannot take more holds deliveries until pumped', async t => {
  const { topic, sub, sink } = setup(10)
  sink.open = false
  publish(topic, 'a', 0)
  publish(topic, 'b', 3)
  t.same(sink.got, [])
  sink.open = true
  sub.pump()
  t.same(sink.got, [['b', 1], ['a', 1]])
})

t.test('detach owes a redelivery; it comes first with a delivery count', async t => {
  const { topic, sub, sink } = setup(2, true)
  publish(topic, 'a', 0)
  publish(topic, 'b', 0)
  publish(topic, 'c', 9)
  sub.detach()
  publish(topic, 'd', 9)
  t.same(held(sub), [['a', 1], ['b', 1], ['c', 0], ['d', 0]], 'delivered ones first, then waiting ones by priority and offset')
  const sink2 = new Sink()
  sub.attach(sink2)
  sub.pump()
  t.same(sink2.got, [['a', 2], ['b', 2]], 'unacked events first, marked as redelivered')
  sub.ack('a'); sub.pump()
  t.same(sink2.got.slice(2), [['c', 1]])
  t.equal(sink.got.length, 2)
})

t.test('destroy releases every event; shared events stay for other subscribers', async t => {
  const { topic, sub } = setup(1)
  const other = new Subscription(topic, '#2', false, 5, 30000)
  topic.subscriptions.set(other.key, other)
  publish(topic, 'a', 0)
  publish(topic, 'b', 0)
  t.ok(topic.holds(1, 'a') && topic.holds(2, 'b'))
  topic.unsubscribe(sub, 'unsub')
  t.equal(sub.pending + sub.inFlight.size, 0, 'the ended subscription holds nothing')
  t.ok(topic.holds(1, 'a') && topic.holds(2, 'b'), 'still held by the other subscription')
  t.equal(topic.lowestOwed(), 1)
  topic.unsubscribe(other, 'unsub')
  t.equal(topic.lowestOwed(), Infinity)
  t.notOk(topic.holds(1, 'a'))
})

t.test('Topic.unsubscribe: the one end of a subscription tells the observer and the sink once, and leaves the deadline watch', async t => {
  const timed = new Set<Subscription>()
  const told: string[] = []
  const observer = {
    topicCreated: () => {},
    delivered: () => {},
    ended: (s: Subscription, reason: string) => { told.push(`observer ${s.key} ${reason}`); return 7 },
  }
  const topic = new Topic('t', { observer, timed, clock: { now: () => 0 } as never, cache: null, pendingBytes: 0 })
  const sub = topic.subscribe('alice', true, 1, 30000)
  const sink = new Sink()
  sink.ended = (s: Subscription, reason: string): void => { told.push(`sink ${s.key} ${reason}`) }
  sub.attach(sink)
  publish(topic, 'a', 0)
  t.ok(timed.has(sub), 'an event in flight: watched')
  t.equal(topic.unsubscribe(sub, 'revoked'), 7, 'the observer\'s ticket comes back')
  t.same(told, ['observer alice revoked', 'sink alice revoked'])
  t.notOk(topic.subscriptions.has('alice'))
  t.notOk(timed.has(sub), 'no longer watched')
  t.ok(sub.ended)
  t.equal(topic.unsubscribe(sub, 'unsub'), 0, 'a second end does nothing')
  t.equal(told.length, 2)
})

t.test('broker-assigned ids skip ids still pending', async t => {
  const { topic } = setup(5)
  publish(topic, '1', 0)
  publish(topic, '2', 0)
  t.equal(topic.assignId(), 3)
  t.equal(topic.assignId(), 4)
})

t.test('an ack and the refill it makes use the time the caller read (one clock read per ack); without one they read the clock', async t => {
  let reads = 0
  let time = 1000
  const clock = { now: (): number => { reads++; return time } }
  const topic = new Topic('t', { observer: null, timed: new Set(), clock: clock as never, cache: null, pendingBytes: 0 })
  const sub = topic.subscribe('#1', false, 1, 30000)
  const sink = new Sink()
  sub.attach(sink)
  publish(topic, 'a', 0)
  publish(topic, 'b', 0)
  publish(topic, 'c', 0)
  reads = 0
  time = 2000
  t.ok(sub.ack('a', undefined, 5000))
  sub.pump(5000)
  t.equal(reads, 0, 'neither the ack nor the refill read the clock')
  t.equal(sub.lastAckAt, 5000, 'the ack time is the one given')
  t.equal(sub.inFlight.get('b')?.deadline, 5000 + 30000, 'the refilled delivery\'s deadline runs from it')
  t.ok(sub.ack('b'))
  t.equal(reads, 1, 'an ack without a time reads the clock')
  t.equal(sub.lastAckAt, 2000)
  sub.pump()
  t.equal(reads, 2, 'so does a pump without one')
  t.equal(sub.inFlight.get('c')?.deadline, 2000 + 30000)
  t.same(sink.got.map(g => g[0]), ['a', 'b', 'c'])
})

t.test('a subscription with a delivery in flight is watched for its deadline: added when its first goes out, after the sweep let go of it', async t => {
  const timed = new Set<Subscription>()
  const topic = new Topic('t', { observer: null, timed, clock: { now: () => 0 } as never, cache: null, pendingBytes: 0 })
  const sub = topic.subscribe('#1', false, 2, 30000)
  sub.attach(new Sink())
  const sweep = (): void => { if (!sub.timed) timed.delete(sub) } // what Redelivery.sweep does with a subscription without deadlines
  publish(topic, 'a', 0) // straight out (enqueue)
  t.ok(timed.has(sub), 'watched from its first delivery')
  publish(topic, 'b', 0)
  publish(topic, 'c', 0)
  sub.ack('a')
  sweep()
  t.ok(timed.has(sub), 'still watched while something is in flight')
  sub.pump() // 'c' goes out (a refill)
  sub.ack('b')
  sub.ack('c')
  sweep()
  t.notOk(timed.has(sub), 'nothing in flight: let go')
  publish(topic, 'd', 0)
  t.ok(timed.has(sub), 'watched again from the next delivery (enqueue)')
  sub.ack('d')
  sweep()
  t.notOk(timed.has(sub))
  sub.detach()
  publish(topic, 'e', 0)
  t.notOk(timed.has(sub), 'nothing delivered while detached')
  sub.attach(new Sink())
  sub.pump()
  t.ok(timed.has(sub), 'watched again from the next delivery (pump)')
  const d = sub.takeBack('e')!
  sweep()
  t.notOk(timed.has(sub))
  sub.delay(d, 5)
  t.ok(timed.has(sub), 'a nacked delivery with a delay is watched too')
})
