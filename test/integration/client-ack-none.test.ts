import t from 'tap'
import { startBroker, type Broker } from '../../src/broker'
import { startTestBroker, tempDir } from '../helpers/broker'
import { runCliToEnd, spawnCli } from '../helpers/cli'
import { connect, type AcklineClient, type AcklineEvent, type ConnectOptions, type Subscription } from '../../src/client'

// At-most-once subscriptions (ack: 'none', the broker's ack=none) from the client and `ackline sub --ack none`.

type Teardown = { teardown: (fn: () => unknown) => void }

async function client (t: Teardown, target: number | string, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = typeof target === 'number' ? await connect({ port: target, ...opts }) : await connect(target, opts)
  t.teardown(() => c.close())
  return c
}

async function next (sub: Subscription): Promise<AcklineEvent> {
  const r = await sub.next()
  if (r.done === true) throw new Error('the subscription ended')
  return r.value
}

for (const transport of ['TCP', 'WebSocket'] as const) {
  t.test(`${transport}: events come without acks; ack() sends nothing and resolves true, nack() and touch() false`, async t => {
    const tb = await startTestBroker(t)
    const target = transport === 'TCP' ? tb.port : `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`
    const c = await client(t, target)
    await c.publish('telemetry', { msg: 'create' })
    const sub = c.subscribe('telemetry', { ack: 'none' })
    t.same(await sub.ready, { maxInFlight: 0, resumed: false, pending: 0 })
    await c.publishMany('telemetry', [{ msg: 'cpu 41%' }, { msg: 'cpu 43%', priority: 9 }, { msg: 'cpu 40%' }])
    const got: string[] = []
    for (let i = 0; i < 3; i++) {
      const ev = await next(sub)
      got.push(String(ev.data.msg))
      t.equal(await ev.ack(), true)
      t.equal(await ev.nack(), false)
      t.equal(await ev.touch(), false)
      t.equal(ev.deliveries, 1)
    }
    t.same(got, ['cpu 41%', 'cpu 43%', 'cpu 40%'], 'more than the broker maxInFlight would let through, none acked')
    const stats = await c.stats()
    t.equal(stats.acked, 0, 'no ack reached the broker')
    t.match(await c.stats('telemetry'), { pending: 0, inFlight: 0, subscribers: [{ name: null, ack: 'none' }] })
  })
}

t.test('the broker refuses ack=none where it has no meaning: the loop throws BAD_OPTION', async t => {
  const tb = await startTestBroker(t)
  const named = await client(t, tb.port, { name: 'keeper' })
  await named.publish('telemetry', { msg: 'create' })
  await t.rejects(named.subscribe('telemetry', { ack: 'none' }).ready, { code: 'BAD_OPTION', message: /ack=none is for anonymous subscriptions/ })
  const anon = await client(t, tb.port)
  const capped = anon.subscribe('telemetry', { ack: 'none', maxInFlight: 5 })
  await t.rejects(capped.next(), { code: 'BAD_OPTION', message: /ack=none takes no max-in-flight/ })
  const replay = anon.subscribe('telemetry', { ack: 'none', from: 'beginning' })
  await t.rejects(replay.ready, { code: 'BAD_OPTION', message: /ack=none takes no from=/ })
})

t.test('across a broker restart: made again at "now", and the app is told', async t => {
  const logDir = tempDir()
  let broker: Broker = await startBroker({ overrides: { host: '127.0.0.1', port: 0, http: null, logDir } })
  const port = broker.address!.port
  t.teardown(() => broker.stop())
  const c = await client(t, port, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
  await c.publish('telemetry', { msg: 'create' })
  const sub = c.subscribe('telemetry', { ack: 'none' })
  await sub.ready
  const told = new Promise(resolve => c.once('resubscribed', resolve))
  await broker.stop()
  broker = await startBroker({ overrides: { host: '127.0.0.1', port, http: null, logDir } })
  t.same(await told, { topic: 'telemetry', resumed: false, from: 'latest' })
  await c.publish('telemetry', { id: 'after', msg: 'after the restart' })
  const ev = await next(sub)
  t.equal(ev.id, 'after')
  t.equal(await ev.ack(), true)
})

t.test('ackline sub --ack none prints events without acking them', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('telemetry', { msg: 'create' })
  const run = spawnCli(['sub', 'telemetry', '--ack', 'none', '--count', '2', '--port', String(tb.port)])
  for (let i = 0; i < 250 && (await c.stats('telemetry')).subscriptions === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  await c.publishMany('telemetry', ['{"id":"t1","msg":1}', '{"id":"t2","msg":2}', '{"id":"t3","msg":3}'])
  t.equal(await run.exited, 0)
  t.same(run.stdout().trim().split('\n').map(l => (JSON.parse(l) as { id: string }).id), ['t1', 't2'])
  t.equal(run.stderr(), '')
  t.equal((await c.stats()).acked, 0)
  const named = await runCliToEnd(['sub', 'telemetry', '--ack', 'none', '--name', 'n1', '--port', String(tb.port)])
  t.equal(named.code, 1)
  t.match(named.stderr, /^ackline: BAD_OPTION ack=none is for anonymous subscriptions/)
  const badAck = await runCliToEnd(['sub', 'telemetry', '--ack', 'some', '--port', String(tb.port)])
  t.same(badAck, { code: 2, stdout: '', stderr: 'ackline: --ack must be each or none, got "some"\n' })
})
