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

t.test('a client that floods option requests and never reads does not grow the broker\'s buffers', async t => {
  const tb = await startTestBroker(t, { maxQueuedLines: 1000, flushBytes: 16384 })
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  a.write('ping\r\n')
  await a.waitFor('OK PONG\n')
  const conn = [...tb.broker.server.connections][0]
  a.socket.pause()
  const chunk = bytes(Array.from({ length: 20000 }, () => [IAC, DO, ECHO]).flat())
  let requests = 0
  let maxOutbound = 0
  // Answers are as long as requests, so kernel buffers (autotuned up to tens of MiB) absorb a lot first.
  for (let i = 0; i < 1500 && a.socket.writableLength < 4 * 1024 * 1024; i++) {
    a.socket.write(chunk)
    requests += 20000
    await new Promise(resolve => setImmediate(resolve))
    maxOutbound = Math.max(maxOutbound, conn.outboundBytes)
  }
  // Checked now: as the client's kernel buffer grows (autotuning), the broker may drain a little and read again.
  t.ok(a.socket.writableLength >= 4 * 1024 * 1024, 'the broker stopped reading from a client that does not read')
  await new Promise(resolve => setTimeout(resolve, 200))
  maxOutbound = Math.max(maxOutbound, conn.outboundBytes)
  t.ok(maxOutbound < 2 * 1024 * 1024, `broker-side outbound buffer stays bounded (max ${maxOutbound} bytes)`)
  a.socket.resume()
  const want = 'OK PONG\n'.length + 3 * requests
  const got = await a.waitForBytes(want, 30000)
  t.equal(got.length, want, `every one of the ${requests} requests answered once the client reads`)
  t.same([...got.subarray(got.length - 3)], [IAC, WONT, ECHO])
})

t.test('a publisher held by flow control that floods option requests: its queued answers are bounded', async t => {
  const tb = await startTestBroker(t, { publishHoldPending: 1, publishHoldMaxMs: 60000, maxLineBytes: 65536, flushBytes: 16384 })
  const s = await tb.client()
  const p = await RawClient.connect(tb.port)
  t.teardown(() => p.destroy())
  p.write('pub q {"msg":"create"}\r\n')
  await p.waitFor('OK 1 published to q (0 subscribers)\n')
  await s.request('sub q 1')
  p.write('pub q {"id":"a0","msg":0}\r\n')
  t.match((await s.event()).event, { id: 'a0' })
  await s.request('ack q a0') // an acking subscriber counts as active
  // a1 goes in flight, a2 waits (the limit), a3 makes two waiting: the publisher is held after its reply.
  p.write('pub q {"id":"a1","msg":1}\r\npub q {"id":"a2","msg":2}\r\npub q {"id":"a3","msg":3}\r\n')
  await p.waitFor('OK a3 published to q (1 subscriber)\n')
  const conn = [...tb.broker.server.connections].find(c => c.throttled)
  t.ok(conn !== undefined, 'the publisher is held')
  // Its option requests queue behind its held lines, so their answers wait too: reading must stop at a bound.
  const chunk = bytes(Array.from({ length: 20000 }, () => [IAC, DO, ECHO]).flat())
  for (let i = 0; i < 1500 && p.socket.writableLength < 4 * 1024 * 1024; i++) {
    p.socket.write(chunk)
    await new Promise(resolve => setImmediate(resolve))
  }
  await new Promise(resolve => setTimeout(resolve, 200))
  t.ok(p.socket.writableLength >= 4 * 1024 * 1024, 'the broker stopped reading from the held client')
  t.ok(conn!.queuedLines < 100, `queued input stays bounded (${conn!.queuedLines} items)`)
})
