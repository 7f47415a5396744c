import t from 'tap'
import { InFlight, eventLookupKey, lookupKey } from '../../src/store/inFlight'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import type { Delivery, DeliverySink } from '../../src/store/subscription'
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
  const a = { ev: event(7, 1), deliveries: 1, deadline: 0, seq: 1 }
  const b = { ev: event('x', 2), deliveries: 1, deadline: 0, seq: 2 }
  const c = { ev: event('07', 3), deliveries: 2, deadline: 0, seq: 3 }
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
  t.same([...f.keys()].sort(), ['07', '7', 'x'])
  t.same([...f].map(([k, d]) => [k, d.ev.offset]).sort(), [['07', 3], ['7', 1], ['x', 2]])
  t.same([...f.values()].sort((x, y) => x.seq - y.seq), [a, b, c])
  for (const d of f.values()) f.deleteEvent(d.ev) // deleting while iterating (commit does) sees every entry once
  t.equal(f.size, 0)
  f.add(a)
  f.add(b)
  f.add(c)
  t.equal(f.take('7'), a)
  t.equal(f.take('7'), undefined)
  f.add(a)
  t.ok(f.delete('7'))
  t.notOk(f.delete('7'))
  t.equal(f.take('x'), b)
  t.equal(f.take('x'), undefined)
  f.add(b)
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

function rng (seed: number): (n: number) => number {
  return (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
}

t.test('InFlight agrees with a Map keyed by the id text under random adds and deletes (growing, shrinking, colliding)', async t => {
  const r = rng(11)
  const wrong: string[] = []
  for (let round = 0; round < 20; round++) {
    const f = new InFlight()
    const ref = new Map<string, Delivery>()
    // Ids near each other (a window of auto ids), past 2^32, past 15 digits, and texts.
    const base = [0, 1000, 4294967290, 999999999999000, 1e15][round % 5]
    const idOf = (x: number): string | number => x % 11 === 0 ? `t${x}` : x % 13 === 0 ? String(base + x) : base + x
    for (let k = 0; k < 4000; k++) {
      const burst = round % 2 === 0 ? 300 : 40
      const x = r(burst) + (k >> 4) * (round % 3)
      const id = idOf(x)
      const key = String(id)
      if (r(3) === 0 || ref.size > burst / 2) {
        const want = ref.get(key)
        if (f.get(key) !== want) wrong.push(`get ${key}`)
        const how = r(3)
        if (how === 0) {
          if (f.delete(key) !== (want !== undefined)) wrong.push(`delete ${key}`)
        } else if (how === 1) {
          if (f.take(key) !== want) wrong.push(`take ${key}`)
        } else if (want !== undefined) {
          f.deleteEvent(want.ev)
        }
        ref.delete(key)
      } else if (!ref.has(key)) {
        if (f.hasEventId(event(id))) wrong.push(`hasEventId ${key}`)
        const d = { ev: event(id, k + 1), deliveries: 1, deadline: 0, seq: k }
        f.add(d)
        ref.set(key, d)
      }
      if (f.size !== ref.size) wrong.push(`size at ${k}`)
      if (k % 250 === 0) {
        for (const [key2, d] of ref) if (f.get(key2) !== d || !f.has(key2)) wrong.push(`lookup ${key2} at ${k}`)
        const listed = [...f].map(([key2]) => key2).sort()
        if (JSON.stringify(listed) !== JSON.stringify([...ref.keys()].sort())) wrong.push(`keys at ${k}`)
      }
    }
    for (const key of [...ref.keys()]) { f.delete(key); ref.delete(key) }
    if (f.size !== 0 || [...f.values()].length !== 0) wrong.push(`empty at the end of round ${round}`)
  }
  t.same(wrong, [], '80,000 random operations agree with the reference')
})

t.test('expired deliveries come back in the order they were sent, whatever the table\'s order', async t => {
  let now = 1000
  const topic = new Topic('t', { observer: null, timed: new Set(), clock: { now: () => now } as never, cache: null, pendingBytes: 0 })
  const sub = topic.subscribe('#1', false, 100, 10)
  sub.attach(new Sink())
  const ids = [90, 3, 'x', 57, 12, 'a', 1000000, 4]
  for (const id of ids) topic.publish(sealEvent(parseEvent(JSON.stringify({ id, msg: 1 })), id, topic.nextOffset, 0), true)
  now += 100
  t.same(sub.takeExpired(now).map(d => d.ev.id), ids)
  t.equal(sub.inFlight.size, 0)
})
