/**
 * Storage v2 recovery from what a crash leaves: a delete (and a re-create)
 * known only to the journal, a journal with a gap in the offsets, and
 * directories that are not topics.
 */
import t from 'tap'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLoggedBroker } from '../helpers/auth'
import { startTestBroker, tempDir, type TestBroker } from '../helpers/broker'

/** A kill -9 stand-in: the log dir as it is now (no final batch, no journal close), copied. */
function crashCopy (dir: string): string {
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  return copy
}

async function settle (tb: TestBroker): Promise<void> {
  // A confirmed pub to a topic with a named subscriber: every record before it is in the journal.
  const c = await tb.client()
  await c.request('name barrier')
  await c.request('pub barrier {"msg":"create"}')
  await c.request('sub barrier')
  await c.request('pub barrier {"msg":"sync"}')
}

t.test('a delete known only to the journal: the topic and its files go; a topic made again after it starts afresh', async t => {
  const dir = tempDir()
  const tb = await startTestBroker(t, { logDir: dir, batchIntervalMs: 3600000 })
  const p = await tb.client()
  for (const topic of ['gone', 'again']) {
    await p.request(`pub ${topic} {"msg":"create"}`)
    const s = await tb.client()
    await s.request(`name keeper-${topic}`)
    await s.request(`sub ${topic} 1`)
    for (let i = 0; i < 3; i++) await p.request(`pub ${topic} {"id":"${topic}-${i}","msg":${i}}`)
  }
  await tb.broker.durability.batcher.run() // both topics have their files now
  t.ok(existsSync(join(dir, 'topics', 'gone')) && existsSync(join(dir, 'topics', 'again')))
  tb.broker.store.deleteTopic('gone')
  tb.broker.store.deleteTopic('again')
  t.equal(await p.request('pub again {"id":"fresh","msg":"a new topic"}'), 'OK fresh published to again (0 subscribers)')
  const s2 = await tb.client()
  await s2.request('name fresh-reader')
  await s2.request('sub again')
  t.equal(await p.request('pub again {"id":"fresh-2","msg":2}'), 'OK fresh-2 published to again (1 subscriber)')
  await settle(tb)
  const copy = crashCopy(dir)
  t.ok(existsSync(join(copy, 'topics', 'gone')), 'no batch ran: the directory of the deleted topic is still there')

  const lb = await startLoggedBroker(t, { logDir: copy })
  t.notOk(existsSync(join(copy, 'topics', 'gone')), 'replaying the delete removes its directory')
  t.equal(lb.broker.store.topic('gone'), undefined, 'the deleted topic is gone')
  const again = lb.broker.store.topic('again')!
  // Its offset 1 ("fresh") was published while it had no named subscriber: not journaled, lost with the crash (storage.md, caveats).
  t.same([again.firstOffset, again.nextOffset], [2, 3], 'the topic made after the delete has its own offsets, from 1')
  const c = await lb.client()
  await c.request('name keeper-again')
  t.equal(await c.request('sub again'), 'OK subscribed to again (max in flight 10)', 'the old incarnation\'s subscription did not come back')
  const r = await lb.client()
  await r.request('name fresh-reader')
  t.equal(await r.request('sub again'), 'OK subscribed to again (max in flight 10, resumed with 1 pending)')
  t.match(await r.next(), /^EVENT again \{"priority":0,"id":"fresh-2","msg":2,"timestamp":\d+,"offset":2,"deliveries":2\}$/, 'delivered before the crash, so owed again')
  await lb.broker.durability.batcher.run()
  const segments = readdirSync(join(copy, 'topics', 'again')).filter(f => /^\d{20}\.jsonl$/.test(f))
  t.same(segments, ['00000000000000000002.jsonl'])
  const lines = readFileSync(join(copy, 'topics', 'again', segments[0]), 'utf8').trim().split('\n')
  t.same(lines.map(l => (JSON.parse(l) as { id: string }).id), ['fresh-2'], 'after the first batch: only the new topic\'s events')
})

t.test('a journal with a gap in its offsets (a damaged record): the events around it are served', async t => {
  const ev = (o: number): string => `{"id":"g${o}","priority":0,"msg":${o},"timestamp":5,"offset":${o}}`
  const dir = tempDir({
    'format.json': '{"format":2}\n',
    'journal-1.ndjson': ['["T","g"]', '["S","g","s",10,30000,1,0]', `["P","g",${ev(1)}]`, `["P","g",${ev(2)}]`, `["P","g",${ev(3).slice(0, 20)}`, `["P","g",${ev(4)}]`, `["P","g",${ev(5)}]`].join('\n') + '\n',
  })
  const tb = await startTestBroker(t, { logDir: dir })
  const topic = tb.broker.store.topic('g')!
  t.equal(topic.eventAt(4)?.key, 'g4', 'found past the gap')
  t.equal(topic.eventAt(3), undefined)
  t.equal(topic.nextOffset, 6)
  const s = await tb.client()
  await s.request('name s')
  t.equal(await s.request('sub g'), 'OK subscribed to g (max in flight 10, resumed with 4 pending)')
  const got = []
  for (let i = 0; i < 4; i++) got.push((JSON.parse((await s.next()).slice('EVENT g '.length)) as { offset: number }).offset)
  t.same(got, [1, 2, 4, 5])
  const p = await tb.client()
  t.equal(await p.request('pub g {"id":"after","msg":6}'), 'OK after published to g (1 subscriber)')
  t.match(await s.next(), /"offset":6\}$/, 'offsets carry on after the last one')
})

t.test('directories of topics/ that are not topics are ignored, with a warning; topics with long or capital names round-trip', async t => {
  const dir = tempDir()
  const long = 'Long' + 'O'.repeat(110)
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  for (const topic of ['Orders', long, '.hidden']) t.match(await p.request(`pub ${topic} {"msg":"${topic.slice(0, 8)}"}`), /^OK 1 published/)
  await tb.stop()
  const dirs = readdirSync(join(dir, 'topics')).sort()
  t.ok(dirs.includes('+orders') && dirs.includes('+.hidden'), `${dirs.join(' ')}`)
  const shortened = dirs.find(d => d.includes('='))!
  t.ok(shortened !== undefined && shortened.length <= 200, 'a name past 200 characters once encoded is shortened')
  t.equal(JSON.parse(readFileSync(join(dir, 'topics', shortened, 'topic.json'), 'utf8')).topic, long)
  mkdirSync(join(dir, 'topics', 'NOT-A-TOPIC'))
  mkdirSync(join(dir, 'topics', 'orders'))
  writeFileSync(join(dir, 'topics', 'orders', 'topic.json'), '{"topic":"other"}')
  writeFileSync(join(dir, 'topics', 'stray-file'), 'x')
  const lb = await startLoggedBroker(t, { logDir: dir })
  const warned = lb.logs.filter(l => l.msg === 'not a topic directory; ignored').map(l => String(l.dir).split('/').pop()).sort()
  t.same(warned, ['NOT-A-TOPIC', 'orders'])
  t.same([...lb.broker.store.topics.keys()].sort(), ['.hidden', 'Orders', long].sort())
  const c = await lb.client()
  t.equal(await c.request(`pub ${long} {"msg":2}`), `OK 2 published to ${long} (0 subscribers)`)
  tb = undefined as unknown as TestBroker
})
