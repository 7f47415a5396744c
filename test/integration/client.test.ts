import t from 'tap'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { startTestBroker } from '../helpers/broker'
import { makeCert, startLoggedBroker, testHash } from '../helpers/auth'
import { connect, AcklineError, type AcklineClient, type ConnectOptions, type AcklineEvent } from '../../src/client'

type Teardown = { teardown: (fn: () => unknown) => void }

/** A connected client closed by teardown. */
async function client (t: Teardown, port: number, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = await connect({ port, ...opts })
  t.teardown(() => c.close())
  return c
}

/** Takes the next event of an iterator, failing after waitMs. */
async function nextEvent (it: AsyncIterator<AcklineEvent>, waitMs = 5000): Promise<AcklineEvent> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no event within ${waitMs} ms`)), waitMs) })
  try {
    const r = await Promise.race([it.next(), timeout])
    if (r.done === true) throw new Error('the subscription ended')
    return r.value
  } finally {
    clearTimeout(timer)
  }
}

/** The rejection of a promise that must reject. */
async function rejection (p: Promise<unknown>): Promise<AcklineError> {
  try {
    await p
  } catch (err) {
    if (err instanceof AcklineError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

t.test('publish, subscribe, ack: ids, the exact event text, deliveries', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  t.same(await c.publish('news', { msg: 'create the topic' }), { id: '1', duplicate: false, subscribers: 0, dropped: 0 })
  const sub = c.subscribe('news', { maxInFlight: 5 })
  t.same(await sub.ready, { maxInFlight: 5, resumed: false, pending: 0 })
  const text = '{ "msg" : 1.0, "name":"caf\\u00e9", "id":"n-1" }'
  t.same(await c.publish('news', text), { id: 'n-1', duplicate: false, subscribers: 1, dropped: 0 }, 'a string is sent as it is')
  t.same(await c.publish('news', { msg: { a: [1, 2] }, priority: 3 }), { id: '2', duplicate: false, subscribers: 1, dropped: 0 })
  const first = await nextEvent(sub)
  t.equal(first.raw, `{"priority":0, "msg" : 1.0, "name":"caf\\u00e9", "id":"n-1" ,"timestamp":${String(first.data.timestamp)},"offset":${String(first.data.offset)}}`, 'byte for byte')
  t.equal(first.offset, first.data.offset, 'the offset the broker gave it')
  t.equal(first.id, 'n-1')
  t.equal(first.topic, 'news')
  t.equal(first.deliveries, 1)
  t.same(first.data.msg, 1)
  t.equal(first.data.name, 'café')
  const second = await nextEvent(sub)
  t.equal(second.id, '2', 'a numeric id in its text form')
  t.same(second.data.msg, { a: [1, 2] })
  t.equal(await first.ack(), true)
  t.equal(await first.ack(), false, 'acked already: no longer in flight')
  t.equal(await second.ack(), true)
  const topic = await c.stats('news')
  t.match(topic, { topic: 'news', published: 3, subscriptions: 1, pending: 0, inFlight: 0 })
})

t.test('a publisher subscribed to its own topic, and publishMany with a failure and a duplicate among successes', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('jobs', { msg: 0 })
  const sub = c.subscribe('jobs', { maxInFlight: 10 })
  await sub.ready
  async function * gen (): AsyncGenerator<unknown> {
    yield { msg: 1 }
    yield '{"msg":2'
    yield { msg: 3, id: 'x' }
    yield { msg: 4, id: 'x' }
  }
  const outcomes = await c.publishMany('jobs', gen())
  t.match(outcomes, [
    { ok: true, id: '2', subscribers: 1 },
    { ok: false, error: { code: 'BAD_JSON' } },
    { ok: true, id: 'x', duplicate: false },
    { ok: true, id: 'x', duplicate: true, subscribers: 0 },
  ])
  t.same([(await nextEvent(sub)).data.msg, (await nextEvent(sub)).data.msg], [1, 3])
})

t.test('broker errors reject with AcklineError carrying the code; the connection stays usable', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  const bad = await rejection(c.publish('news', { text: 'no msg' }))
  t.ok(bad instanceof AcklineError)
  t.equal(bad.code, 'BAD_EVENT')
  t.equal(bad.message, "event must have required property 'msg'")
  t.equal(bad.command, 'pub news {"text":"no msg"}')
  t.equal((await rejection(c.publish('../etc', { msg: 1 }))).code, 'BAD_TOPIC', "the broker's check")
  t.equal((await rejection(c.publish('a b', { msg: 1 }))).code, 'BAD_TOPIC', 'a blank would shift the arguments: refused before sending')
  t.equal((await rejection(c.publish('news', '{"msg":\n1}'))).code, 'BAD_JSON', 'a line break would start another command')
  t.equal((await rejection(c.publish('news', { msg: 1n }))).code, 'BAD_JSON', 'not serializable')
  t.equal((await rejection(c.publish('news', undefined))).code, 'BAD_JSON')
  const unknown = c.subscribe('nosuch')
  t.equal((await rejection(unknown.ready)).code, 'UNKNOWN_TOPIC')
  t.equal((await rejection(unknown.next())).code, 'UNKNOWN_TOPIC', 'the loop throws it')
  t.same(await unknown.next(), { value: undefined, done: true }, 'then the iterator is done')
  t.throws(() => c.subscribe('news', { ackTimeoutMs: 1000 }), { code: 'BAD_ARGS' }, 'a timeout needs the cap')
  t.throws(() => c.subscribe('news', { maxInFlight: 0 }), { code: 'BAD_IN_FLIGHT' })
  await c.publish('news', { msg: 'now it exists' })
  const tooMany = c.subscribe('news', { maxInFlight: 1001 })
  t.match(await rejection(tooMany.ready), { code: 'BAD_IN_FLIGHT', message: 'max in flight must be an integer from 1 to 1000, got "1001"' })
  t.type(await c.ping(), 'number', 'still usable')
})

t.test('nack, nack with a delay, touch; false once an event is no longer in flight', async t => {
  const tb = await startTestBroker(t, { redeliveryCheckMs: 5 })
  const c = await client(t, tb.port)
  await c.publish('work', { msg: 'create' })
  const sub = c.subscribe('work', { maxInFlight: 2, ackTimeoutMs: 60000 })
  await sub.ready
  await c.publish('work', { id: 'w1', msg: 'convert' })
  const w1 = await nextEvent(sub)
  t.equal(await w1.nack(), true)
  const again = await nextEvent(sub)
  t.equal(again.id, 'w1')
  t.equal(again.deliveries, 2)
  t.match(again.raw, /,"deliveries":2\}$/)
  t.equal(await again.touch(), true)
  t.equal(await again.touch(600000), true)
  t.equal((await rejection(again.touch(0))).code, 'BAD_DELAY', 'refused before sending')
  t.equal((await rejection(again.nack(-1))).code, 'BAD_DELAY')
  t.match(await rejection(again.nack(86400001)), { code: 'BAD_DELAY', message: /from 0 to 86400000 ms/ }, "the broker's limit")
  const t0 = Date.now()
  t.equal(await again.nack(100), true)
  const delayed = await nextEvent(sub)
  t.ok(Date.now() - t0 >= 100, 'came back after the delay')
  t.equal(delayed.deliveries, 3)
  t.equal(await delayed.ack(), true)
  t.equal(await delayed.touch(), false, 'acked: nothing to touch')
  t.equal(await delayed.nack(), false)
  t.equal(await w1.ack(), false, 'an older copy of an acked event')
})

t.test('an ack timeout takes the event back and delivers it again; acks go by id, so the first copy acks it once', async t => {
  const tb = await startTestBroker(t, { redeliveryCheckMs: 5 })
  const c = await client(t, tb.port)
  await c.publish('slow', { msg: 'create' })
  const sub = c.subscribe('slow', { maxInFlight: 1, ackTimeoutMs: 50 })
  await sub.ready
  await c.publish('slow', { id: 's1', msg: 'x' })
  const first = await nextEvent(sub)
  const second = await nextEvent(sub)
  t.equal(second.id, 's1')
  t.equal(second.deliveries, 2)
  t.equal(await first.ack(), true, 'the late ack of the first copy acks the copy in flight: same id')
  t.equal(await second.ack(), false, 'acked once')
  t.match(await c.stats('slow'), { pending: 0, inFlight: 0 })
})

t.test('leaving the loop early unsubscribes; a named subscription ends for good', async t => {
  const tb = await startTestBroker(t)
  const p = await client(t, tb.port)
  const c = await client(t, tb.port, { name: 'reader' })
  await p.publish('feed', { msg: 'create' })
  const sub = c.subscribe('feed')
  await sub.ready
  await p.publishMany('feed', [{ msg: 1 }, { msg: 2 }, { msg: 3 }])
  for await (const ev of sub) {
    t.equal(await ev.ack(), true)
    break
  }
  t.match(await p.stats('feed'), { subscriptions: 0, pending: 0, inFlight: 0 }, 'unsubscribed, the rest dropped')
  t.match(await p.publish('feed', { msg: 4 }), { subscribers: 0 })
  t.same(await sub.next(), { value: undefined, done: true })
  const again = c.subscribe('feed')
  t.same(await again.ready, { maxInFlight: 10, resumed: false, pending: 0 }, 'a new subscription, nothing resumed')
  await again.unsubscribe()
  t.match(await p.stats('feed'), { subscriptions: 0 })
  t.throws(() => { c.subscribe('feed'); c.subscribe('feed') }, { code: 'ALREADY_SUBSCRIBED' })
})

t.test('close() waits for pending replies, quits, and keeps a named subscription', async t => {
  const tb = await startTestBroker(t)
  const p = await client(t, tb.port)
  await p.publish('q', { msg: 'create' })
  const c = await connect({ port: tb.port, name: 'keeper' })
  const sub = c.subscribe('q', { maxInFlight: 1 })
  await sub.ready
  const publishes = Array.from({ length: 200 }, (_, i) => c.publish('q', { msg: i }))
  let closed = 0
  c.on('close', () => { closed++ })
  const loop = (async () => {
    const seen: string[] = []
    for await (const ev of sub) seen.push(ev.id)
    return seen
  })()
  await c.close()
  const results = await Promise.all(publishes)
  t.equal(results.length, 200, 'every publish got its reply before quit')
  t.equal(results[199].id, '201')
  t.ok((await loop).length <= 1, 'the loop ended without an unsub')
  t.equal(closed, 1)
  t.equal(c.connected, false)
  t.equal((await rejection(c.publish('q', { msg: 'late' }))).code, 'CLOSED')
  t.throws(() => c.subscribe('q'), { code: 'CLOSED' })
  t.equal((await rejection(c.ping())).code, 'CLOSED')
  await c.close()
  const stats = await p.stats('q')
  t.match(stats.subscribers, [{ name: 'keeper', connected: false, maxInFlight: 1 }], 'the durable subscription stays')
  t.equal(stats.pending + stats.inFlight, 200, 'with every event for the next connection')
})

t.test('stats and ping', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('a', { msg: 1 })
  const s = await c.stats()
  t.match(s, { topics: 1, published: 1, connections: 1, rates: { published: Number }, memory: { rss: Number } })
  t.equal((await rejection(c.stats('nope'))).code, 'UNKNOWN_TOPIC')
  t.equal((await rejection(c.stats('a b'))).code, 'BAD_TOPIC')
  const rtt = await c.ping()
  t.ok(rtt >= 0 && rtt < 5000)
})

t.test('auth: user and password on connect, failures and permissions by code', async t => {
  const users = {
    alice: { passwordHash: testHash('alice pw'), publish: ['orders.*'], subscribe: ['orders.*'] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const c = await client(t, tb.port, { user: 'alice', password: 'alice pw', name: 'alice-1' })
  t.match(await c.publish('orders.eu', { msg: 1 }), { id: '1' })
  t.match(await rejection(c.publish('payments', { msg: 1 })), { code: 'FORBIDDEN', message: 'user alice may not publish to payments' })
  const wrong = await rejection(connect({ port: tb.port, user: 'alice', password: 'nope' }))
  t.equal(wrong.code, 'AUTH_FAILED')
  t.equal(wrong.command, 'auth alice ***', 'the password is not in the error')
  t.notMatch(wrong.message, /nope/)
  const anonymous = await client(t, tb.port)
  t.equal((await rejection(anonymous.publish('orders.eu', { msg: 1 }))).code, 'AUTH_REQUIRED')
  await t.rejects(connect({ port: tb.port, user: 'alice' }), TypeError, 'user and password go together')
  t.equal((await rejection(connect({ port: tb.port, user: 'alice', password: ' pw' }))).code, 'BAD_ARGS', 'a password auth cannot send')
})

t.test('TLS: a private CA through tls options', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startLoggedBroker(t, { tls: { port: 0, certFile: cert, keyFile: key } })
  const tlsPort = tb.broker.tlsAddress!.port
  const c = await client(t, tlsPort, { tls: { ca: readFileSync(cert) } })
  t.match(await c.publish('secure', { msg: 1 }), { id: '1' })
  const untrusted = await rejection(connect({ port: tlsPort, tls: true, reconnect: false }))
  t.equal(untrusted.code, 'CONNECT_FAILED')
  t.match(untrusted.message, /self-signed|self signed/)
})

t.test('connection refusals from the broker reject connect() with their code', async t => {
  const tb = await startTestBroker(t, { maxConnections: 1 })
  const first = await client(t, tb.port, { name: 'solo' })
  const refused = await rejection(connect({ port: tb.port }))
  t.equal(refused.code, 'TOO_MANY_CONNECTIONS')
  t.match(refused.message, /maxConnections/)
  await first.close()
  const tb2 = await startTestBroker(t)
  await client(t, tb2.port, { name: 'solo' })
  t.equal((await rejection(connect({ port: tb2.port, name: 'solo' }))).code, 'NAME_IN_USE')
  t.equal((await rejection(connect({ port: tb2.port, name: 'bad/name' }))).code, 'BAD_NAME', 'refused before connecting')
  t.equal((await rejection(connect({ port: 1, reconnect: false }))).code, 'CONNECT_FAILED')
  await t.rejects(connect({ port: 70000 }), TypeError)
})

t.test('an idle connection closed by the broker is reopened, and the unasked ERR is not taken for a reply', async t => {
  const tb = await startTestBroker(t, { idleTimeoutMs: 100 })
  const c = await client(t, tb.port, { reconnect: { initialDelayMs: 10 } })
  const disconnected = new Promise<AcklineError>(resolve => c.once('disconnect', resolve))
  const reconnected = new Promise<{ attempts: number }>(resolve => c.once('reconnect', resolve))
  const err = await disconnected
  t.equal(err.code, 'IDLE_TIMEOUT')
  t.equal(c.connected, false)
  t.same(await reconnected, { attempts: 1 })
  t.equal(c.connected, true)
  t.match(await c.publish('after', { msg: 1 }), { id: '1' })
})

/** A loopback server that is not a broker: it answers with `reply` (or nothing). */
async function fakeServer (t: Teardown, onConnect: (s: Socket) => void): Promise<number> {
  const sockets: Socket[] = []
  const server = createServer(s => { sockets.push(s); s.on('error', () => {}); onConnect(s) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  return (server.address() as AddressInfo).port
}

t.test('a peer that does not speak the protocol: a line nobody asked for ends the connection', async t => {
  const greeter = await fakeServer(t, s => s.write('HELLO THERE\n'))
  const hello = await rejection(connect({ port: greeter }))
  t.equal(hello.code, 'PROTOCOL')
  t.match(hello.message, /unexpected line from the broker: "HELLO THERE"/)
  // Answers the handshake's ping, then replies to nothing.
  const port = await fakeServer(t, s => s.once('data', () => {
    s.write('OK PONG\n')
    setTimeout(() => s.write('OK nobody asked\n'), 20)
  }))
  const c = await client(t, port, { reconnect: false })
  const err = await new Promise<AcklineError>(resolve => c.once('disconnect', resolve))
  t.equal(err.code, 'PROTOCOL')
  t.match(err.message, /unexpected line from the broker: "OK nobody asked"/)
  t.equal((await rejection(c.publish('x', { msg: 1 }))).code, 'CLOSED')
})

t.test('a peer that never answers the handshake: connectTimeoutMs', async t => {
  const port = await fakeServer(t, () => {})
  const err = await rejection(connect({ port, name: 'n', connectTimeoutMs: 100 }))
  t.equal(err.code, 'CONNECT_FAILED')
  t.match(err.message, /within 100 ms \(connectTimeoutMs\)/)
})

t.test('a line longer than maxLineBytes ends the connection', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port, { maxLineBytes: 100, reconnect: false })
  await c.publish('big', { msg: 'create' })
  const sub = c.subscribe('big')
  await sub.ready
  const lost = new Promise<AcklineError>(resolve => c.once('disconnect', resolve))
  await c.publish('big', { msg: 'x'.repeat(200) })
  const err = await lost
  t.equal(err.code, 'DISCONNECTED')
  t.match(err.message, /a line from the broker exceeds 100 bytes/)
  t.equal((await rejection(sub.next())).code, 'DISCONNECTED', 'without reconnect the loop learns why it ended')
})

/** A loopback server that answers each line with `answer(line, connection number)`: lines to write, or 'close'. */
async function scriptedServer (t: Teardown, answer: (line: string, conn: number) => string[] | 'close'): Promise<{ port: number, seen: string[][] }> {
  const seen: string[][] = []
  const port = await fakeServer(t, s => {
    const conn = seen.length
    seen.push([])
    let buf = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        seen[conn].push(line)
        const out = answer(line, conn)
        if (out === 'close') { s.destroy(); return }
        for (const l of out) s.write(l + '\n')
      }
    })
  })
  return { port, seen }
}

t.test('an EVENT whose JSON is not an event is reported as an error and skipped', async t => {
  const { port } = await scriptedServer(t, line => {
    if (line === 'ping') return ['OK PONG']
    if (line === 'sub t') return ['OK subscribed to t (max in flight 10)', 'EVENT t {"msg":', 'EVENT t [1]', 'EVENT t {"msg":1}', 'EVENT t {"id":"nooffset","msg":1}', 'EVENT t {"id":"ok","msg":1,"offset":4}']
    return ['OK']
  })
  const c = await client(t, port)
  const errors: AcklineError[] = []
  c.on('error', err => errors.push(err))
  const sub = c.subscribe('t')
  const ev = await nextEvent(sub)
  t.equal(ev.id, 'ok', 'the good one after the bad ones')
  t.match(errors, [
    { code: 'PROTOCOL', message: 'EVENT on t is not valid JSON' },
    { code: 'PROTOCOL', message: 'EVENT on t is not a JSON object' },
    { code: 'PROTOCOL', message: 'EVENT on t has no id' },
    { code: 'PROTOCOL', message: 'EVENT on t has no offset' },
  ])
})

t.test('close() gives up waiting after closeTimeoutMs: the unanswered command rejects CLOSED', async t => {
  const { port } = await scriptedServer(t, line => line === 'ping' ? ['OK PONG'] : [])
  const c = await connect({ port, closeTimeoutMs: 100 })
  const silent = c.publish('t', { msg: 'never answered' })
  const t0 = Date.now()
  await c.close()
  // (timers run on the event loop's millisecond clock, which may be a millisecond behind Date.now)
  t.ok(Date.now() - t0 >= 99, 'waited closeTimeoutMs')
  await t.rejects(silent, { code: 'CLOSED', message: /none within 100 ms \(closeTimeoutMs\); this publish may or may not have been stored$/ })
})

t.test('an unsub lost with the connection is done again after the reconnect (named client)', async t => {
  const { port, seen } = await scriptedServer(t, (line, conn) => {
    if (line.startsWith('name ')) return ['OK named n']
    if (line === 'sub t') return ['OK subscribed to t (max in flight 10)']
    if (line === 'unsub t') return conn === 0 ? 'close' : ['OK unsubscribed from t']
    return ['OK PONG']
  })
  const c = await client(t, port, { name: 'n', reconnect: { initialDelayMs: 10 } })
  const sub = c.subscribe('t')
  await sub.ready
  const reconnected = new Promise(resolve => c.once('reconnect', resolve))
  await sub.unsubscribe()
  await reconnected
  await c.ping()
  t.same(seen, [['name n', 'sub t', 'unsub t'], ['name n', 'sub t', 'unsub t', 'ping']], 'the durable subscription is ended from the new connection')
})
