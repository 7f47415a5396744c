import t from 'tap'
import { InFlight, eventLookupKey, lookupKey } from '../../src/store/inFlight'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import type { DeliverySink } from '../../src/store/subscription'
import { Topic } from '../../src/store/topic'

function event (id: string | number, offset = 1): StoredEvent {
  return sealEvent(parseEvent(JSON.stringify({ id, msg: 1 })), id, offset, 0)
}

t.test('lookupKey: numbers for canonical non-negative integers of up to 15 digits, the text otherwise', async t => {
  t.equal(lookupKey('0'), 0)
  t.equal(lookupKey('7'), 7)
  t.equal(lookupKey('123456'), 123456)
  t.equal(lookupKey('999999999999999'), 999999999999999, '15 digits')
  t.equal(lookupKey('1000000000000000'), '1000000000000000', '16 digits stay text')
  t.equal(lookupKey('07'), '07', 'a leading zero is another text than 7')
  t.equal(lookupKey('00'), '00')
  t.equal(lookupKey('-5'), '-5')
  t.equal(lookupKey('+5'), '+5')
  t.equal(lookupKey('5a'), '5a')
  t.equal(lookupKey('1.5'), '1.5')
  t.equal(lookupKey(''), '')
  t.equal(lookupKey('e7'), 'e7')
})

t.test('an event\'s lookup key is lookupKey of its key text, whatever form its id has', async t => {
  for (const id of [0, 7, 123456, 999999999999999, 1000000000000000, -5, '7', '07', '-5', 'abc', '123456', 9007199254740991]) {
    const ev = event(id)
    t.equal(eventLookupKey(ev), lookupKey(ev.key), `id ${JSON.stringify(id)}`)
  }
  const odd: StoredEvent = { ...event(1), id: 1.5, key: '1.5' } // not an integer (no valid event has one): by its text
  t.equal(eventLookupKey(odd), '1.5')
})

t.test('InFlight reads like a Map keyed by the id text', async t => {
  const f = new InFlight()
  const a = { ev: event(7, 1), deliveries: 1, deadline: 0 }
  const b = { ev: event('x', 2), deliveries: 1, deadline: 0 }
  const c = { ev: event('07', 3), deliveries: 2, deadline: 0 }
  f.add(a)
  f.add(b)
  f.add(c)
  t.equal(f.size, 3)
  t.equal(f.get('7'), a)
  t.equal(f.get('07'), c, '07 is not 7')
  t.equal(f.get('x'), b)
  t.equal(f.get('007'), undefined)
  t.ok(f.has('7') && f.has('x') && !f.has('8'))
  t.ok(f.hasEventId(event('7', 9)), 'an event with the text id "7" has the same id as one with the number 7')
  t.notOk(f.hasEventId(event(70, 9)))
  t.same([...f.keys()], ['7', 'x', '07'])
  t.same([...f].map(([k, d]) => [k, d.ev.offset]), [['7', 1], ['x', 2], ['07', 3]])
  t.same([...f.values()], [a, b, c])
  t.ok(f.delete('7'))
  t.notOk(f.delete('7'))
  f.deleteEvent(c.ev)
  t.same([...f.keys()], ['x'])
  f.clear()
  t.equal(f.size, 0)
})

class Sink implements DeliverySink {
  got: string[] = []
  canDeliver (): boolean { return true }
  stalled (): boolean { return false }
  deliver (_topic: string, ev: StoredEvent): void { this.got.push(JSON.stringify(ev.id)) }
}

t.test('a subscription keeps one event per id text in flight: the number 7 and the text "7" are the same id to ack, "07" is not', async t => {
  const topic = new Topic('t')
  const sub = topic.subscribe('#1', false, 10, 30000)
  const sink = new Sink()
  sub.attach(sink)
  for (const id of [7, '7', '07']) {
    const ev = sealEvent(parseEvent(JSON.stringify({ id, msg: 1 })), id, topic.nextOffset, 0)
    topic.publish(ev, true)
  }
  t.same(sink.got, ['7'], 'the text "7" waits (and what is behind it) while the number 7 is in flight')
  t.notOk(sub.ack('007'))
  t.notOk(sub.ack('07'), '07 is not in flight')
  t.equal(sub.ack('7')?.ev.id, 7, 'ack 7 acks the number 7')
  sub.pump()
  t.same(sink.got, ['7', '"7"', '"07"'], 'then the text "7" goes out, and "07" with it')
  t.equal(sub.ack('07')?.ev.id, '07')
  t.equal(sub.ack('7')?.ev.id, '7')
  t.equal(sub.inFlight.size, 0)
})
