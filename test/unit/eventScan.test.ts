import t, { type Test } from 'tap'
import { parseEvent, parseEventFully } from '../../src/store/event'
import { scanEvent, skipValue } from '../../src/store/eventScan'

/** What parseEventFully says of `text`: its result, or its error message. */
function reference (text: string): unknown {
  try { return parseEventFully(text) } catch (e) { return (e as Error).message }
}

/** scanEvent either leaves `text` to parseEventFully (null) or says exactly what it would. */
function agrees (t: Test, text: string): void {
  const fast = scanEvent(text)
  if (fast !== null) t.same(fast, reference(text), `scan of ${JSON.stringify(text)}`)
  const ref = reference(text)
  if (typeof ref === 'string') t.throws(() => parseEvent(text), { message: ref }, `parseEvent refuses ${JSON.stringify(text.slice(0, 60))}`)
  else t.same(parseEvent(text), ref, `parseEvent of ${JSON.stringify(text.slice(0, 60))}`)
}

t.test('the common events are scanned, with the same result as JSON.parse and the schema', async t => {
  const scanned = [
    '{"msg":"hi"}',
    ' {"priority":0,"msg":"hi"} ',
    '{"msg":{"t":1764000000000,"p":"xxxxxxxx"}}',
    '{"priority":7,"msg":{"t":1764000000000,"p":"xx"}}',
    '{"id":"o-1","priority":5,"msg":[1,2.5,-3e+7,true,false,null,{"a":{}},[]],"x":"caf\\u00e9 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t"}',
    '{"id":42,"msg":null}',
    '{"id":-7,"msg":0}',
    '{"id":0,"msg":0}',
    '{"id":999999999999999,"msg":0}',
    `{"id":"${'a'.repeat(200)}","msg":0}`,
    '{ "id" : "a" , "priority" : 9 , "msg" : "m" }',
    '\t{"msg":"é ünïcödé 🎉"}\r',
    '{"msg":1,"":2,"Msg":3,"idx":4,"offsets":5}',
    // Member values one container deep are skipped by one regular expression; deeper ones by skipValue.
    '{"msg":{},"a":[],"b":{ "c" : [ ] , "d":"\\u00e9\\n" },"e":[ 1 , -0.5e-3 , "x" , true , false , null ]}',
    '{"msg":{"a":{"b":[1,{"c":{}}]},"d":[[1],[2,[3]]]}}',
  ]
  for (const text of scanned) {
    t.not(scanEvent(text), null, `scanned: ${text}`)
    agrees(t, text)
  }
})

t.test('anything unusual is left to JSON.parse, which names the problem', async t => {
  const left = [
    '', '{', '}', '[1,2]', '"msg"', 'null', '{}', '{"id":1}', '{"msg":1,}', '{"msg":1} x', '{"msg":1}}', '{"msg":01}',
    '{"msg":1,"priority":10}', '{"msg":1,"priority":-1}', '{"msg":1,"priority":2.5}', '{"msg":1,"priority":5e0}', '{"msg":1,"priority":"3"}',
    '{"msg":1,"id":"a b"}', '{"msg":1,"id":""}', '{"msg":1,"id":"a\\u0004"}', '{"msg":1,"id":"caf\\u00e9"}', '{"msg":1,"id":"café"}',
    `{"msg":1,"id":"${'a'.repeat(201)}"}`, '{"msg":1,"id":1.5}', '{"msg":1,"id":1e3}', '{"msg":1,"id":true}', '{"msg":1,"id":1234567890123456}',
    '{"msg":1,"id":-}', '{"msg":1,"id":007}', '{"msg":1,"deliveries":3}', '{"msg":1,"timestamp":5}', '{"offset":1,"msg":1}', '{"msg":1,"deadLetter":{}}',
    '{"\\u0069d":"x","msg":1}', '{"msg":1,"\\u006fffset":3}', '{"id":"a","id":"b","msg":1}', '{"priority":1,"priority":2,"msg":1}',
    '{"msg":"a\u0001b"}', '{"msg":"\\x"}', '{"msg":"\\u12"}', '{"msg":1.}', '{"msg":-}', '{"msg":1e}', '{"msg":.5}', '{"msg":tru}', '{"msg":[1,]}',
    '{"msg":[1 2]}', '{"msg":{"a" 1}}', '{"msg":{"a":1,}}', '{"msg":{1:2}}', '\ufeff{"msg":1}', '{"msg":1}\u00a0', '{"msg":"unterminated}',
    '{"msg":' + '['.repeat(300) + ']'.repeat(300) + '}',
    '{"msg":{"a":1 "b":2}}', '{"msg":{"a":01}}', '{"msg":[1,{"a":2,}]}', '{"msg":{"a":"\\u00g0"}}', '{"msg":{"a":1}]}', '{"msg":[1}}',
  ]
  for (const text of left) {
    t.equal(scanEvent(text), null, `left: ${JSON.stringify(text.slice(0, 60))}`)
    agrees(t, text)
  }
})

t.test('deep nesting is left to JSON.parse, never the stack', async t => {
  // The innermost [] is a whole value: it takes no level.
  const skip = (text: string): number => skipValue(text, 0, text.length)
  t.equal(skip('['.repeat(257) + ']'.repeat(257)), 514, 'MAX_DEPTH levels are skipped')
  t.equal(skip('['.repeat(258) + ']'.repeat(258)), -1, 'one more is left to JSON.parse')
  t.equal(skip('['.repeat(100000)), -1)
})

t.test('a value that fails late is refused in time proportional to its length (no backtracking blow-up)', async t => {
  // Each would take longer than the test's timeout if a failing match backtracked exponentially. (Each text is
  // within SHALLOW_VALUE_MAX_CHARS, so the regular expression does try it.)
  const n = 40000
  const texts = [
    '{"msg":{"a":1' + ',"a":1'.repeat(n) + '}', // unclosed object: ends with `}` of the event, not the value's
    '{"msg":["' + 'x'.repeat(n) + '}', // unterminated string
    '{"msg":{"a":' + '9'.repeat(n) + ' ' + '}', // digits then a missing `}`
    '{"msg":[' + '1, '.repeat(n) + ']x}',
    '{"msg":{"a":"' + '\\n'.repeat(n) + '",}}',
  ]
  for (const text of texts) {
    t.equal(scanEvent(text), null, `left: ${JSON.stringify(text.slice(0, 30))}…`)
    t.match(reference(text), /BAD_JSON|invalid JSON|JSON/, 'and JSON.parse refuses it')
  }
  const long = '{"msg":{"a":1' + ',"a":1'.repeat(n) + '}}'
  t.same(scanEvent(long), reference(long), 'the same shape closed is scanned')
})

t.test('a value too long for one regular expression match is skipped the slow way, never a RangeError', async t => {
  // 8 million characters of one shallow value overflow irregexp's backtrack stack; past 256 KiB skipValue takes over.
  const n = 8_000_000
  const texts = ['{"msg":[' + '0,'.repeat(n / 2) + '0]}', '{"msg":{' + '"":0,'.repeat(n / 5) + '"":0}}', '{"msg":"' + '\\n'.repeat(n / 2) + '"}']
  for (const text of texts) {
    t.same(scanEvent(text), reference(text), `scanned: ${JSON.stringify(text.slice(0, 20))}… (${text.length} characters)`)
    t.same(scanEvent(text.slice(0, -2) + '}'), null, 'and left to JSON.parse when it does not close')
  }
})

/** A random JSON-ish text: valid JSON or a mutation of it (deterministic: a seeded generator). */
function randomTexts (count: number, seed: number): string[] {
  let x = seed
  const rnd = (n: number): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n } // xorshift32
  const pieces = ['0', '-1', '12', '1.5', '2e3', '-0', '1E+2', 'true', 'false', 'null', '""', '"a"', '"\\n"', '"\\u00e9"', '"é"', '"a b"', '{}', '[]']
  const keys = ['id', 'priority', 'msg', 'x', 'offset', 'timestamp', '', 'ID', 'deliveries']
  const value = (d: number): string => {
    const k = rnd(d > 2 ? 1 : 4)
    if (k === 1) return '[' + Array.from({ length: rnd(3) }, () => value(d + 1)).join(',') + ']'
    if (k === 2) return '{' + Array.from({ length: rnd(3) }, () => `"${keys[rnd(keys.length)]}":${value(d + 1)}`).join(',') + '}'
    if (k === 3) return String(rnd(20))
    return pieces[rnd(pieces.length)]
  }
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const members = Array.from({ length: rnd(4) }, () => `"${keys[rnd(keys.length)]}"${rnd(5) === 0 ? ' ' : ''}:${value(0)}`)
    if (rnd(3) > 0) members.splice(rnd(members.length + 1), 0, `"msg":${value(0)}`)
    let text = '{' + members.join(',') + '}'
    if (rnd(3) === 0) { // a mutation: a character dropped, doubled or replaced
      const at = rnd(text.length)
      const c = '{}[]",:\\ 0e.-a\u0001'[rnd(16)]
      text = [text.slice(0, at) + text.slice(at + 1), text.slice(0, at) + text[at] + text.slice(at), text.slice(0, at) + c + text.slice(at + 1)][rnd(3)]
    }
    out.push(text)
  }
  return out
}

t.test('random texts: the scan never says valid where JSON.parse and the schema do not agree', async t => {
  let scanned = 0
  let mismatches: string[] = []
  for (const text of randomTexts(20000, 11)) {
    const fast = scanEvent(text)
    if (fast === null) continue
    scanned++
    const ref = reference(text)
    if (JSON.stringify(fast) !== JSON.stringify(ref)) mismatches.push(text)
  }
  t.same(mismatches.slice(0, 10), [], 'no mismatch')
  t.ok(scanned > 2000, `a good share was scanned (${scanned})`)
})

/**
 * What follows an event's text in the text of a whole read (LineSink.line): the line's trailing blanks (the
 * command layer's `to` excludes them), its CR or LF, then anything: the next lines, or the rest of the read.
 */
const FOLLOWERS = ['\n', '\r\n', '  \n', '\t\r\n', '\n}', '\n"}', ' \n1}', '\r\n,"msg":1}', '\nue}', '\n0}\npub t {"msg":2}\n']

t.test('a range of a longer text: the scan says what it says of the text alone, reading nothing past the range', async t => {
  const texts = [
    '{"msg":"hi"}', '{"priority":7,"msg":{"t":1764000000000,"p":"xx"}}', '{"id":"o-1","msg":[1,2.5,true,null]}', '{"id":42,"msg":null}',
    '{"msg":"unterminated}', '{"msg":tru', '{"msg":1', '{"msg":1,', '{"msg":1,"priority":', '{"msg":1,"priority":3', '{"msg":1,"id":4',
    '{"msg":1,"id":"ab', '{"msg":{"a":', '{"msg":[1', '{"msg":-', '{"msg":1.', '{"msg":"\\', '{"msg":"\\u00', '{', '', ' ',
    ...randomTexts(5000, 29),
  ].filter(text => !text.includes('\n'))
  let mismatches: string[] = []
  for (const text of texts) {
    const alone = JSON.stringify(scanEvent(text))
    for (const after of FOLLOWERS) {
      const read = 'pub t ' + text + after
      if (JSON.stringify(scanEvent(read, 6, 6 + text.length)) !== alone) mismatches.push(text + ' + ' + JSON.stringify(after))
    }
  }
  t.same(mismatches.slice(0, 10), [], 'no difference')
  const ranged = parseEvent('pub t {"id":"a","msg":1}\nack t a\n', 6, 24)
  t.same(ranged, { text: '{"id":"a","msg":1}', id: 'a', priority: 0, hasPriority: false }, 'parseEvent of a range: its text is the range')
  t.throws(() => parseEvent('pub t {"msg":\n1}\n', 6, 13), { message: /BAD_JSON|ends too early/ }, 'a range cut short is refused, not read on')
})
