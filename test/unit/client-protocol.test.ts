import t from 'tap'
import { LineDecoder } from '../../src/client/lineDecoder'
import { parseDuplicate, parseEndReason, parseLine, parsePublished, parseSubscribed } from '../../src/client/replies'
import { ReplyMatcher, type PendingReply } from '../../src/client/replyMatcher'
import { authLine, eventText, nackLine, pubLine, subLine, touchLine, nameLine, statsLine, topicCommandLine } from '../../src/client/commands'
import { AcklineError } from '../../src/client/errors'
import { redact } from '../../src/client/link'

function decodeAll (chunks: Array<string | Buffer>, max = 1024): string[] {
  const d = new LineDecoder(max)
  const lines: string[] = []
  for (const c of chunks) d.push(typeof c === 'string' ? Buffer.from(c) : c, l => lines.push(l))
  return lines
}

t.test('LineDecoder: lines across chunks, CRLF, UTF-8 split inside a character', async t => {
  t.same(decodeAll(['OK 1\nOK', ' 2\r\n', 'EVENT t {}\n']), ['OK 1', 'OK 2', 'EVENT t {}'])
  t.same(decodeAll(['a', 'b', 'c', '\n']), ['abc'], 'many pieces of one line')
  const e = Buffer.from('caf\u00e9\n')
  t.same(decodeAll([e.subarray(0, 4), e.subarray(4)]), ['caf\u00e9'], 'the two bytes of é in two chunks')
  t.same(decodeAll(['\n\n']), ['', ''])
  const d = new LineDecoder(1024)
  d.push(Buffer.from('unfinished'), () => t.fail('no line yet'))
  t.equal(d.pendingBytes, 10)
})

t.test('LineDecoder: a line of exactly maxLineBytes passes, one byte more throws', async t => {
  t.same(decodeAll(['x'.repeat(64) + '\n'], 64), ['x'.repeat(64)])
  t.same(decodeAll(['x'.repeat(30), 'x'.repeat(34) + '\r', '\n'], 64), ['x'.repeat(64)], 'joined from chunks; the CR of CRLF is not counted')
  t.throws(() => decodeAll(['x'.repeat(65) + '\n'], 64), /exceeds 64 bytes/)
  t.throws(() => decodeAll(['x'.repeat(40), 'x'.repeat(26)], 64), /exceeds 64 bytes/, 'an unfinished line that grows past the limit (and its CR)')
  t.throws(() => decodeAll(['x'.repeat(40), 'x'.repeat(25) + '\n'], 64), /exceeds 64 bytes/)
})

t.test('parseLine: replies, errors, events, anything else', async t => {
  t.same(parseLine('OK 1 published to t (0 subscribers)'), { kind: 'ok', text: '1 published to t (0 subscribers)' })
  t.same(parseLine('ERR BAD_JSON event is not valid JSON'), { kind: 'err', code: 'BAD_JSON', message: 'event is not valid JSON' })
  t.same(parseLine('ERR INTERNAL'), { kind: 'err', code: 'INTERNAL', message: '' })
  t.same(parseLine('EVENT jobs {"id":1,"msg":"a b"}'), { kind: 'event', topic: 'jobs', json: '{"id":1,"msg":"a b"}' })
  t.same(parseLine('EVENT jobs'), { kind: 'unknown', text: 'EVENT jobs' })
  t.same(parseLine('OK'), { kind: 'unknown', text: 'OK' })
  t.same(parseLine('END orders 42'), { kind: 'end', topic: 'orders', reason: '42' })
  t.same(parseLine('END orders deleted'), { kind: 'end', topic: 'orders', reason: 'deleted' })
  t.same(parseLine('END orders'), { kind: 'unknown', text: 'END orders' })
  t.same(parseLine('END orders '), { kind: 'unknown', text: 'END orders ' })
  t.same(parseLine('hello'), { kind: 'unknown', text: 'hello' })
})

t.test('parsePublished and parseSubscribed read the OK texts of docs/protocol.md', async t => {
  t.same(parsePublished('t-100 published to tweets (1 subscriber)'), { id: 't-100', subscribers: 1, dropped: 0 })
  t.same(parsePublished('7 published to jobs (12 subscribers; 3 lowest-priority events dropped from full queues)'), { id: '7', subscribers: 12, dropped: 3 })
  t.same(parsePublished('7 published to jobs (2 subscribers; 1 lowest-priority event dropped from full queues)'), { id: '7', subscribers: 2, dropped: 1 })
  t.equal(parsePublished('7 stored'), null)
  t.same(parseSubscribed('subscribed to news (max in flight 10)'), { maxInFlight: 10, resumed: false, pending: 0 })
  t.same(parseSubscribed('subscribed to tweets (max in flight 2, resumed with 3 pending)'), { maxInFlight: 2, resumed: true, pending: 3 })
  t.same(parseSubscribed('subscribed to telemetry (at most once, ack=none)'), { maxInFlight: 0, resumed: false, pending: 0 })
  t.same(parseSubscribed('subscribed to jobs (group workers, max in flight 1)'), { maxInFlight: 1, resumed: false, pending: 0 }, 'a new group')
  t.same(parseSubscribed('subscribed to jobs (group workers, max in flight 2, 2 members, 3 pending)'), { maxInFlight: 2, resumed: true, pending: 3 }, 'joining an existing group')
  t.same(parseSubscribed('subscribed to jobs (group workers, max in flight 2, 1 member, 0 pending)'), { maxInFlight: 2, resumed: true, pending: 0 })
  t.equal(parseSubscribed('subscribed'), null)
  t.equal(parseDuplicate('o-1 duplicate, already published to orders'), 'o-1')
  t.equal(parseDuplicate('o-1 published to orders (0 subscribers)'), null)
  t.same(parseEndReason('42'), { reason: 'range', to: 42 })
  t.same(parseEndReason('deleted'), { reason: 'deleted' })
  t.same(parseEndReason('forgotten'), { reason: 'forgotten' })
  t.same(parseEndReason('expired by retention'), { reason: 'other', text: 'expired by retention' })
})

t.test('sub options: the key=value words after the cap and timeout, in the documented order', async t => {
  t.equal(subLine('t', { from: 'beginning' }), 'sub t from=beginning')
  t.equal(subLine('t', { from: 'latest' }), 'sub t from=latest')
  t.equal(subLine('t', { from: 1 }), 'sub t from=1', 'offsets start at 1')
  t.equal(subLine('t', { from: 42, to: 42 }), 'sub t from=42 to=42', 'a range of one event')
  t.equal(subLine('t', { from: new Date(1700000000000) }), 'sub t from=time:1700000000000')
  t.equal(subLine('t', { from: { time: 5 } }), 'sub t from=time:5')
  t.equal(subLine('t', { to: 9 }), 'sub t to=9')
  t.equal(subLine('t', { group: 'billing' }), 'sub t group=billing')
  t.equal(subLine('t', { ack: 'none' }), 'sub t ack=none')
  t.equal(subLine('t', { ack: 'each' }), 'sub t', 'each is the default: nothing sent')
  t.equal(subLine('t', { maxInFlight: 10, ackTimeoutMs: 500, from: 'beginning', to: 100, group: 'g', ack: 'none' }),
    'sub t 10 500 from=beginning to=100 group=g ack=none')
  t.throws(() => subLine('t', { from: 0 }), { code: 'BAD_OPTION', message: 'from must be an offset (an integer from 1), got 0' })
  t.throws(() => subLine('t', { from: 1.5 }), { code: 'BAD_OPTION' })
  t.throws(() => subLine('t', { from: 'start' as 'beginning' }), { code: 'BAD_OPTION', message: /from must be 'beginning', 'latest'/ })
  t.throws(() => subLine('t', { from: new Date(NaN) }), { code: 'BAD_OPTION', message: /invalid Date/ })
  t.throws(() => subLine('t', { from: { time: -5 } }), { code: 'BAD_OPTION' })
  t.equal(subLine('t', { from: { time: 0 } }), 'sub t from=time:0')
  t.throws(() => subLine('t', { to: 0 }), { code: 'BAD_OPTION', message: /to must be an offset/ })
  t.throws(() => subLine('t', { from: 10, to: 9 }), { code: 'BAD_OPTION', message: 'to (9) is before from (10)' })
  t.throws(() => subLine('t', { group: 'a b' }), { code: 'BAD_OPTION', message: /group must be/ })
  t.throws(() => subLine('t', { group: '' }), { code: 'BAD_OPTION' })
  t.throws(() => subLine('t', { ack: 'all' as 'none' }), { code: 'BAD_OPTION', message: /ack must be 'each' or 'none'/ })
})

t.test('command lines: every argument stays one word of one line', async t => {
  t.equal(pubLine('news', { msg: 'a b' }), 'pub news {"msg":"a b"}')
  t.equal(pubLine('news', ' {"msg" : 1.0} '), 'pub news  {"msg" : 1.0} ', 'a string goes as it is')
  for (const topic of ['', 'a b', 'a\tb', 'a\nb', 'a\u0000', 'a\u007f']) {
    t.throws(() => pubLine(topic, { msg: 1 }), { code: 'BAD_TOPIC' }, JSON.stringify(topic))
  }
  t.throws(() => eventText('{"msg":\r1}'), { code: 'BAD_JSON', message: /line break/ })
  t.throws(() => eventText({ toJSON () { throw new Error('nope') } }), { code: 'BAD_JSON', message: /nope/ })
  t.throws(() => eventText(() => 1), { code: 'BAD_JSON' })
  t.equal(subLine('t'), 'sub t')
  t.equal(subLine('t', { maxInFlight: 5 }), 'sub t 5')
  t.equal(subLine('t', { maxInFlight: 5, ackTimeoutMs: 6000 }), 'sub t 5 6000')
  t.throws(() => subLine('t', { ackTimeoutMs: 6000 }), { code: 'BAD_ARGS' })
  t.throws(() => subLine('t', { maxInFlight: 1.5 }), { code: 'BAD_IN_FLIGHT' })
  t.throws(() => subLine('t', { maxInFlight: 5, ackTimeoutMs: 0 }), { code: 'BAD_DELAY' })
  t.equal(nackLine('t', '7', undefined), 'nack t 7')
  t.equal(nackLine('t', '7', 0), 'nack t 7 0')
  t.throws(() => nackLine('t', '7', 1.5), { code: 'BAD_DELAY' })
  t.equal(touchLine('t', '7', undefined), 'touch t 7')
  t.equal(touchLine('t', '7', 1), 'touch t 7 1')
  t.throws(() => touchLine('t', '7', 0), { code: 'BAD_DELAY' })
  t.equal(nameLine('worker-1'), 'name worker-1')
  t.throws(() => nameLine('a b'), { code: 'BAD_NAME' })
  t.equal(authLine('alice', 'pass with spaces'), 'auth alice pass with spaces')
  for (const pw of ['', ' lead', 'trail ', 'tab\t', 'new\nline', 'nul\u0000']) {
    t.throws(() => authLine('alice', pw), { code: 'BAD_ARGS' }, JSON.stringify(pw))
  }
  t.throws(() => authLine('al ice', 'pw'), { code: 'BAD_ARGS' })
  t.equal(topicCommandLine('create', 'orders'), 'create orders')
  t.equal(topicCommandLine('delete', 'orders'), 'delete orders')
  t.throws(() => topicCommandLine('delete', 'a b'), { code: 'BAD_TOPIC' })
  t.equal(statsLine(undefined), 'stats')
  t.equal(statsLine('t'), 'stats t')
  t.equal(redact('auth alice pass with spaces'), 'auth alice ***')
  t.equal(redact('pub t {"msg":1}'), 'pub t {"msg":1}')
})

function recorder (): { pending: PendingReply, got: string[] } {
  const got: string[] = []
  return {
    got,
    pending: {
      answered: (ok, err) => got.push(err === null ? `OK ${ok!}` : `ERR ${err.code}`),
      failed: (err) => got.push(`failed ${err.code}`),
    },
  }
}

t.test('ReplyMatcher: replies go to commands in order; failAll fails the rest; idle waiters', async t => {
  const m = new ReplyMatcher()
  const a = recorder()
  const b = recorder()
  const c = recorder()
  let idle = 0
  m.whenIdle(() => idle++)
  t.equal(idle, 1, 'idle at once when nothing waits')
  m.push(a.pending)
  m.push(b.pending)
  m.push(c.pending)
  m.whenIdle(() => idle++)
  t.equal(m.size, 3)
  t.equal(m.reply('first', null), true)
  t.equal(m.reply(null, { code: 'BAD_JSON', message: 'x' }), true)
  t.same([a.got, b.got], [['OK first'], ['ERR BAD_JSON']])
  t.equal(idle, 1, 'one command still waits')
  m.failAll(new AcklineError('DISCONNECTED', 'lost'))
  t.same(c.got, ['failed DISCONNECTED'])
  t.equal(idle, 2)
  t.equal(m.reply('nobody', null), false, 'a reply nobody asked for')
})

t.test('ReplyMatcher keeps its queue small under a long pipeline', async t => {
  const m = new ReplyMatcher()
  let answered = 0
  const p: PendingReply = { answered: () => { answered++ }, failed: () => {} }
  for (let i = 0; i < 5000; i++) m.push(p)
  for (let i = 0; i < 4000; i++) m.reply('x', null)
  t.equal(m.size, 1000)
  for (let i = 0; i < 3000; i++) m.push(p)
  for (let i = 0; i < 4000; i++) m.reply('x', null)
  t.equal(m.size, 0)
  t.equal(answered, 8000)
  t.equal(m.reply('x', null), false)
})

t.test('packFrames: as few frames as fit, in order; a longer line alone; utf8Length counts bytes', async t => {
  const { packFrames, utf8Length } = await import('../../src/client/wsTransport')
  t.same(packFrames(['ping'], 1024), ['ping'])
  t.same(packFrames(['aaaa', 'bbbb', 'cccc'], 9), ['aaaa\nbbbb', 'cccc'], '4 + 1 + 4 = 9 bytes fit exactly')
  t.same(packFrames(['aaaa', 'bbbb', 'cccc'], 8), ['aaaa', 'bbbb', 'cccc'])
  t.same(packFrames(['a', 'x'.repeat(20), 'b', 'c'], 10), ['a', 'x'.repeat(20), 'b\nc'], 'a line over the limit goes alone')
  t.same(packFrames([], 10), [])
  t.same(packFrames(['é', 'é'], 5), ['é\né'], '2 + 1 + 2 bytes')
  t.same(packFrames(['é', 'é'], 4), ['é', 'é'])
  t.equal(utf8Length('abc'), 3)
  t.equal(utf8Length('é'), 2)
  t.equal(utf8Length('€'), 3)
  t.equal(utf8Length('😀'), 4)
  t.equal(utf8Length('\ud800'), 3, 'a lone surrogate is sent as U+FFFD')
  t.equal(utf8Length('\ud800x'), 4)
  t.equal(utf8Length('\udc00'), 3)
  for (const s of ['plain', 'caf\u00e9 \u20ac \ud83d\ude00', '\ud800\ud800', 'x\udfff']) t.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s))
})
