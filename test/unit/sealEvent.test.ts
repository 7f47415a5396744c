import t from 'tap'
import { deadLetterEvent, parseEvent, sealEvent } from '../../src/store/event'
import { objectMembers } from '../../src/store/jsonText'
import { decodeLine } from '../../src/persistence/segmentCodec'

/**
 * The reference: the publisher's text between its outer braces, verbatim,
 * after the broker's id (when absent) and priority (when absent), then the
 * broker's timestamp and offset.
 */
function reference (text: string, id: string | number, now: number, offset: number): string {
  const parsed = parseEvent(text)
  const inner = text.trim().slice(1, -1)
  const head = (parsed.id === undefined ? `"id":${JSON.stringify(id)},` : '') + (parsed.hasPriority ? '' : '"priority":0,')
  return `{${head}${inner},"timestamp":${now},"offset":${offset}}`
}

t.test('sealEvent keeps the publisher\'s members byte for byte, in the order sent', async t => {
  const cases = [
    '{"msg":1}',
    '{"priority":3,"msg":{"t":1.5,"p":"xx"}}',
    '{"msg":1,"z":2,"#seq":7}',
    '{"a":1,"msg":2,"id":"x","priority":2}',
    '{"__proto__":{"a":1},"msg":1,"constructor":2}',
    '{"2":1,"1":0,"msg":"u\\u2028\\ud800"}',
    '{"msg":null,"id":7,"extra":[1,{"b":2}],"q\\"k":"\\n"}',
    '{"msg":{"nested":{"deep":[true,false,null,-0,1e21,0.1,1.0,1e2,1E+2]}},"é":"ü","😀":1}',
    '{"id":-0,"msg":0}',
    '{"msg":"\\u00e9\\/\\"","p":"\\\\"}',
    ' \t{ "msg" :\t1.0 , "priority" : 4 }\r\n ',
    '{"msg":1,"msg":2}',
  ]
  for (const text of cases) {
    const parsed = parseEvent(text)
    const id = parsed.id ?? 42
    const ev = sealEvent(parsed, id, 17, 1763901234567)
    t.equal(ev.json, reference(text, id, 1763901234567, 17), text)
    const line = decodeLine(ev.json)
    t.match(line, { offset: 17, timestamp: 1763901234567, priority: parsed.priority, key: String(id), text: ev.json }, 'the sealed event is its own segment line')
    t.equal(ev.key, String(id))
    t.equal(ev.priority, parsed.priority)
    const back = JSON.parse(ev.json)
    t.equal(back.timestamp, 1763901234567)
    t.equal(back.offset, 17)
    t.equal(String(back.id), String(id))
    t.equal(back.priority, parsed.priority)
  }
})

t.test('sealEvent: an id equal to the offset gives the offset the id\'s text, and any other id its own', async t => {
  const text = ' {"msg":{"t":1.5},"priority":2} \n'
  for (const [id, offset, key] of [[1000, 1000, '1000'], [7, 7, undefined], [999999, 999999, '999999'], [5, 6, '5'], ['6', 6, '6'], [0, 0, '0']] as const) {
    const ev = sealEvent(parseEvent(text), id, offset, 1763901234567, key)
    t.equal(ev.json, reference(text, id, 1763901234567, offset), `id ${JSON.stringify(id)}, offset ${offset}`)
    t.equal(JSON.parse(ev.json).offset, offset)
  }
})

t.test('sealEvent finds an object text\'s own braces among JSON whitespace, not those inside its strings', async t => {
  const text = '\r\n\t {"msg":"}{"}\t\r\n '
  const ev = sealEvent(parseEvent(text), 3, 9, 5)
  t.equal(ev.json, '{"id":3,"priority":0,"msg":"}{","timestamp":5,"offset":9}')
})

t.test('sealEvent: an object without members still gives valid JSON', async t => {
  // `pub` requires msg, so only code can ask for this; the builder must not emit a stray comma.
  t.equal(sealEvent({ text: '{ \n }', id: undefined, priority: 0, hasPriority: false }, 5, 1, 9).json, '{"id":5,"priority":0,"timestamp":9,"offset":1}')
  t.equal(sealEvent({ text: '{}', id: 'k', priority: 2, hasPriority: true }, 'k', 1, 9).json, '{"timestamp":9,"offset":1}')
})

t.test('objectMembers finds each top-level member of an object text', async t => {
  const text = ' { "a" : [1, "]}\\"", {"b":"}"}] , "\\u0069d":"x","2":true,"n":-1.5e3 ,"s":"\\\\","o":{},"e":[] } '
  const members = objectMembers(text)
  t.same(members.map(m => m.name), ['a', 'id', '2', 'n', 's', 'o', 'e'])
  t.same(members.map(m => text.slice(m.start, m.end)), ['"a" : [1, "]}\\"", {"b":"}"}]', '"\\u0069d":"x"', '"2":true', '"n":-1.5e3', '"s":"\\\\"', '"o":{}', '"e":[]'])
  t.same(objectMembers('{}'), [])
  t.throws(() => objectMembers('[1]'), /expected "\{"/)
  t.throws(() => objectMembers('{"a":"x'), /unterminated string/)
  t.throws(() => objectMembers('{"a":[1'), /unterminated value/)
  t.throws(() => objectMembers('{"a":}'), /expected a value/)
  t.throws(() => objectMembers('{"a" 1}'), /expected ":"/)
  t.throws(() => objectMembers('{"a":1 "b":2}'), /expected ","/)
})

t.test('deadLetterEvent keeps the members but the id and the broker\'s fields', async t => {
  const parsed = parseEvent('{"msg" : 1.0,"id":"j1","2":"x","note":"\\u00e9"}')
  const ev = sealEvent(parsed, 'j1', 1, 5)
  const dead = deadLetterEvent(ev, { topic: 't', id: 'j1' })
  t.same(dead, { text: '{"priority":0,"msg" : 1.0,"2":"x","note":"\\u00e9","deadLetter":{"topic":"t","id":"j1"}}', id: undefined, priority: 0, hasPriority: true })
  t.equal(sealEvent(dead, 3, 2, 6).json, '{"id":3,"priority":0,"msg" : 1.0,"2":"x","note":"\\u00e9","deadLetter":{"topic":"t","id":"j1"},"timestamp":6,"offset":2}')
  // An event stored without a priority member (only possible from hand-made files) gets its priority back.
  const bare = { id: 1, key: '1', priority: 4, offset: 1, timestamp: 3, json: '{"id":1,"msg":2,"timestamp":3,"offset":1}' }
  t.equal(deadLetterEvent(bare, {}).text, '{"msg":2,"priority":4,"deadLetter":{}}')
})
