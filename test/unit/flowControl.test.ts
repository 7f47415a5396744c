import t from 'tap'
import { FlowControl } from '../../src/manager/flowControl'
import type { Session } from '../../src/manager/session'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import type { DeliverySink } from '../../src/store/subscription'
import { Topic } from '../../src/store/topic'

const sink: DeliverySink = { canDeliver: () => true, stalled: () => false, deliver: () => {} }

function publish (topic: Topic, id: string): StoredEvent {
  const ev = sealEvent(parseEvent(JSON.stringify({ id, msg: id })), id, topic.nextOffset, 0)
  topic.publish(ev, true)
  return ev
}

t.test('progressed(topic, now) judges with the time the ack read: no clock read of its own', async t => {
  let reads = 0
  const time = 1_000_000
  const clock = { now: (): number => { reads++; return time }, after: () => ({ cancel: () => {} }), every: () => ({ cancel: () => {} }) }
  const topic = new Topic('t', { observer: null, timed: new Set(), clock, cache: null, pendingBytes: 0 })
  const sub = topic.subscribe('#1', false, 1, 30000)
  sub.attach(sink)
  for (const id of ['a', 'b', 'c', 'd', 'e']) publish(topic, id) // 1 in flight, 4 waiting
  sub.lastAckAt = time // active
  const resumed: Session[] = []
  const flow = new FlowControl(2, 1000, s => resumed.push(s), clock)
  const publisher = { throttled: false } as unknown as Session
  flow.afterPublish(publisher, topic)
  t.ok(publisher.throttled, 'held: an active subscriber is 4 behind, past 2')
  reads = 0
  flow.progressed(topic, time + 10)
  t.equal(reads, 0, 'a given time: no read')
  t.ok(publisher.throttled, 'still held: the subscriber is past half the limit and acked 10 ms ago')
  flow.progressed(topic, time + 1000)
  t.equal(reads, 0)
  t.notOk(publisher.throttled, 'released: by the time given, the subscriber has not acked for publishHoldMaxMs')
  t.same(resumed, [publisher])
  flow.afterPublish(publisher, topic)
  t.ok(publisher.throttled, 'held again')
  reads = 0
  flow.progressed(topic)
  t.equal(reads, 1, 'no time given: the clock is read')
  t.ok(publisher.throttled)
})
