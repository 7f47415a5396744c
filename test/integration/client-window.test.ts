import t from 'tap'
import { startTestBroker, waitFor } from '../helpers/broker'
import { LineProxy } from '../helpers/proxy'
import { connect, type AcklineClient, type ConnectOptions } from '../../src/client'

async function client (t: { teardown: (fn: () => unknown) => void }, port: number, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = await connect({ port, ...opts })
  t.teardown(() => c.close())
  return c
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('publishes are pipelined up to publishWindow and no further; other commands are not held behind them', async t => {
  const tb = await startTestBroker(t)
  const proxy = await LineProxy.start(t, tb.port)
  const c = await client(t, proxy.port, { publishWindow: 3 })
  const pubs = (): number => proxy.sent.filter(l => l.startsWith('pub ')).length
  proxy.holdReplies()
  const results = [1, 2, 3, 4, 5].map(i => c.publish('w', { msg: i }))
  await waitFor(() => pubs() === 3, 'three publishes sent')
  const ping = c.ping()
  await waitFor(() => proxy.sent.at(-1) === 'ping', 'the ping sent with the window full')
  await sleep(100)
  t.equal(pubs(), 3, 'the window is full: the fourth waits for a reply')
  proxy.release()
  t.same((await Promise.all(results)).map(r => r.id), ['1', '2', '3', '4', '5'], 'in order')
  t.type(await ping, 'number')
  t.same(proxy.sent.filter(l => l.startsWith('pub ')), [1, 2, 3, 4, 5].map(i => `pub w {"msg":${i}}`), 'each sent once, in order')
})

t.test('a window of 1 sends one publish at a time', async t => {
  const tb = await startTestBroker(t)
  const proxy = await LineProxy.start(t, tb.port)
  const c = await client(t, proxy.port, { publishWindow: 1 })
  const pubs = (): number => proxy.sent.filter(l => l.startsWith('pub ')).length
  proxy.holdReplies()
  const results = c.publishMany('one', [{ msg: 1 }, { msg: 2 }])
  await waitFor(() => pubs() === 1, 'the first publish sent')
  await sleep(100)
  t.equal(pubs(), 1)
  proxy.release()
  t.match(await results, [{ ok: true, id: '1' }, { ok: true, id: '2' }])
})

t.test('the default window: 1000 publishes go out before the first reply, the 1001st waits', async t => {
  const tb = await startTestBroker(t)
  const proxy = await LineProxy.start(t, tb.port)
  const c = await client(t, proxy.port)
  const pubs = (): number => proxy.sent.filter(l => l.startsWith('pub ')).length
  proxy.holdReplies()
  const results = Array.from({ length: 1001 }, (_, i) => c.publish('many', { msg: i }))
  await waitFor(() => pubs() === 1000, '1000 publishes sent')
  await sleep(100)
  t.equal(pubs(), 1000)
  proxy.release()
  t.equal((await Promise.all(results)).at(-1)!.id, '1001')
})

t.test('a lost connection: publishes in flight reject DISCONNECTED (and may be stored), queued ones go out after the reconnect', async t => {
  const tb = await startTestBroker(t)
  const proxy = await LineProxy.start(t, tb.port)
  const c = await client(t, proxy.port, { publishWindow: 2, reconnect: { initialDelayMs: 50 } })
  const pubs = (): number => proxy.sent.filter(l => l.startsWith('pub ')).length
  proxy.holdReplies()
  const results = [1, 2, 3, 4].map(i => c.publish('lost', { id: `p${i}`, msg: i }).then(r => r.id, (err: { code: string, message: string }) => err))
  await waitFor(() => pubs() === 2, 'the window sent')
  const reconnected = new Promise(resolve => c.once('reconnect', resolve))
  proxy.cut()
  proxy.release()
  await reconnected
  const [p1, p2, p3, p4] = await Promise.all(results)
  t.match(p1, { code: 'DISCONNECTED', message: /lost.*; this publish may or may not have been stored$/ })
  t.match(p2, { code: 'DISCONNECTED' })
  t.same([p3, p4], ['p3', 'p4'], 'the queued ones were published on the new connection')
  const stats = await c.stats('lost')
  t.equal(stats.published, 4, 'the broker had stored the two that were in flight: retrying them would publish twice')
})
