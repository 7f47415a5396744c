import t from 'tap'
import { parseEvent, sealEvent } from '../../src/store/event'
import { EventQueue } from '../../src/store/eventQueue'

/** The reference: what sealEvent produced before it built the JSON field by field. */
function reference (text: string, id: string | number, now: number): string {
  const parsed = parseEvent(text)
  const body: Record<string, unknown> = { id, priority: parsed.priority, ...parsed.body }
  body.id = id
  body.priority = parsed.priority
  body.timestamp = now
  return JSON.stringify(body)
}

t.test('sealEvent gives the same JSON as serializing { id, priority, ...body, timestamp }', async t => {
  const cases = [
    '{"msg":1}',
    '{"priority":3,"msg":{"t":1.5,"p":"xx"}}',
    '{"msg":1,"timestamp":5,"z":2}',
    '{"a":1,"msg":2,"id":"x","priority":2}',
    '{"__proto__":{"a":1},"msg":1}',
    '{"2":1,"1":0,"msg":"u\\u2028\\ud800"}',
    '{"msg":null,"id":7,"timestamp":"a","extra":[1,{"b":2}],"q\\"k":"\\n"}',
    '{"msg":{"nested":{"deep":[true,false,null,-0,1e21,0.1]}},"é":"ü","😀":1}',
    '{"id":-0,"msg":0}',
  ]
  for (const text of cases) {
    const parsed = parseEvent(text)
    const id = parsed.id ?? 42
    const ev = sealEvent(parsed, id, 1, 1763901234567)
    t.equal(ev.json, reference(text, id, 1763901234567), text)
    t.equal(ev.key, String(id))
    t.same(JSON.parse(ev.json).timestamp, 1763901234567)
  }
})

t.test('EventQueue: priority first, publish order within a priority, late older events inserted in order', async t => {
  const q = new EventQueue()
  const ev = (priority: number, seq: number) => ({ id: seq, key: String(seq), priority, seq, json: '{}', refs: 1 })
  for (const [p, s] of [[1, 1], [5, 2], [1, 3], [9, 4], [5, 5], [1, 0], [5, 1]]) q.queue(ev(p, s))
  t.equal(q.length, 7)
  t.same(q.toArray().map(e => [e.priority, e.seq]), [[9, 4], [5, 1], [5, 2], [5, 5], [1, 0], [1, 1], [1, 3]])
  t.same([q.dropLowest()!.seq, q.length], [0, 6])
  t.same([q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq], [4, 1, 2])
  q.queue(ev(9, 9))
  t.same([q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq], [9, 5, 1, 3])
  t.equal(q.dequeue(), undefined)
  t.equal(q.dropLowest(), undefined)
  t.equal(q.length, 0)
})

t.test('EventQueue: recovery adds in any order, sortAll restores delivery order', async t => {
  const q = new EventQueue()
  const ev = (priority: number, seq: number) => ({ id: seq, key: String(seq), priority, seq, json: '{}', refs: 1 })
  for (const [p, s] of [[2, 9], [2, 3], [7, 8], [2, 5], [7, 1]]) q.queueUnsorted(ev(p, s))
  q.sortAll()
  t.same(q.toArray().map(e => e.seq), [1, 8, 3, 5, 9])
  q.queue(ev(2, 10))
  t.same([q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq, q.dequeue()!.seq], [1, 8, 3, 5, 9, 10])
  t.equal(q.length, 0)
})
