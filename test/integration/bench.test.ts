import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startTestBroker } from '../helpers/broker'
import { CLI } from '../helpers/cli'
import { formatBenchResult, runBench } from '../../src/bench'
import { benchOptionsFrom } from '../../src/bench/command'

const run = promisify(execFile)

t.test('ackline bench drives a real broker: everything published is delivered and acked', async t => {
  const tb = await startTestBroker(t)
  const r = await runBench({ port: tb.port, publishers: 2, subscribers: 2, topics: 2, messages: 2000, size: 120, priorities: { min: 0, max: 9 }, inFlight: 50, progress: false, durationLimitMs: 60000 })
  t.equal(r.fatal, null)
  t.equal(r.complete, true)
  t.equal(r.published, 2000)
  t.equal(r.publishErrors, 0)
  t.equal(r.expectedDeliveries, 4000, 'two subscribers on every topic')
  t.equal(r.delivered, 4000)
  t.equal(r.acked, 4000)
  t.equal(r.latencyMs.count, r.delivered, "a latency sample per delivery")
  t.equal(r.confirmLatencyMs.count, 2000, "a confirm-latency sample per pub")
  t.same(tb.broker.store.counts().pending, 0, 'nothing left pending in the broker')
})

t.test('ackline bench --json from the CLI, and --no-ack leaves the cap in flight', async t => {
  const tb = await startTestBroker(t)
  const { stdout } = await run(process.execPath, [CLI, 'bench', '--port', String(tb.port), '--messages', '500', '--json', '--no-progress'])
  const r = JSON.parse(stdout) as { complete: boolean, published: number, delivered: number, acked: number }
  t.match(r, { complete: true, published: 500, delivered: 500, acked: 500 })
  const noAck = await runBench({ port: tb.port, messages: 300, inFlight: 20, ack: false, progress: false, durationLimitMs: 20000 })
  t.equal(noAck.published, 300)
  t.equal(noAck.acked, 0)
  t.equal(noAck.delivered, 20, 'without acks only the in-flight cap is delivered')
})

t.test('ackline bench --ack batch=<n> and --ack none', async t => {
  const tb = await startTestBroker(t)
  const batch = await runBench({ port: tb.port, messages: 1000, subscribers: 2, inFlight: 50, ackMode: { batch: 16 }, priorities: { min: 0, max: 9 }, progress: false, durationLimitMs: 30000 })
  t.match(batch, { complete: true, published: 1000, delivered: 2000, acked: 2000, ackErrors: 0, redelivered: 0 })
  t.equal(batch.config.ackMode, 'batch=16')
  const none = await runBench({ port: tb.port, messages: 1000, subscribers: 2, ackMode: 'none', progress: false, durationLimitMs: 30000 })
  t.match(none, { complete: true, published: 1000, delivered: 2000, acked: 0, ackErrors: 0 })
  t.match(formatBenchResult(none), /ack=none .*\n[^]*acked {7}off/)
  const st = JSON.parse((await (await tb.client()).request('stats')).slice(3)) as { acked: number, atMostOnceDropped: number }
  t.equal(st.acked, 2000, 'the broker counted every id of the batch acks, and none for ack=none')
  t.equal(st.atMostOnceDropped, 0)
  t.throws(() => benchOptionsFrom({ ack: 'batch=0', progress: false }), /invalid batch size "0"/)
  t.throws(() => benchOptionsFrom({ ack: 'some', progress: false }), /invalid ack mode "some" \(expected each, none or batch=<n>\)/)
  t.same(benchOptionsFrom({ ack: 'BATCH=8', progress: false }).ackMode, { batch: 8 })
  t.equal(benchOptionsFrom({ ack: true, progress: false }).ackMode, 'each')
})
