import t from 'tap'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import type { DeliverySink, Subscription } from '../../src/store/subscription'
import { Topic } from '../../src/store/topic'

/** A sink that records what it got, and may end another subscription while an event is delivered. */
class Sink implements DeliverySink {
  got: string[] = []
  onDeliver: (() => void) | null = null
  canDeliver (): boolean { return true }
  stalled (): boolean { return false }
  deliver (_topic: string, ev: StoredEvent): void {
    this.got.push(ev.key)
    this.onDeliver?.()
  }
}

function publish (topic: Topic, id: string): void {
  topic.publish(sealEvent(parseEvent(JSON.stringify({ id, msg: id })), id, topic.nextOffset, 0), true)
}

function counts (topic: Topic): { list: string[], size: number, owing: number, named: number } {
  return { list: topic.subscriptions.list.map(s => s.key), size: topic.subscriptions.size, owing: topic.owingSubscriptions, named: topic.namedSubscriptions }
}

t.test('a topic\'s subscription list and counts follow every subscribe, replace, end and clear', async t => {
  const topic = new Topic('t')
  t.same(counts(topic), { list: [], size: 0, owing: 0, named: 0 })
  const a = topic.subscribe('alice', true, 10, 30000)
  const b = topic.subscribeAtMostOnce('#2', 100)
  const c = topic.subscribe('#3', false, 10, 30000)
  t.same(counts(topic), { list: ['alice', '#2', '#3'], size: 3, owing: 2, named: 1 }, 'the at-most-once one is owed nothing; one is named')
  const before = topic.subscriptions.list
  topic.unsubscribe(a, 'unsub')
  t.same(counts(topic), { list: ['#2', '#3'], size: 2, owing: 1, named: 0 })
  t.same(before.map(s => s.key), ['alice', '#2', '#3'], 'a list taken before the change is left as it was')
  topic.subscriptions.set(c.key, b) // a key given another subscription (tests set the map directly)
  t.same(counts(topic), { list: ['#2', '#2'], size: 2, owing: 0, named: 0 }, 'the list holds the new one (its own key is #2)')
  t.equal(topic.subscriptions.delete('nobody'), false)
  topic.subscriptions.clear()
  t.same(counts(topic), { list: [], size: 0, owing: 0, named: 0 })
})

t.test('an event goes to the subscriptions of its publish; one that ends during the fan-out is skipped, one that comes gets the next', async t => {
  const topic = new Topic('t')
  const first = new Sink()
  const second = new Sink()
  const s1 = topic.subscribeAtMostOnce('#1', 100)
  const s2 = topic.subscribeAtMostOnce('#2', 100)
  s1.attach(first)
  s2.attach(second)
  let late: Subscription | null = null
  const third = new Sink()
  first.onDeliver = () => {
    topic.unsubscribe(s2, 'unsub')
    late = topic.subscribeAtMostOnce('#3', 100)
    late.attach(third)
    first.onDeliver = null
  }
  t.equal(topic.publish(sealEvent(parseEvent('{"id":"e1","msg":1}'), 'e1', topic.nextOffset, 0), true), 2, 'two subscriptions when it was published')
  t.same(first.got, ['e1'])
  t.same(second.got, [], 'ended during the fan-out: not delivered')
  t.same(third.got, [], 'came during the fan-out: not part of that publish')
  publish(topic, 'e2')
  t.same(first.got, ['e1', 'e2'])
  t.same(third.got, ['e2'])
  t.same(second.got, [])
})
