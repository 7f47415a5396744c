/**
 * A storage v1 log dir (test/fixtures/v1-logdir, see its README) is
 * migrated on the first start of a v2 broker: nothing is lost, the events
 * come back byte for byte (plus their new offsets), the v1 files are kept
 * aside, and a migration cut short by a crash is done again.
 */
import t from 'tap'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLoggedBroker } from '../helpers/auth'
import { startTestBroker, tempDir, type LineClient } from '../helpers/broker'

const FIXTURE = join(__dirname, '..', 'fixtures', 'v1-logdir')
const V1_FILES = ['jobs.json', 'journal-2.ndjson', 'orders.json']

function v1Dir (): string {
  const dir = tempDir()
  for (const f of V1_FILES) cpSync(join(FIXTURE, f), join(dir, f))
  return dir
}

/** Reads events (acking each) and skips the acks' replies, until `n` events came. */
async function take (c: LineClient, n: number): Promise<string[]> {
  const out: string[] = []
  while (out.length < n) {
    const line = await c.next()
    if (line.startsWith('OK acked ')) continue
    out.push(line)
    c.send(`ack orders ${String((JSON.parse(line.slice(line.indexOf('{'))) as { id: unknown }).id)}`)
  }
  return out
}

const TS = { o2: 1795495100087, id2: 1795495100088, o4: 1795495100089, o5: 1795495100797, o6: 1795495100799 }
// v1 publish order (seq 3-7) gives the offsets 1-5.
const O2 = `{"id":"o-2","priority":5,"msg":"caf\\u00e9","price":1.50,"timestamp":${TS.o2},"offset":1}`
const ID2 = `{"id":2,"priority":0,"msg":"no id given","2":"two","1":"one","timestamp":${TS.id2},"offset":2}`
const O4 = `{"id":"o-4","priority":9,"msg":"urgent","timestamp":${TS.o4},"offset":3}`
const O5 = `{"id":"o-5","priority":1,"msg":"after the batch: journal only","timestamp":${TS.o5},"offset":4}`
const O6 = `{"priority":0,"id":"o-6","msg":"last","timestamp":${TS.o6},"offset":5}`
const again = (text: string, n: number): string => `${text.slice(0, -1)},"deliveries":${n}}`

t.test('a v1 log dir is migrated on the first start: subscriptions, events, deliveries and ids carry on', async t => {
  const dir = v1Dir()
  const lb = await startLoggedBroker(t, { logDir: dir })
  t.ok(lb.logs.some(l => l.msg === 'migrated a storage v1 log dir to v2; the v1 files were moved to the backup directory'))
  t.same(JSON.parse(readFileSync(join(dir, 'format.json'), 'utf8')), { format: 2, v1Backup: readdirSync(dir).find(f => f.startsWith('v1-backup-')), v1MaxGen: 2 })
  const backup = readdirSync(dir).find(f => f.startsWith('v1-backup-'))!
  t.same(readdirSync(join(dir, backup)).sort(), V1_FILES, 'every v1 file is kept, moved aside')
  for (const f of V1_FILES) t.equal(readFileSync(join(dir, backup, f), 'utf8'), readFileSync(join(FIXTURE, f), 'utf8'), `${f} unchanged`)
  t.same(readdirSync(join(dir, 'topics')).sort(), ['jobs', 'orders'])
  t.equal(readFileSync(join(dir, 'topics', 'orders', '00000000000000000001.jsonl'), 'utf8'), [O2, ID2, O4, O5, O6].join('\n') + '\n', 'each held event once, in v1 publish order, with offsets')

  const alice = await lb.client()
  await alice.request('name alice')
  t.equal(await alice.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 4 pending)', 'her cap, her 4 unacked events (o-2 was acked in the journal)')
  // Delivered before (o-4 from the log, o-5 from the journal) come first, then the waiting ones by priority and offset.
  t.same(await take(alice, 4), [`EVENT orders ${again(O4, 2)}`, `EVENT orders ${again(O5, 2)}`, `EVENT orders ${ID2}`, `EVENT orders ${O6}`])
  const bob = await lb.client()
  await bob.request('name bob')
  t.equal(await bob.request('sub orders'), 'OK subscribed to orders (max in flight 1, resumed with 5 pending)')
  t.same(await take(bob, 5), [`EVENT orders ${again(O4, 2)}`, `EVENT orders ${O2}`, `EVENT orders ${O5}`, `EVENT orders ${ID2}`, `EVENT orders ${O6}`])
  const p = await lb.client()
  t.equal(await p.request('pub orders {"msg":"next"}'), 'OK 3 published to orders (2 subscribers)', 'broker ids continue from v1\'s nextAutoId')
  let next = await alice.next()
  while (next.startsWith('OK acked ')) next = await alice.next()
  t.match(next, /"id":3,.*"offset":6\}$/)
  t.equal(await p.request('pub jobs {"msg":"x"}'), 'OK 2 published to jobs (0 subscribers)', 'the topic with no events is there, its ids carry on too')
  await lb.broker.stop()

  // The next start reads v2 only: no second migration.
  const tb = await startTestBroker(t, { logDir: dir })
  t.equal(readdirSync(dir).filter(f => f.startsWith('v1-backup-')).length, 1)
  const a2 = await tb.client()
  await a2.request('name alice')
  t.match(await a2.request('sub orders'), /^OK subscribed to orders \(max in flight 2, resumed with 1 pending\)$/)
  t.match(await a2.next(), /"id":3,.*"offset":6,"deliveries":2\}$/)
})

t.test('a migration cut short by a crash is done again from the untouched v1 files', async t => {
  const dir = v1Dir()
  // What a crash leaves: a half-written staging directory, or even `topics/` renamed before format.json was written.
  mkdirSync(join(dir, 'topics.migrating', 'orders'), { recursive: true })
  writeFileSync(join(dir, 'topics.migrating', 'orders', '00000000000000000001.jsonl'), '{"id":"o-2","prio')
  mkdirSync(join(dir, 'topics', 'orders'), { recursive: true })
  writeFileSync(join(dir, 'topics', 'orders', '00000000000000000001.jsonl'), '{"half":')
  const tb = await startTestBroker(t, { logDir: dir })
  t.notOk(existsSync(join(dir, 'topics.migrating')))
  t.equal(readFileSync(join(dir, 'topics', 'orders', '00000000000000000001.jsonl'), 'utf8'), [O2, ID2, O4, O5, O6].join('\n') + '\n')
  const bob = await tb.client()
  await bob.request('name bob')
  t.equal(await bob.request('sub orders'), 'OK subscribed to orders (max in flight 1, resumed with 5 pending)')
})

t.test('a crash while the v1 files were being moved aside: the next start finishes the move', async t => {
  const dir = v1Dir()
  let tb = await startTestBroker(t, { logDir: dir })
  await tb.stop()
  const backup = readdirSync(dir).find(f => f.startsWith('v1-backup-'))!
  // Put one v1 file back, as if the crash came before it was moved; and a v2 journal above v1's generations must stay.
  cpSync(join(dir, backup, 'journal-2.ndjson'), join(dir, 'journal-2.ndjson'))
  cpSync(join(dir, backup, 'orders.json'), join(dir, 'orders.json'))
  writeFileSync(join(dir, 'journal-3.ndjson'), '["T","fresh"]\n')
  tb = await startTestBroker(t, { logDir: dir })
  t.notOk(existsSync(join(dir, 'orders.json')))
  t.notOk(existsSync(join(dir, 'journal-2.ndjson')), 'the v1 journal is not read as a v2 one')
  t.ok(existsSync(join(dir, backup, 'orders.json')))
  t.ok(tb.broker.store.topic('fresh') !== undefined, 'the v2 journal was replayed')
  const alice = await tb.client()
  await alice.request('name alice')
  t.equal(await alice.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 4 pending)', 'nothing applied twice')
})

t.test('a new log dir is v2 from the start, and a v1 log of a topic named "format" is still migrated', async t => {
  const fresh = tempDir()
  const tb = await startTestBroker(t, { logDir: fresh })
  t.same(JSON.parse(readFileSync(join(fresh, 'format.json'), 'utf8')), { format: 2 })
  t.notOk(readdirSync(fresh).some(f => f.startsWith('v1-backup-')))
  await tb.stop()

  const dir = tempDir({ 'format.json': readFileSync(join(FIXTURE, 'jobs.json'), 'utf8').replace('"topic":"jobs"', '"topic":"format"') })
  const tb2 = await startTestBroker(t, { logDir: dir })
  t.ok(tb2.broker.store.topic('format') !== undefined, 'the topic "format" was migrated')
  t.equal(JSON.parse(readFileSync(join(dir, 'format.json'), 'utf8')).format, 2)
  const backup = readdirSync(dir).find(f => f.startsWith('v1-backup-'))!
  t.same(readdirSync(join(dir, backup)), ['format.json'])
})
