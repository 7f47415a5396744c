import t from 'tap'
import { ackline, forwarder } from '../bench/peers/drivers'
import { startTestBroker } from '../helpers/broker'
import type { Server } from '../bench/peers/servers'
import { startServer } from '../bench/peers/servers'
import type { Settings } from '../bench/peers/common'

// The peer runner's harness end to end, on its own pseudo-peer (no broker to install):
// the forwarder process, the shared Publisher/Scanner/Meter, counts and latency samples.
const settings: Settings = {
  w1Messages: 3000,
  w2Messages: 2000,
  m1Count: 1,
  size: 100,
  window: 100,
  syncEvery: 10,
  rate: 0,
  inFlight: 100,
  runTimeoutMs: 30_000,
  stallMs: 5_000,
  ackline: { root: process.cwd(), w1InFlight: 1000, durableArgs: [] },
}

t.test('forwarder pseudo-peer: every publish confirmed, every line delivered to each subscriber', async (t) => {
  const srv = await startServer('forwarder')
  t.teardown(() => srv.stop())
  const w1 = await forwarder(srv, 'W1', 2, settings)
  t.equal(w1.note, 'forwards each line, OK per line')
  t.equal(w1.published, 3000)
  t.equal(w1.delivered, 6000)
  t.equal(w1.expected, 6000)
  t.ok(w1.complete)
  // one sample per 16 deliveries; a body cut by a chunk boundary passes its turn to the next delivery,
  // so the very last one may have none to pass it to
  t.ok(w1.samples === 375 || w1.samples === 374, `one latency sample per 16 deliveries (${w1.samples})`)
  t.ok(w1.p50 >= 0 && w1.p99 >= w1.p50)
  t.ok(w1.confirmP50 !== undefined && w1.confirmP50 >= 0, 'confirm latency sampled')

  const w2 = await forwarder(srv, 'W2', 1, settings)
  t.ok(w2.complete)
  t.equal(w2.delivered, 2000)
  t.equal(w2.acked, 2000, 'every ack line got its OK')
})

t.test('Ackline driver: ack each, batch acks and ack=none all deliver everything', async (t) => {
  const tb = await startTestBroker(t)
  const srv = { peer: 'ackline', port: tb.port, dir: '', pid: process.pid, version: 'in-process', stop: async () => undefined } as unknown as Server
  for (const ack of ['each', 'batch=25']) {
    const w2 = await ackline(srv, 'W2', 1, { ...settings, ackline: { ...settings.ackline, ack } })
    t.ok(w2.complete, `W2 ${ack}: complete (${w2.note})`)
    t.equal(w2.delivered, 2000)
    t.equal(w2.acked, 2000, `W2 ${ack}: every id acked, counted from the replies`)
  }
  const w1 = await ackline(srv, 'W1', 2, { ...settings, ackline: { ...settings.ackline, ack: 'none' } })
  t.ok(w1.complete, w1.note)
  t.equal(w1.delivered, 6000)
  t.equal(w1.acked, 0)
  t.match(w1.note, /ack=none/)
  const st = JSON.parse((await (await tb.client()).request('stats')).slice(3)) as { acked: number }
  t.equal(st.acked, 4000, 'the broker acked the 2000 events of each W2 run')
})
