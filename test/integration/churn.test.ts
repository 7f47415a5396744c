/**
 * Connection churn, bounded: 2,000 connections opened and dropped in batches
 * (abrupt closes, half-open sockets, clients that never read, slow
 * subscribers). Afterwards the broker holds no connection, no anonymous
 * subscription, and still serves.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { startTestBroker, type TestBroker } from '../helpers/broker'

const TOTAL = 2000
const BATCH = 200

function open (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

async function waitFor (cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

function anonymousSubscriptions (tb: TestBroker): number {
  let n = 0
  for (const topic of tb.broker.store.topics.values()) {
    for (const s of topic.subscriptions.values()) if (!s.named) n++
  }
  return n
}

t.test(`${TOTAL} connections opened and dropped in every way leave nothing behind`, async t => {
  const tb = await startTestBroker(t, { maxConnections: 5000, maxConnectionsPerIp: 5000, drainTimeoutMs: 500 })
  const watcher = await tb.client()
  await watcher.request('pub churn {"msg":"create"}')
  const publisher = await tb.client()
  const payload = 'z'.repeat(2000)

  for (let base = 0; base < TOTAL; base += BATCH) {
    const sockets = await Promise.all(Array.from({ length: BATCH }, () => open(tb.port)))
    sockets.forEach((s, i) => {
      s.on('error', () => {})
      switch ((base + i) % 5) {
        case 0: // opened and dropped at once
          s.destroy()
          break
        case 1: // half-open: sends commands, then ends its write side; the broker answers and closes
          s.resume()
          s.end('sub churn\nping\n')
          break
        case 2: // never reads: floods pings, then vanishes
          s.pause()
          s.write('ping\n'.repeat(20000))
          break
        case 3: // slow subscriber: subscribes, never reads
          s.pause()
          s.write('sub churn 1000\n')
          break
        case 4: // well-behaved but drops mid-line
          s.resume()
          s.write('ping\npub churn {"msg":"partial')
          break
      }
    })
    // Let the subscriptions land, then publish so slow subscribers have data piling up.
    await watcher.request('ping')
    for (let k = 0; k < 20; k++) publisher.send(`pub churn {"msg":"${payload}"}`)
    for (let k = 0; k < 20; k++) await publisher.reply()
    t.equal(await watcher.request('ping'), 'OK PONG', `batch ${base / BATCH + 1}: still served`)
    for (const s of sockets) if ((sockets.indexOf(s) + base) % 5 !== 1) s.destroy()
    // Half-open clients are closed by the broker once it has answered them.
    await waitFor(() => tb.broker.server.connections.size === 2, `batch ${base / BATCH + 1} to close (${tb.broker.server.connections.size} open)`)
    for (const s of sockets) s.destroy()
  }

  t.equal(tb.broker.server.connections.size, 2, 'only the two long-lived clients remain')
  t.equal(anonymousSubscriptions(tb), 0, 'no anonymous subscription outlives its connection')
  t.equal(tb.broker.store.topic('churn')!.lowestOwed(), Infinity, 'no event is held for a subscriber that is gone')
  tb.broker.store.refreshPendingBytes()
  t.equal(tb.broker.store.pendingBytes, 0, 'and none is counted against maxPendingBytes')
  const stats = JSON.parse((await watcher.request('stats')).slice(3)) as Record<string, any>
  t.match(stats, { connections: 2, subscriptions: 0, pending: 0, inFlight: 0 })
  t.ok(stats.accepted >= TOTAL + 2, `stats counted ${stats.accepted} accepted connections`)
  t.match(await publisher.request('pub churn {"msg":"after"}'), /^OK \d+ published to churn \(0 subscribers\)/)
  t.equal(await watcher.request('ping'), 'OK PONG', 'still serves')
})
