import t from 'tap'
import { startBroker, type Broker } from '../../src/broker'
import { startTestBroker, tempDir } from '../helpers/broker'
import { connect, type AcklineClient, type ConnectOptions } from '../../src/client'

async function client (t: { teardown: (fn: () => unknown) => void }, port: number, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = await connect({ port, ...opts })
  t.teardown(() => c.close())
  return c
}

t.test('a consumer group of two clients shares the events, each once; forgetting it ends the loops', async t => {
  const tb = await startTestBroker(t)
  const admin = await client(t, tb.port)
  const [a, b] = [await client(t, tb.port), await client(t, tb.port, { name: 'b' })]
  await admin.publish('jobs', { msg: 'create' })
  const sa = a.subscribe('jobs', { group: 'workers', maxInFlight: 1 })
  const sb = b.subscribe('jobs', { group: 'workers', maxInFlight: 2 })
  t.same(await sa.ready, { maxInFlight: 1, resumed: false, pending: 0 })
  t.same(await sb.ready, { maxInFlight: 2, resumed: true, pending: 0 })
  await admin.publishMany('jobs', Array.from({ length: 20 }, (_, i) => ({ id: `j${i}`, msg: i })))
  const seen = new Map<string, string>()
  const take = async (name: string, sub: typeof sa): Promise<void> => {
    for await (const ev of sub) {
      t.notOk(seen.has(ev.id), `${ev.id} once`)
      seen.set(ev.id, name)
      await ev.ack()
      if (seen.size === 20) break
    }
  }
  await Promise.race([take('a', sa), take('b', sb)])
  t.equal(seen.size, 20)
  t.ok([...seen.values()].includes('a') && [...seen.values()].includes('b'), 'both members got some')
})

t.test('a group member across a broker restart: resubscribed as resumed, nothing lost or acked twice', async t => {
  const logDir = tempDir()
  let broker: Broker = await startBroker({ overrides: { host: '127.0.0.1', port: 0, http: null, logDir } })
  const port = broker.address!.port
  t.teardown(() => broker.stop())
  const c = await client(t, port, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
  await c.publish('jobs', { msg: 'create' })
  const sub = c.subscribe('jobs', { group: 'workers', maxInFlight: 3 })
  await sub.ready
  await c.publishMany('jobs', Array.from({ length: 30 }, (_, i) => ({ id: `j${i}`, msg: i })))
  const told: unknown[] = []
  c.on('resubscribed', e => told.push(e))
  const acked = new Map<string, number>()
  let restarted = false
  for await (const ev of sub) {
    if (acked.size === 10 && !restarted) {
      restarted = true
      await broker.stop()
      broker = await startBroker({ overrides: { host: '127.0.0.1', port, http: null, logDir } })
      continue
    }
    if (await ev.ack()) acked.set(ev.id, (acked.get(ev.id) ?? 0) + 1)
    if (acked.size === 30) break
  }
  t.same(told, [{ topic: 'jobs', resumed: true, from: 'resumed' }])
  t.same([...acked.values()].filter(n => n !== 1), [])
})

t.test('forgetting the group ends its members loops with GROUP_FORGOTTEN', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('jobs', { msg: 'create' })
  const sub = c.subscribe('jobs', { group: 'workers' })
  await sub.ready
  const admin = await client(t, tb.port)
  const lc = await tb.client()
  t.match(await lc.request('unsub jobs forget group=workers'), /^OK forgot group workers on jobs/)
  await t.rejects(sub.next(), { code: 'GROUP_FORGOTTEN' })
  void admin
})
