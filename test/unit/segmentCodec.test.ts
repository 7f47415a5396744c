import t from 'tap'
import { decodeLine, encodeLine, lineProblem } from '../../src/persistence/segmentCodec'

const BASE = '{"id":"o-1","priority":5,"msg":{"sku":"A-7","qty":2.50,"tags":["x",null,true,false,-1e-3]},"note":"caf\\u00e9 \\"q\\" é 💡","timestamp":1795435779746}'

t.test('encode appends the offset as the last member; decode gives it back with the text byte for byte', async t => {
  const line = encodeLine(BASE, 42)
  t.equal(line, BASE.slice(0, -1) + ',"offset":42}')
  const d = decodeLine(line)
  t.ok(d)
  t.same(d, { offset: 42, timestamp: 1795435779746, priority: 5, id: 'o-1', key: 'o-1', text: line })
  t.equal(d!.text, line, 'the very same text, not a re-serialization')
  t.equal(encodeLine('{}', 7), '{"offset":7}')
  t.throws(() => encodeLine('[1]', 1), /JSON object/)
})

t.test('ids: strings with escapes, integers in any spelling; keys as ack matches them', async t => {
  const cases: Array<[string, string | number, string]> = [
    ['"plain"', 'plain', 'plain'],
    ['"a\\"b\\u0041"', 'a"bA', 'a"bA'],
    ['17', 17, '17'],
    ['-3', -3, '-3'],
    ['1.0', 1, '1'],
    ['2e3', 2000, '2000'],
  ]
  for (const [raw, id, key] of cases) {
    const d = decodeLine(`{"id":${raw},"priority":0,"msg":1,"timestamp":5,"offset":1}`)
    t.ok(d, raw)
    t.equal(d!.id, id, raw)
    t.equal(d!.key, key, raw)
  }
  t.match(lineProblem('{"id":1.5,"priority":0,"timestamp":5,"offset":1}'), /"id"/)
  t.match(lineProblem('{"id":null,"priority":0,"timestamp":5,"offset":1}'), /"id"/)
  t.match(lineProblem('{"id":{"a":1},"priority":0,"timestamp":5,"offset":1}'), /"id"/)
  t.match(lineProblem('{"id":9007199254740993,"priority":0,"timestamp":5,"offset":1}'), /"id"/)
})

t.test('members are found by what a JSON reader sees: escaped names, whitespace, publisher fields in any order, last duplicate wins', async t => {
  const d = decodeLine('{ "msg" : [ {"id":"inner","priority":9} ] , "\\u0069d" : "x", "priority" : 3 ,"id":"y", "timestamp":9 ,"offset":11 }')
  t.ok(d)
  t.equal(d!.id, 'y', 'nested members do not count; the last top-level id wins, as in JSON.parse')
  t.equal(d!.priority, 3)
  t.equal(d!.offset, 11)
  const p = decodeLine('{"id":1,"priority":5.0,"timestamp":1,"offset":1}')
  t.equal(p!.priority, 5, 'a publisher spelling of the priority is read as a number')
  t.equal(decodeLine('{"id":1,"priority":-0,"timestamp":1,"offset":1}')!.priority, 0)
  const v1 = decodeLine('{"id":1,"timestamp":3,"priority":0,"msg":"migrated v1 text, timestamp not at the end","offset":1}')
  t.equal(v1!.timestamp, 3)
})

t.test('the broker members are required and checked', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['[1,2]', /not a JSON object/],
    ['{}', /empty object/],
    ['{"id":1,"priority":0,"timestamp":1}', /no "offset"/],
    ['{"id":1,"priority":0,"offset":1,"timestamp":1}', /not the last member/],
    ['{"id":1,"priority":0,"timestamp":1,"offset":-1}', /"offset" is not/],
    ['{"id":1,"priority":0,"timestamp":1,"offset":1.5}', /"offset" is not/],
    ['{"id":1,"priority":0,"timestamp":1,"offset":12345678901234567}', /"offset" is not/],
    ['{"id":1,"priority":0,"timestamp":"1","offset":1}', /"timestamp" is not/],
    ['{"id":1,"priority":0,"offset":1}', /no "timestamp"/],
    ['{"id":1,"timestamp":1,"offset":1}', /no "priority"/],
    ['{"id":1,"priority":10,"timestamp":1,"offset":1}', /"priority" is not/],
    ['{"id":1,"priority":"5","timestamp":1,"offset":1}', /"priority" is not/],
    ['{"id":1,"priority":2.5,"timestamp":1,"offset":1}', /"priority" is not/],
    ['{"priority":0,"timestamp":1,"offset":1}', /no "id"/],
    ['{"id":1,"priority":0,"timestamp":1,"offset":1} x', /after the event/],
    ['{"id":1,"priority":0,"timestamp":1,"offset":01}', /expected "," or "}"/],
  ]
  for (const [line, re] of cases) t.match(lineProblem(line), re, JSON.stringify(line))
  for (const [line] of cases) t.equal(decodeLine(line), null)
})

t.test('every torn prefix of a line is refused (a write cut short by a crash)', async t => {
  const line = encodeLine(BASE, 123456)
  let refused = 0
  for (let i = 0; i < line.length; i++) {
    if (lineProblem(line.slice(0, i)) !== null) refused++
  }
  t.equal(refused, line.length, 'no prefix passes')
  t.equal(lineProblem(line), null)
})

t.test('garbled lines: whatever the decoder accepts, JSON.parse accepts with the same members', async t => {
  // Byte flips, insertions and deletions of a good line: the decoder must never accept what a JSON reader would not.
  const line = encodeLine(BASE, 99)
  const alphabet = '{}[]",:\\ 0123456789.eE+-tfnaulrsx\u0000\u001f\u00e9'
  let seed = 12345
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  let accepted = 0
  let parsedButRefused = 0
  for (let k = 0; k < 20000; k++) {
    let s = line
    const edits = 1 + rnd(3)
    for (let e = 0; e < edits; e++) {
      const at = rnd(s.length)
      const op = rnd(3)
      const ch = alphabet[rnd(alphabet.length)]
      s = op === 0 ? s.slice(0, at) + ch + s.slice(at + 1) : op === 1 ? s.slice(0, at) + ch + s.slice(at) : s.slice(0, at) + s.slice(at + 1)
    }
    const d = decodeLine(s)
    let parsed: Record<string, unknown> | undefined
    try { parsed = JSON.parse(s) as Record<string, unknown> } catch { parsed = undefined }
    if (d !== null) {
      accepted++
      if (parsed === undefined || typeof parsed !== 'object' || parsed === null) { t.fail(`accepted invalid JSON ${JSON.stringify(s)}`); continue }
      if (parsed.offset !== d.offset || parsed.timestamp !== d.timestamp || parsed.priority !== d.priority || parsed.id !== d.id) {
        t.fail(`members differ from JSON.parse for ${JSON.stringify(s)}`)
      }
    } else if (parsed !== undefined) {
      parsedButRefused++ // valid JSON that is not a valid event line (a member damaged): refusing it is right
    }
  }
  t.ok(accepted > 0, `some mutations stay valid event lines (${accepted})`)
  t.ok(parsedButRefused > 0, `valid JSON with damaged broker members is refused (${parsedButRefused})`)
})

t.test('deep nesting and long lines are scanned without recursion', async t => {
  const depth = 200000
  const deep = `{"id":1,"priority":0,"msg":${'['.repeat(depth)}${']'.repeat(depth)},"timestamp":1,"offset":1}`
  t.equal(lineProblem(deep), null)
  const unbalanced = `{"id":1,"priority":0,"msg":${'['.repeat(depth)}${']'.repeat(depth - 1)},"timestamp":1,"offset":1}`
  t.match(lineProblem(unbalanced), /invalid or truncated value/)
  const mixed = `{"id":1,"priority":0,"msg":{"a":[{"b":[1,{"c":"]"}]}]},"timestamp":1,"offset":1}`
  t.equal(lineProblem(mixed), null)
  t.match(lineProblem(`{"id":1,"priority":0,"msg":{"a":[1}],"timestamp":1,"offset":1}`), /invalid/)
  const big = encodeLine(JSON.stringify({ id: 'b', priority: 1, msg: 'x'.repeat(1 << 20), timestamp: 4 }), 8)
  t.equal(decodeLine(big)!.offset, 8)
})

t.test('strings: control characters and bad escapes are refused, every JSON escape is accepted', async t => {
  t.equal(lineProblem('{"id":"\\b\\f\\n\\r\\t\\/\\\\\\"\\u00Af","priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":"a\u0001","priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":"\\x41","priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":"\\u00G1","priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":tru,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":-,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":1.,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":1e,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":{"a" 1},"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1,"priority":0,"msg":{1:1},"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id":1 "priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id" 1,"priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{id:1,"priority":0,"timestamp":1,"offset":1}'), null)
  t.not(lineProblem('{"id\u0001":1,"priority":0,"timestamp":1,"offset":1}'), null)
})
