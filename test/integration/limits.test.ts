import t from 'tap'
import { ManualClock } from '../helpers/clock'
import { connect } from 'node:net'
import { startTestBroker, type TestBroker } from '../helpers/broker'
import type { Connection } from '../../src/server/connection'

/** Polls until `cond` holds (no timing is asserted: the deadline only bounds a hang). */
async function waitFor (cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** The broker-side connection of the most recently opened client. */
function newest (tb: TestBroker): Connection {
  let last: Connection | undefined
  for (const c of tb.broker.server.connections) last = c
  return last!
}

t.test('maxConnections: N connections are served, connection N+1 is refused, others unaffected', async t => {
  const tb = await startTestBroker(t, { maxConnections: 3 })
  const clients = [await tb.client(), await tb.client(), await tb.client()]
  for (const c of clients) t.equal(await c.request('ping'), 'OK PONG')
  const extra = await tb.client()
  t.equal(await extra.next(), 'ERR TOO_MANY_CONNECTIONS the broker is at its limit of 3 connections (maxConnections); try again later')
  await extra.closedByPeer()
  for (const c of clients) t.equal(await c.request('ping'), 'OK PONG', 'existing clients still served')
  clients[0].destroy()
  await waitFor(() => tb.broker.server.connections.size === 2, 'the broker to see the close')
  const again = await tb.client()
  t.equal(await again.request('ping'), 'OK PONG', 'a freed slot is usable again')
  t.equal(tb.broker.manager.ctx.stats.limitHits.maxConnections, 1, 'the hit is counted')
})

t.test('maxConnectionsPerIp: N from one address are served, N+1 is refused, others unaffected', async t => {
  const tb = await startTestBroker(t, { maxConnections: 10, maxConnectionsPerIp: 2 })
  const a = await tb.client()
  const b = await tb.client()
  t.equal(await a.request('ping'), 'OK PONG')
  t.equal(await b.request('ping'), 'OK PONG')
  const c = await tb.client()
  t.equal(await c.next(), 'ERR TOO_MANY_CONNECTIONS_PER_IP your address 127.0.0.1 is at its limit of 2 connections (maxConnectionsPerIp); close one first')
  await c.closedByPeer()
  t.equal(await a.request('ping'), 'OK PONG', 'the other connections from that address are unaffected')
  t.equal(tb.broker.server.connections.size, 2)

  // Another loopback address (Linux routes all of 127/8 to lo) has its own count.
  const other = await new Promise<string | null>((resolve) => {
    const s = connect({ port: tb.port, host: '127.0.0.1', localAddress: '127.0.0.2' })
    let got = ''
    s.setEncoding('utf8')
    s.on('connect', () => s.write('ping\n'))
    s.on('data', (d: string) => { got += d; if (got.includes('\n')) { s.destroy(); resolve(got.trim()) } })
    s.on('error', () => resolve(null))
  })
  if (other === null) t.comment('127.0.0.2 is not usable here; skipped the second-address check')
  else t.equal(other, 'OK PONG', 'a client from another address is still accepted')
  b.destroy()
  await waitFor(() => tb.broker.server.connections.size === 1, 'the broker to see the close')
  const d = await tb.client()
  t.equal(await d.request('ping'), 'OK PONG', 'a freed per-address slot is usable again')
})

t.test('maxSubscriptionsPerConnection: N subscriptions allowed, N+1 refused, others unaffected', async t => {
  const tb = await startTestBroker(t, { maxSubscriptionsPerConnection: 2 })
  const p = await tb.client()
  for (const topic of ['t1', 't2', 't3']) await p.request(`pub ${topic} {"msg":"create"}`)
  const a = await tb.client()
  t.match(await a.request('sub t1'), /^OK subscribed to t1/)
  t.match(await a.request('sub t2'), /^OK subscribed to t2/)
  t.equal(await a.request('sub t3'), 'ERR TOO_MANY_SUBSCRIPTIONS this connection is at its limit of 2 subscriptions (maxSubscriptionsPerConnection); unsub from one first')
  t.equal(await a.request('sub t1'), 'ERR ALREADY_SUBSCRIBED already subscribed to t1', 'other errors still take precedence')
  const b = await tb.client()
  t.match(await b.request('sub t2'), /^OK subscribed/, 'another connection has its own count')
  t.match(await b.request('sub t3'), /^OK subscribed/)
  t.match(await a.request('unsub t1'), /^OK unsubscribed/)
  t.match(await a.request('sub t3'), /^OK subscribed to t3/, 'after unsub there is room again')
  t.match(await p.request('pub t3 {"msg":"still flowing"}'), /\(2 subscribers\)/)
  t.match((await a.event()).event, { msg: 'still flowing' })
  t.match((await b.event()).event, { msg: 'still flowing' })
})

t.test('maxTopics: N topics allowed, a pub creating topic N+1 is refused, existing topics unaffected', async t => {
  const tb = await startTestBroker(t, { maxTopics: 2 })
  const a = await tb.client()
  const b = await tb.client()
  t.match(await a.request('pub one {"msg":"1"}'), /^OK 1 published to one/)
  t.match(await a.request('pub two {"msg":"2"}'), /^OK 1 published to two/)
  t.equal(await a.request('pub three {"msg":"3"}'), 'ERR TOO_MANY_TOPICS the broker is at its limit of 2 topics (maxTopics); topic three was not created')
  t.equal(await b.request('pub four {"msg":"4"}'), 'ERR TOO_MANY_TOPICS the broker is at its limit of 2 topics (maxTopics); topic four was not created')
  t.match(await b.request('sub one'), /^OK subscribed to one/)
  t.match(await a.request('pub one {"msg":"again"}'), /^OK 2 published to one \(1 subscriber\)/, 'existing topics keep working')
  t.match((await b.event()).event, { msg: 'again' })
  t.equal(tb.broker.store.topics.size, 2)
  t.match(await a.request('pub three {"msg"'), /^ERR BAD_JSON /, 'a bad event is reported as such, not as a limit')
})

t.test('idleTimeoutMs at its edge: idle connections close, subscribers and pinging clients stay', async t => {
  // A manual clock: the sweep is driven with explicit times.
  const clock = new ManualClock()
  const tb = await startTestBroker(t, { idleTimeoutMs: 60000 }, clock)
  const limits = tb.broker.server.limits
  const p = await tb.client()
  await p.request('pub news {"msg":"create"}')
  const subscriber = await tb.client()
  await subscriber.request('sub news')
  const idle = await tb.client()
  t.equal(await idle.request('ping'), 'OK PONG')
  const idleConn = newest(tb)
  const last = limits.lastInput(idleConn)!
  // The publisher's later ping keeps it alive: only `idle` is due at last + 60000.
  clock.advance(5)
  t.equal(await p.request('ping'), 'OK PONG')
  t.ok(limits.lastInput(idleConn)! === last && limits.sweep(last + 59999) === 0, 'one millisecond before the timeout nothing closes')
  t.equal(limits.sweep(last + 60000), 1, 'at the timeout the idle connection closes')
  t.equal(await idle.next(), 'ERR IDLE_TIMEOUT no input for 60000 ms (idleTimeoutMs) and no subscriptions; closing the connection')
  await idle.closedByPeer()
  t.equal(limits.sweep(clock.now() + 10 * 60000), 1, 'much later the publisher (no subscriptions) is idle too')
  await p.closedByPeer()
  t.equal(await subscriber.request('ping'), 'OK PONG', 'a subscribed connection is never idle-closed')
  t.equal(tb.broker.manager.ctx.stats.limitHits.idleTimeoutMs, 2)
})

t.test('idleTimeoutMs with the real timer: an idle connection is told and closed', async t => {
  const tb = await startTestBroker(t, { idleTimeoutMs: 100 })
  const idle = await tb.client()
  t.equal(await idle.next(), 'ERR IDLE_TIMEOUT no input for 100 ms (idleTimeoutMs) and no subscriptions; closing the connection')
  await idle.closedByPeer()
  await waitFor(() => tb.broker.server.connections.size === 0, 'the broker to drop the idle connection')
  t.equal(tb.broker.manager.ctx.stats.connections, 0)
})

t.test('an ended session whose client keeps its side open is dropped after the idle timeout', async t => {
  const tb = await startTestBroker(t, { idleTimeoutMs: 60000 })
  const c = await tb.client()
  t.equal(await c.request('quit'), 'OK bye')
  await waitFor(() => newest(tb)?.socket.writableEnded === true, 'the broker to end its side')
  t.equal(tb.broker.server.connections.size, 1, 'half-open: the client has not closed its side')
  tb.broker.server.limits.sweep(Date.now() + 60000)
  await c.closedByPeer()
  await waitFor(() => tb.broker.server.connections.size === 0, 'the broker to drop it')
})

t.test('limits are config: validated by the schema', async t => {
  const { resolveConfig } = await import('../../src/config/loadConfig')
  for (const field of ['maxConnectionsPerIp', 'maxSubscriptionsPerConnection', 'maxTopics', 'idleTimeoutMs']) {
    t.throws(() => resolveConfig({ overrides: { [field]: 0 } }), new RegExp(`: ${field} must be >= 1$`))
  }
})
