import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startTestBroker } from '../helpers/broker'
import { CLI } from '../helpers/cli'
import { runBench } from '../../src/bench'

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
