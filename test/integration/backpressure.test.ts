import t from 'tap'
import { startTestBroker, waitFor } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import type { Connection } from '../../src/server/connection'

function brokerSide (tb: Awaited<ReturnType<typeof startTestBroker>>, excludeIds: Set<number>): Connection {
  for (const c of tb.broker.server.connections) if (!excludeIds.has(c.id)) return c
  throw new Error('no connection')
}

t.test('a client that writes but never reads does not grow the broker\'s buffers', async t => {
  const tb = await startTestBroker(t, { maxQueuedLines: 1000, flushBytes: 16384 })
  const a = await tb.client()
  await a.request('ping')
  const conn = brokerSide(tb, new Set())
  a.socket.pause() // stop reading: replies pile up on the broker side unless it applies back-pressure
  const chunk = 'ping\n'.repeat(10000)
  let sent = 0
  let maxOutbound = 0
  let maxQueued = 0
  // Keep writing until our own socket buffers 4 MiB: the broker has stopped reading from us.
  for (let i = 0; i < 400 && a.socket.writableLength < 4 * 1024 * 1024; i++) {
    a.socket.write(chunk)
    sent += 10000
    await new Promise(resolve => setImmediate(resolve))
    maxOutbound = Math.max(maxOutbound, conn.outboundBytes)
    maxQueued = Math.max(maxQueued, conn.queuedLines)
  }
  await new Promise(resolve => setTimeout(resolve, 200))
  maxOutbound = Math.max(maxOutbound, conn.outboundBytes)
  t.ok(a.socket.writableLength >= 4 * 1024 * 1024, 'the broker stopped reading from a client that does not read')
  t.ok(maxOutbound < 2 * 1024 * 1024, `broker-side outbound buffer stays bounded (max ${maxOutbound} bytes)`)
  // Reading pauses at maxQueuedLines; one socket read (64 KiB of 5-byte lines) may land on top.
  t.ok(maxQueued <= 1000 + 65536 / 5, `queued input lines stay bounded (max ${maxQueued})`)
  // Once the client reads again, every command is answered: nothing was dropped.
  a.socket.resume()
  let pongs = 0
  while (pongs < sent) {
    if ((await a.next(10000)) === 'OK PONG') pongs++
  }
  t.equal(pongs, sent, `all ${sent} pings answered after the client resumed reading`)
})

t.test('a subscriber that never reads gets at most its in-flight cap; others are served', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await p.request('pub firehose {"msg":"create"}')
  const slow = await tb.client()
  await slow.request('sub firehose 5')
  slow.socket.pause()
  const fast = await tb.client()
  await fast.request('sub firehose 1000')
  const payload = 'x'.repeat(1000)
  const n = 3000
  for (let i = 0; i < n; i++) p.send(`pub firehose {"id":${i},"msg":"${payload}"}`)
  let acked = 0
  let replies = 0
  while (acked < n || replies < n) {
    const line = await Promise.race([fast.next(), p.next()])
    if (line.startsWith('EVENT ')) {
      fast.send(`ack firehose ${JSON.parse(line.slice(15)).id as number}`)
    } else if (line.startsWith('OK acked')) {
      acked++
    } else if (line.startsWith('OK ')) {
      replies++
    }
  }
  t.equal(acked, n, 'the reading subscriber got and acked everything')
  const slowSub = tb.broker.store.topic('firehose')!.subscriptions.get('#2')!
  t.equal(slowSub.inFlight.size, 5, 'the non-reading subscriber has only its cap in flight')
  t.equal(slowSub.pending, n - 5, 'the rest waits in its queue')
})

t.test('a client that never drains is disconnected after drainTimeoutMs', async t => {
  const clock = new ManualClock()
  const tb = await startTestBroker(t, { drainTimeoutMs: 300, flushBytes: 1024 }, clock)
  const p = await tb.client()
  await p.request('pub big {"msg":"create"}')
  const stuck = await tb.client()
  await stuck.request('sub big 1000')
  stuck.socket.pause()
  const payload = 'y'.repeat(60000)
  for (let i = 0; i < 200; i++) p.send(`pub big {"msg":"${payload}"}`)
  for (let i = 0; i < 200; i++) await p.reply()
  clock.advance(299)
  t.equal(tb.broker.server.connections.size, 2, 'not dropped before drainTimeoutMs')
  clock.advance(1)
  await waitFor(() => tb.broker.server.connections.size === 1, 'the stuck client to be dropped')
  t.pass('the stuck client was dropped at drainTimeoutMs')
  t.equal(await p.request('ping'), 'OK PONG', 'the publisher was served throughout')
})
