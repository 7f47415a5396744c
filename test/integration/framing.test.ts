import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { bytes, RawClient } from '../helpers/telnet'

t.test('line too long: one ERR, rest of the line discarded, connection still usable', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: 1024 })
  const a = await tb.client()
  const other = await tb.client()
  const exact = `pub t {"msg":"${'x'.repeat(1024 - 'pub t {"msg":""}'.length)}"}`
  t.equal(Buffer.byteLength(exact), 1024)
  t.equal(await a.request(exact), 'OK 1 published to t (0 subscribers)', 'a line of exactly maxLineBytes is accepted')
  a.send(exact + 'y')
  t.equal(await a.reply(), 'ERR LINE_TOO_LONG line exceeds maxLineBytes (1024 bytes); discarded up to the next newline')
  // A huge line in pieces: the ERR comes as soon as it is too long, once.
  a.socket.write('pub t {"msg":"' + 'z'.repeat(5000))
  t.match(await a.reply(), /^ERR LINE_TOO_LONG/)
  a.socket.write('z'.repeat(100000))
  a.socket.write('"}\nping\n')
  t.equal(await a.reply(), 'OK PONG')
  t.ok(await a.quiet(), 'exactly one ERR for the long line')
  t.equal(await other.request('ping'), 'OK PONG', 'other clients never notice')
})

t.test('telnet client: IAC negotiation, CRLF, CR NUL, split reads', async t => {
  const tb = await startTestBroker(t)
  const a = await RawClient.connect(tb.port)
  t.teardown(() => a.destroy())
  a.socket.write(Buffer.from([255, 251, 31, 255, 251, 32, 255, 253, 3])) // WILL NAWS, WILL TSPEED, DO SGA
  a.socket.write('pi')
  await new Promise(resolve => setTimeout(resolve, 20))
  a.socket.write('ng\r\n')
  a.socket.write(Buffer.from('ping\r\0'))
  const got = await a.waitFor('OK PONG\n', 2)
  t.same([...got], [...bytes([255, 254, 31, 255, 254, 32, 255, 252, 3], 'OK PONG\nOK PONG\n')], 'each offer refused (DONT, WONT)')
  a.socket.write('\r\n\r\n   \nping\n')
  t.equal((await a.waitFor('OK PONG\n', 3)).length, got.length + 'OK PONG\n'.length, 'blank lines get no reply')
})

t.test('10,000 pipelined pubs in one write are answered in order', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub bulk {"msg":"create"}')
  await s.request('sub bulk 1000')
  const n = 10000
  const lines: string[] = []
  for (let i = 0; i < n; i++) lines.push(`pub bulk {"id":${i},"priority":${i % 10},"msg":"m${i}"}`)
  p.send(...lines)
  let inOrder = 0
  for (let i = 0; i < n; i++) if ((await p.next()) === `OK ${i} published to bulk (1 subscriber)`) inOrder++
  t.equal(inOrder, n, 'every reply in order')
  t.equal(p.lines.length, n + 1, 'exactly one reply per line')
  // The subscriber drains everything by acking as it goes.
  const seen = new Set<unknown>()
  const ackOrder: number[] = []
  let acked = 0
  while (acked < n) {
    const line = await s.next()
    if (line.startsWith('EVENT ')) {
      const id = JSON.parse(line.slice('EVENT bulk '.length)).id as number
      seen.add(id)
      ackOrder.push(id)
      s.send(`ack bulk ${id}`)
    } else {
      if (line !== `OK acked ${ackOrder[acked]} on bulk`) t.fail(`unexpected ${line}`)
      acked++
    }
  }
  t.equal(seen.size, n, 'every event delivered once')
  t.same(tb.broker.store.counts(), { topics: 1, subscriptions: 1, pending: 0, inFlight: 0 })
})

t.test('per-connection order holds whatever the pool concurrency, with many clients at once', async t => {
  for (const workerConcurrency of [1, 16]) {
    const tb = await startTestBroker(t, { workerConcurrency, workerBatchLines: 7 })
    const clients = await Promise.all(Array.from({ length: 6 }, () => tb.client()))
    const n = 500
    clients.forEach((c, k) => {
      const lines: string[] = []
      for (let i = 0; i < n; i++) lines.push(i % 50 === 49 ? 'ping' : `pub t${k} {"id":${i},"msg":${i}}`)
      c.send(...lines)
    })
    for (const [k, c] of clients.entries()) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const want = i % 50 === 49 ? 'OK PONG' : `OK ${i} published to t${k} (0 subscribers)`
        if ((await c.next()) !== want) bad++
      }
      t.equal(bad, 0, `concurrency ${workerConcurrency}: client ${k} got its ${n} replies in order`)
    }
    await tb.stop()
  }
})
