import t from 'tap'
import { chmodSync, cpSync, mkdirSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestBroker, tempDir } from '../helpers/broker'
import { startBroker } from '../../src/broker'
import type { ConfigOverrides } from '../../src/config/loadConfig'

async function restartable (t: { teardown: (fn: () => unknown) => void }, dir: string, extra: ConfigOverrides = {}): Promise<Awaited<ReturnType<typeof startTestBroker>>> {
  return startTestBroker(t, { logDir: dir, ...extra })
}

t.test('graceful restart: topics, named subscriptions and pending events come back', async t => {
  const dir = tempDir()
  let tb = await restartable(t, dir)
  const p = await tb.client()
  await p.request('pub orders {"msg":"create"}')
  const s = await tb.client()
  await s.request('name alice')
  t.equal(await s.request('sub orders 2'), 'OK subscribed to orders (max in flight 2)')
  for (const [id, pr] of [['a', 1], ['b', 1], ['c', 9], ['d', 0], ['e', 5]] as const) {
    await p.request(`pub orders {"id":"${id}","priority":${pr},"msg":{"n":"${id}"},"extra":true}`)
  }
  t.match((await s.event()).event, { id: 'a' })
  t.match((await s.event()).event, { id: 'b' })
  await s.request('ack orders a')
  t.match((await s.event()).event, { id: 'c' })
  await tb.stop()

  // The topic's files are plain JSON Lines in the documented shape.
  t.same(readdirSync(join(dir, 'topics')), ['orders'])
  const topicDir = join(dir, 'topics', 'orders')
  const segment = readFileSync(join(topicDir, '00000000000000000001.jsonl'), 'utf8').split('\n')
  t.equal(segment.pop(), '', 'one event per line, each ended by a newline')
  const stored = segment.map(l => JSON.parse(l) as { id: unknown, offset: number })
  t.same(stored.map(e => [e.id, e.offset]), [[1, 1], ['a', 2], ['b', 3], ['c', 4], ['d', 5], ['e', 6]], 'every event of the topic, in offset order, acked ones included')
  t.match(stored[4], { id: 'd', priority: 0, msg: { n: 'd' }, extra: true, timestamp: Number, offset: 5 })
  const state = readdirSync(topicDir).filter(f => f.startsWith('state-')).map(f => readFileSync(join(topicDir, f), 'utf8')).join('')
  t.match(state, '["S","alice",2,30000,2,0]\n', 'the subscription: in-flight cap, ack timeout, owed from offset 2')
  t.notMatch(state, '["D","alice",2,', 'a was delivered and acked in the same batch: no D, its A says it all')
  t.match(state, '["A","alice",2,2]\n', 'a acked')
  t.match(state, '["D","alice",4,9,1]\n', 'c delivered')
  t.match(state, '["D","alice",3,1,1]\n', 'b delivered ...')
  t.notMatch(state, '["A","alice",3,', '... and not acked')
  for (const line of state.trim().split('\n')) t.ok(Array.isArray(JSON.parse(line)), `a state record: ${line}`)
  t.same(readdirSync(dir).filter(f => f.startsWith('journal-')), [], 'a clean shutdown leaves no journal behind')
  t.notOk(existsSync(join(dir, 'ackline.lock')), 'the lock is released')

  tb = await restartable(t, dir)
  const s2 = await tb.client()
  await s2.request('name alice')
  t.equal(await s2.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 4 pending)')
  t.match((await s2.event()).event, { id: 'c', deliveries: 2 })
  t.match((await s2.event()).event, { id: 'b', deliveries: 2 })
  await s2.request('ack orders c')
  const e = (await s2.event()).event
  t.match(e, { id: 'e', msg: { n: 'e' }, extra: true })
  t.notOk('deliveries' in e)
  const p2 = await tb.client()
  t.equal(await p2.request('pub orders {"msg":"next"}'), 'OK 2 published to orders (1 subscriber)', 'broker-assigned ids continue after a restart')
  t.equal(await p2.request('pub orders {"id":"b","msg":"dup"}'), 'OK b duplicate, already published to orders')
})

t.test('crash between batches: the journal alone brings back confirmed changes', async t => {
  const dir = tempDir()
  // A long batch interval: everything after start lives only in the journal.
  const broker = await startBroker({ overrides: { port: 0, http: null, logDir: dir, batchIntervalMs: 3600000 } })
  const { LineClient } = await import('../helpers/broker')
  const s = await LineClient.connect(broker.address!.port)
  const p = await LineClient.connect(broker.address!.port)
  await p.request('pub jobs {"msg":"create"}')
  await s.request('name bob')
  await s.request('sub jobs 1')
  for (let i = 0; i < 5; i++) await p.request(`pub jobs {"id":${i + 10},"msg":${i}}`)
  t.match((await s.event()).event, { id: 10 })
  t.equal(await s.request('ack jobs 10'), 'OK acked 10 on jobs')
  t.match((await s.event()).event, { id: 11 })
  // A confirmed pub after the delivery: the delivery record, written before it, is on disk too.
  t.equal(await p.request('pub jobs {"id":99,"msg":"barrier"}'), 'OK 99 published to jobs (1 subscriber)')
  // Simulate kill -9: copy the directory as it is now, without a final batch or journal close.
  s.destroy()
  p.destroy()
  t.ok(readdirSync(dir).some(f => f.startsWith('journal-')), 'journal on disk')
  t.notOk(existsSync(join(dir, 'topics', 'jobs')), 'no batch has run yet')
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  await broker.stop()

  const tb = await restartable(t, copy)
  const c = await tb.client()
  await c.request('name bob')
  t.equal(await c.request('sub jobs 10'), 'OK subscribed to jobs (max in flight 10, resumed with 5 pending)')
  const got = []
  for (let i = 0; i < 5; i++) got.push((await c.event()).event)
  t.same(got.map(e => [e.id, e.deliveries]), [[11, 2], [12, undefined], [13, undefined], [14, undefined], [99, undefined]])
  t.ok(await c.quiet(), 'the acked event does not come back')
})

t.test('damaged files are moved aside, everything readable is recovered', async t => {
  const dir = tempDir()
  let tb = await restartable(t, dir)
  const a = await tb.client()
  await a.request('pub good {"msg":"create"}')
  await a.request('pub bad {"msg":"create"}')
  await a.request('name carol')
  await a.request('sub good')
  await a.request('sub bad')
  await a.request('pub bad {"id":"b2","msg":"kept"}')
  await tb.stop()
  // A garbled line followed by a good one: damage, not a torn write.
  const segment = join(dir, 'topics', 'bad', '00000000000000000001.jsonl')
  writeFileSync(segment, '{"id":1,"priority":0,"msg":"cre\n' + readFileSync(segment, 'utf8').split('\n')[1] + '\n')
  writeFileSync(join(dir, 'journal-999.ndjson'), '["T","fromjournal"]\n["P","fromjournal",{"id":1,"priority":0,"msg":"x","timestamp":1,"offset":1}]\n{not json\n["Q","fromjournal"]\n["T","alsofrom')
  tb = await restartable(t, dir)
  t.ok(readdirSync(join(dir, 'topics', 'bad')).some(f => /^00000000000000000001\.jsonl\.damaged-\d+$/.test(f)), 'the damaged segment was moved aside, not deleted')
  t.ok(readdirSync(dir).some(f => /^journal-999\.ndjson\.damaged-\d+$/.test(f)), 'a copy of the damaged journal is kept')
  const c = await tb.client()
  await c.request('name carol')
  t.equal(await c.request('sub good'), 'OK subscribed to good (max in flight 10, resumed with 0 pending)')
  t.match(await c.request('sub fromjournal'), /^OK subscribed to fromjournal/, 'journal records before the damage are recovered')
  t.equal(await c.request('sub bad'), 'OK subscribed to bad (max in flight 10, resumed with 0 pending)', 'the topic with the damaged segment is still served')
  t.equal(await c.request('ping'), 'OK PONG')
})

t.test('a second broker on the same log dir refuses to start', async t => {
  const dir = tempDir()
  const tb = await restartable(t, dir)
  await t.rejects(startBroker({ overrides: { port: 0, http: null, logDir: dir } }), /log dir .* is in use by another ackline broker \(pid \d+/)
  const c = await tb.client()
  t.equal(await c.request('ping'), 'OK PONG', 'the first one is unaffected')
})

t.test('a stale lock from a dead process is taken over', async t => {
  const dir = tempDir({ 'ackline.lock': '999999999\n' })
  const tb = await restartable(t, dir)
  const c = await tb.client()
  t.equal(await c.request('ping'), 'OK PONG')
})

t.test('an unwritable log dir is a clear start-up error', { skip: process.getuid?.() === 0 ? 'root can write anywhere; see the file-as-dir case' : false }, async t => {
  const dir = tempDir()
  mkdirSync(join(dir, 'ro'))
  chmodSync(join(dir, 'ro'), 0o500)
  await t.rejects(startBroker({ overrides: { port: 0, http: null, logDir: join(dir, 'ro') } }), /log dir .* is not usable/)
})

t.test('a log dir path that is a file is a clear start-up error', async t => {
  const dir = tempDir({ afile: 'x' })
  await t.rejects(startBroker({ overrides: { port: 0, http: null, logDir: join(dir, 'afile') } }), /log dir .*afile is not usable: EEXIST/)
  await t.rejects(startBroker({ overrides: { port: 0, http: null, logDir: join(dir, 'afile', 'sub') } }), /log dir .* is not usable: ENOTDIR/)
})

t.test('a batch rewrites only the topics that changed', async t => {
  const dir = tempDir()
  const tb = await restartable(t, dir, { batchIntervalMs: 3600000 })
  const batcher = tb.broker.durability.batcher
  const c = await tb.client()
  const lines = []
  for (let i = 0; i < 10000; i++) lines.push(`pub topic-${i} {"msg":${i}}`)
  c.send(...lines)
  for (let i = 0; i < 10000; i++) await c.next()
  await batcher.run()
  t.equal(batcher.lastReport.topics.length, 10000, 'first batch writes every new topic')
  t.equal(readdirSync(join(dir, 'topics')).length, 10000)
  await c.request('pub topic-4242 {"msg":"changed"}')
  await batcher.run()
  t.same(batcher.lastReport.topics, ['topic-4242'], 'one changed topic: one file rewritten')
  const before = batcher.batches
  await batcher.run()
  t.equal(batcher.batches, before, 'nothing changed: nothing written')
})

t.test('fsync policies: batch and off also confirm and recover after a clean stop', async t => {
  for (const fsync of ['batch', 'off'] as const) {
    const dir = tempDir()
    let tb = await restartable(t, dir, { fsync })
    const c = await tb.client()
    await c.request('pub p {"msg":0}')
    await c.request('name dora')
    await c.request('sub p')
    t.equal(await c.request('pub p {"id":"x","msg":1}'), 'OK x published to p (1 subscriber)', fsync)
    await c.event()
    await tb.stop()
    tb = await restartable(t, dir, { fsync })
    const d = await tb.client()
    await d.request('name dora')
    await d.request('sub p')
    t.match((await d.event()).event, { id: 'x', deliveries: 2 }, `${fsync}: pending event is back`)
  }
})
