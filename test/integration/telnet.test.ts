import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { bytes, RawClient, T } from '../helpers/telnet'

// Raw telnet bytes over a real socket: negotiation answers, line editing, control characters.

const { IAC, DO, DONT, WILL, WONT, IP, EC, EL, TM, ECHO, SGA, TTYPE, NAWS, LINEMODE } = T

t.test('Ctrl-C from telnet: DO TIMING-MARK is answered WILL, after the replies to what came before', async t => {
  const tb = await startTestBroker(t)
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  // What Linux telnet sends for: ping, Enter, Ctrl-C, ping, Enter (here in one write).
  a.write('ping\r\n', [IAC, IP, IAC, DO, TM], 'ping\r\n')
  const got = await a.waitFor('OK PONG\n', 2)
  t.same([...got], [...bytes('OK PONG\n', [IAC, WILL, TM], 'OK PONG\n')])
})

t.test('other options are refused once per request; refusals are never answered', async t => {
  const tb = await startTestBroker(t)
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  // What a telnet client on port 23 might offer at connect, and two refusals of its own.
  a.write([IAC, DO, ECHO, IAC, WILL, NAWS, IAC, WILL, TTYPE, IAC, DO, SGA, IAC, DONT, LINEMODE, IAC, WONT, ECHO], 'ping\r\n')
  const got = await a.waitFor('OK PONG\n')
  t.same([...got], [...bytes([IAC, WONT, ECHO, IAC, DONT, NAWS, IAC, DONT, TTYPE, IAC, WONT, SGA], 'OK PONG\n')])
  // The client acknowledges the refusals (as RFC 1143 clients do not, but a naive one might): no answer, no loop.
  a.write([IAC, DONT, ECHO, IAC, WONT, NAWS, IAC, WONT, TTYPE, IAC, DONT, SGA], 'ping\r\n')
  const after = await a.waitFor('OK PONG\n', 2)
  t.same([...after.subarray(got.length)], [...bytes('OK PONG\n')])
})

t.test('a timing mark waits behind a reply held for the journal', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  t.equal(await p.request('pub t {"msg":"create"}'), 'OK 1 published to t (0 subscribers)')
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  // A named sub is confirmed only once journaled; the WILL TIMING-MARK must not overtake it.
  a.write('name reader\r\nsub t\r\n', [IAC, DO, TM], 'ping\r\n')
  const got = await a.waitFor('OK PONG\n')
  t.same([...got], [...bytes('OK named reader\nOK subscribed to t (max in flight 10)\n', [IAC, WILL, TM], 'OK PONG\n')])
})

t.test('clients that never negotiate never receive an IAC byte', async t => {
  const tb = await startTestBroker(t)
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  a.write('help\nping\npinx\bg\nbogus\x04\npub t {"msg":"\u00ff"}\nsub t\nstats\nquit\n')
  const got = await a.untilClosed()
  t.match(got.toString('utf8'), /OK bye\n$/)
  t.equal(got.indexOf(IAC), -1)
})

t.test('line editing: BS and DEL erase a character, IAC EC a character, IAC EL the line', async t => {
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  a.write('pinx\bg\r\n')
  await a.waitFor('OK PONG\n', 1)
  a.write('pinx\x7fg\r\n')
  await a.waitFor('OK PONG\n', 2)
  a.write('pub news {"msg":"create"}\r\n')
  await a.waitFor('OK 1 published')
  t.equal(await sub.request('sub news'), 'OK subscribed to news (max in flight 10)')
  // "é" is two bytes, split across writes; one DEL erases it whole.
  const e = Buffer.from('é')
  a.write('pub news {"id":"e1","msg":"caf', [e[0]])
  await new Promise(resolve => setTimeout(resolve, 20))
  a.write([e[1], 0x7f], 'e😀\b"}\r\n')
  t.match((await sub.event()).event, { id: 'e1', msg: 'cafe' })
  a.write('pub news {"id":"e2","msg":"typo', [IAC, EL], 'pub news {"id":"e2","msg":"fixed!', [IAC, EC], '"}\r\n')
  t.match((await sub.event()).event, { id: 'e2', msg: 'fixed' })
  a.write('pub news {"id":"e3","msg":"x\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\bping\r\n')
  const got = await a.waitFor('OK PONG\n', 3)
  t.equal(got.toString('utf8'), 'OK PONG\nOK PONG\nOK 1 published to news (0 subscribers)\n' +
    'OK e1 published to news (1 subscriber)\nOK e2 published to news (1 subscriber)\nOK PONG\n', 'erasing stops at the start of the line')
  t.ok(await sub.quiet(), 'nothing else was published')
})

t.test('control characters in a command are refused, naming the character; TAB separates words', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  const other = await tb.client()
  t.equal(await a.request('ping\x04'), 'ERR CONTROL_CHAR control character 0x04 in command')
  t.equal(await a.request('\x1b[Aping'), 'ERR CONTROL_CHAR control character 0x1b in command', 'an arrow key typed in character mode')
  t.equal(await a.request('bogus\x01'), 'ERR CONTROL_CHAR control character 0x01 in command', 'before the word is looked up')
  t.equal(await a.request('pub\tnews\t{"msg":"tab-separated"}'), 'OK 1 published to news (0 subscribers)')
  t.equal(await a.request('pub news\x02 {"msg":1}'), 'ERR CONTROL_CHAR control character 0x02 in command')
  t.equal(await a.request('pub news {"msg":"a\x07b"}'), 'ERR CONTROL_CHAR control character 0x07 in command', 'inside the event JSON')
  t.equal(await a.request('pub news {"msg":\r1}'), 'ERR CONTROL_CHAR control character 0x0d in command', 'a bare CR, even where JSON allows it')
  t.equal(await a.request('pub news {"msg":"a\\u0007b"}'), 'OK 2 published to news (0 subscribers)', 'an escaped control character is JSON text')
  t.equal(await a.request('sub news 5\x1b'), 'ERR CONTROL_CHAR control character 0x1b in command')
  t.equal(await a.request('ping are you there\x0c'), 'ERR CONTROL_CHAR control character 0x0c in command', 'even in ignored arguments')
  t.equal(await a.request('pub news {"msg":"x"}\t'), 'OK 3 published to news (0 subscribers)', 'a trailing TAB is a blank')
  t.equal(await a.request('ping'), 'OK PONG', 'the connection stays usable')
  t.equal(await other.request('ping'), 'OK PONG', 'other clients never notice')
})

t.test('half-close: an unfinished last line is run and answered, then the connection closes', async t => {
  const tb = await startTestBroker(t)
  const a = await RawClient.connect(tb.port)
  a.socket.end('ping\npub t {"msg":1}')
  t.equal((await a.untilClosed()).toString('utf8'), 'OK PONG\nOK 1 published to t (0 subscribers)\n')

  const b = await RawClient.connect(tb.port)
  b.socket.end('ping\r')
  t.equal((await b.untilClosed()).toString('utf8'), 'OK PONG\n', 'a final CR ends the line too')

  const c = await RawClient.connect(tb.port)
  c.write('pub t {"msg":')
  await new Promise(resolve => setTimeout(resolve, 20))
  c.socket.end('2}')
  t.equal((await c.untilClosed()).toString('utf8'), 'OK 2 published to t (0 subscribers)\n', 'across reads')

  const d = await RawClient.connect(tb.port)
  d.socket.end('quit')
  t.equal((await d.untilClosed()).toString('utf8'), 'OK bye\n')
})
