import t from 'tap'
import { readFileSync } from 'node:fs'
import { startBroker, type Broker } from '../../src/broker'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { startTestBroker, tempDir, type TestBroker } from '../helpers/broker'
import { makeCert, testHash } from '../helpers/auth'
import { connect, AcklineError, type AcklineClient, type AcklineEvent, type ConnectOptions } from '../../src/client'

// The client over the broker's WebSocket endpoint (GET /ws, docs/http.md): the same API, the same lines.

type Teardown = { teardown: (fn: () => unknown) => void }

function wsUrl (b: Broker | TestBroker): string {
  const broker = 'broker' in b ? b.broker : b
  return `ws://127.0.0.1:${broker.httpAddress!.port}/ws`
}

async function client (t: Teardown, url: string, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = await connect(url, opts)
  t.teardown(() => c.close())
  return c
}

async function next (it: AsyncIterator<AcklineEvent>): Promise<AcklineEvent> {
  const r = await it.next()
  if (r.done === true) throw new Error('the subscription ended')
  return r.value
}

async function rejection (p: Promise<unknown>): Promise<AcklineError> {
  try {
    await p
  } catch (err) {
    if (err instanceof AcklineError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

t.test('publish, subscribe, ack, nack over WebSocket, next to a TCP client', async t => {
  const tb = await startTestBroker(t)
  const ws = await client(t, wsUrl(tb))
  const tcp = await connect({ port: tb.port })
  t.teardown(() => tcp.close())
  t.equal(ws.where, wsUrl(tb))
  t.match(await ws.publish('mixed', { msg: 'create' }), { id: '1', subscribers: 0 })
  const sub = ws.subscribe('mixed', { maxInFlight: 5 })
  t.match(await sub.ready, { maxInFlight: 5, resumed: false })
  await tcp.publish('mixed', '{"id":"m1", "msg" : 1.0}')
  const m1 = await next(sub)
  t.match(m1.raw, /^\{"priority":0,"id":"m1", "msg" : 1\.0,"timestamp":\d+,"offset":2\}$/, 'byte for byte, as over TCP')
  t.equal(await m1.nack(), true)
  const again = await next(sub)
  t.equal(again.deliveries, 2)
  t.equal(await again.ack(), true)
  t.equal(await again.ack(), false)
  t.match(await ws.stats('mixed'), { pending: 0, inFlight: 0, subscriptions: 1 })
  t.match(await rejection(ws.publish('mixed', { nomsg: 1 })), { code: 'BAD_EVENT' })
})

t.test('a burst is packed into frames no larger than maxFrameBytes (the broker closes a connection that sends a larger one)', async t => {
  const tb = await startTestBroker(t, { http: { port: 0, maxFrameBytes: 1024 } })
  const ws = await client(t, wsUrl(tb), { maxFrameBytes: 1024 })
  let lost: AcklineError | null = null
  ws.on('disconnect', (err) => { lost = err })
  const events = Array.from({ length: 300 }, (_, i) => ({ msg: `event number ${i} with some padding to make it longer` }))
  // Published in one turn: the lines go out together, about 25 kB.
  const results = await Promise.all(events.map(e => ws.publish('burst', e)))
  t.equal(results.length, 300, 'every publish answered')
  t.equal(lost, null, 'the connection stayed up')

  const unpacked = await client(t, wsUrl(tb), { maxFrameBytes: 1024 * 1024, reconnect: false })
  const gone = new Promise<AcklineError>(resolve => unpacked.once('disconnect', resolve))
  const refused = Promise.allSettled(events.map(e => unpacked.publish('burst', e)))
  t.match(await gone, { code: 'DISCONNECTED', message: /code 1009/ }, 'the same burst in one frame: closed by the broker (1009, message too big)')
  t.ok((await refused).every(o => o.status === 'rejected'))
})

t.test('auth and name over WebSocket; a refusal rejects connect() with its code', async t => {
  const users = { alice: { passwordHash: testHash('alice pw'), publish: ['*'], subscribe: ['*'] } }
  const tb = await startTestBroker(t, { auth: { required: true, users } })
  const c = await client(t, wsUrl(tb), { user: 'alice', password: 'alice pw', name: 'ws-alice' })
  t.match(await c.publish('x', { msg: 1 }), { id: '1' })
  t.equal((await rejection(connect(wsUrl(tb), { user: 'alice', password: 'nope' }))).code, 'AUTH_FAILED')
  t.equal((await rejection(connect(wsUrl(tb), { user: 'alice', password: 'alice pw', name: 'ws-alice' }))).code, 'NAME_IN_USE')
})

t.test('WebSocket connection failures: nothing listening, a path that is not /ws, a URL that is not ws://', async t => {
  const tb = await startTestBroker(t)
  const port = tb.broker.httpAddress!.port
  const notFound = await rejection(connect(`ws://127.0.0.1:${port}/nope`))
  t.equal(notFound.code, 'CONNECT_FAILED')
  t.match(notFound.message, /^cannot connect to ws:\/\/127\.0\.0\.1:\d+\/nope: Unexpected server response: 404$/)
  await tb.stop()
  t.match(await rejection(connect(`ws://127.0.0.1:${port}/ws`)), { code: 'CONNECT_FAILED', message: /ECONNREFUSED/ })
  await t.rejects(connect('http://127.0.0.1:8080/ws'), { name: 'TypeError', message: /must start with ws:\/\/ or wss:\/\// })
  await t.rejects(connect('127.0.0.1:8000'), TypeError)
})

t.test('wss:// with a private CA', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startTestBroker(t, { tls: { port: 0, certFile: cert, keyFile: key } })
  const url = `wss://127.0.0.1:${tb.broker.httpAddress!.port}/ws`
  const c = await client(t, url, { tls: { ca: readFileSync(cert) } })
  t.match(await c.publish('secure', { msg: 1 }), { id: '1' })
  t.match(await rejection(connect(url, { reconnect: false })), { code: 'CONNECT_FAILED', message: /self[- ]signed/ })
})

t.test('a named subscriber over WebSocket across a broker restart resumes, nothing lost or acked twice', async t => {
  const logDir = tempDir()
  const start = async (port: number, httpPort: number): Promise<Broker> =>
    startBroker({ overrides: { host: '127.0.0.1', port, http: { port: httpPort }, logDir } as ConfigOverrides })
  let broker = await start(0, 0)
  const ports = [broker.address!.port, broker.httpAddress!.port] as const
  t.teardown(() => broker.stop())
  const url = wsUrl(broker)
  const worker = await client(t, url, { name: 'ws-worker', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
  await worker.publish('jobs', { msg: 'create' })
  const sub = worker.subscribe('jobs', { maxInFlight: 5 })
  await sub.ready
  const publisher = await client(t, url, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
  await publisher.publishMany('jobs', Array.from({ length: 50 }, (_, i) => ({ id: `j${i}`, msg: i })))
  const resumed: boolean[] = []
  worker.on('resubscribed', ({ resumed: r }) => resumed.push(r))
  const acked = new Map<string, number>()
  let restarted = false
  for await (const ev of sub) {
    if (acked.size === 20 && !restarted) {
      restarted = true
      await broker.stop()
      broker = await start(ports[0], ports[1])
      t.equal(await ev.ack(), false, 'from the lost connection')
      continue
    }
    if (await ev.ack()) acked.set(ev.id, (acked.get(ev.id) ?? 0) + 1)
    if (acked.size === 50) break
  }
  t.same(resumed, [true])
  t.equal(acked.size, 50)
  t.same([...acked.values()].filter(n => n !== 1), [])
})
