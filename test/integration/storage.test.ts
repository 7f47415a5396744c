/**
 * Storage v2 over real sockets: a backlog kept on disk and delivered byte
 * for byte after a restart, the hot-event cache at its limit, damaged
 * segments moved aside while the rest is served, and retention.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLoggedBroker } from '../helpers/auth'
import { startTestBroker, tempDir, waitFor, type LineClient, type TestBroker } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import { cachedSize } from '../../src/store/eventCache'
import { sharedFileCache } from '../../src/persistence/fileCache'
import type { SegmentLog } from '../../src/persistence/segmentLog'
import type { ConfigOverrides } from '../../src/config/loadConfig'

/** The broker's JSON text of an EVENT line. */
function textOf (line: string): string {
  return line.slice(line.indexOf('{'))
}

function segmentFiles (dir: string, topic: string): string[] {
  return readdirSync(join(dir, 'topics', topic)).filter(f => /^\d{20}\.jsonl$/.test(f)).sort()
}

/** Every line of every segment of a topic, parsed. */
function storedEvents (dir: string, topic: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const f of segmentFiles(dir, topic)) {
    for (const line of readFileSync(join(dir, 'topics', topic, f), 'utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>)
  }
  return out
}

/** Receives `n` events, acking each one; returns their lines (the acks' replies, in between, must be OK). */
async function drain (c: LineClient, topic: string, n: number): Promise<string[]> {
  const lines: string[] = []
  while (lines.length < n) {
    const line = await c.next()
    if (!line.startsWith('EVENT ')) {
      if (!line.startsWith('OK acked ')) throw new Error(`unexpected ${line}`)
      continue
    }
    lines.push(line)
    const id = String((JSON.parse(textOf(line)) as { id: unknown }).id)
    c.send(`ack ${topic} ${id}`)
  }
  return lines
}

/** Sends ping and reads up to its PONG: every line before it must be an ack's OK. Then checks nothing else comes. */
async function settle (t: { same: (a: unknown, b: unknown, m: string) => void, ok: (v: unknown, m: string) => void }, c: LineClient): Promise<void> {
  c.send('ping')
  const others: string[] = []
  for (let line = await c.next(); line !== 'OK PONG'; line = await c.next()) if (!line.startsWith('OK acked ')) others.push(line)
  t.same(others, [], 'only ack replies before the ping\'s')
  t.ok(await c.quiet(), 'nothing more')
}

async function restart (t: { teardown: (fn: () => unknown) => void }, tb: TestBroker, dir: string, extra: ConfigOverrides): Promise<TestBroker> {
  await tb.stop()
  return startTestBroker(t, { logDir: dir, ...extra })
}

t.test('a backlog for an offline named subscriber lives in segments and comes back byte for byte, with offsets, in priority order', async t => {
  const dir = tempDir()
  // Small segments (several rolls) and a cache smaller than the backlog: the events are read back from disk.
  const cfg: ConfigOverrides = { segmentBytes: 2048, eventCacheBytes: 4096 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  t.equal(await p.request('pub jobs {"msg":"create the topic"}'), 'OK 1 published to jobs (0 subscribers)')
  const watch = await tb.client()
  await watch.request('sub jobs 1000')
  const worker = await tb.client()
  await worker.request('name worker')
  t.equal(await worker.request('sub jobs 3'), 'OK subscribed to jobs (max in flight 3)')
  const sent = new Map<string, string>()
  const N = 200
  for (let i = 0; i < N; i++) {
    const text = `{"id":"j${i}","priority":${i % 3},"msg":{"n":${i},"pad":"${'x'.repeat(i % 17)}"},"f":1.0}`
    p.send(`pub jobs ${text}`)
  }
  for (let i = 0; i < N; i++) t.match(await p.reply(), new RegExp(`^OK j${i} published to jobs \\(2 subscribers\\)$`))
  for (let i = 0; i < N; i++) {
    const line = await watch.next()
    sent.set(String((JSON.parse(textOf(line)) as { id: string }).id), textOf(line))
  }
  const first = [await worker.next(), await worker.next(), await worker.next()]
  worker.destroy()
  tb = await restart(t, tb, dir, cfg)

  const segments = segmentFiles(dir, 'jobs')
  t.ok(segments.length > 5, `the topic rolled into ${segments.length} segments`)
  const stored = storedEvents(dir, 'jobs')
  t.same(stored.map(e => e.offset), Array.from({ length: N + 1 }, (_, i) => i + 1), 'every event once, offsets 1..n in order')
  for (const f of readdirSync(join(dir, 'topics', 'jobs'))) {
    if (f.endsWith('.index.json')) t.doesNotThrow(() => JSON.parse(readFileSync(join(dir, 'topics', 'jobs', f), 'utf8')), `${f} parses`)
  }

  const w = await tb.client()
  await w.request('name worker')
  t.equal(await w.request('sub jobs 10'), `OK subscribed to jobs (max in flight 10, resumed with ${N} pending)`)
  const got = await drain(w, 'jobs', N)
  // The three in flight first, marked, then the rest: highest priority first, then offset.
  t.same(got.slice(0, 3).map(textOf), first.map(l => textOf(l).slice(0, -1) + ',"deliveries":2}').sort((a, b) => order(a, b)), 'the events in flight before come first, marked')
  const rest = got.slice(3).map(textOf)
  const firstIds = new Set(first.map(l => (JSON.parse(textOf(l)) as { id: string }).id))
  const expected = [...sent.entries()].filter(([id]) => !firstIds.has(id)).map(([, text]) => text).sort(order)
  t.same(rest, expected, 'every other event byte for byte, by priority then offset')
  await settle(t, w)
  t.ok(tb.broker.store.cache.bytes <= 4096, 'the hot cache stayed within eventCacheBytes')
})

/** Delivery order of event texts: priority descending, then offset ascending. */
function order (a: string, b: string): number {
  const x = JSON.parse(a) as { priority: number, offset: number }
  const y = JSON.parse(b) as { priority: number, offset: number }
  return (y.priority - x.priority) || (x.offset - y.offset)
}

t.test('a backlog for subscribers that are away is not cached when stored: it only passes through', async t => {
  const tb = await startTestBroker(t, { batchIntervalMs: 3600000 })
  const p = await tb.client()
  await p.request('pub away {"msg":"create"}')
  const s = await tb.client()
  await s.request('name gone')
  await s.request('sub away 1')
  s.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  for (let i = 0; i < 20; i++) await p.request(`pub away {"msg":${i}}`)
  await tb.broker.durability.batcher.run()
  t.equal(tb.broker.store.topic('away')!.unflushedCount, 0)
  t.equal(tb.broker.store.cache.count, 0, 'nothing cached: no connected subscriber will read it soon')
})

t.test('eventCacheBytes at its edge: exactly the events that fit stay cached, the oldest go first', async t => {
  const text = (i: number): string => `{"id":"e${String(i).padStart(3, '0')}","msg":"same size"}`
  for (const [room, expected] of [[0, 5], [-1, 4]] as const) {
    const dir = tempDir()
    // The size every event of this test is counted as: its stored text plus the fixed overhead.
    const probe = await startTestBroker(t, { logDir: tempDir() })
    const pc = await probe.client()
    await pc.request(`pub size ${text(0)}`)
    const size = cachedSize(probe.broker.store.topic('size')!.eventAt(1)!)
    await probe.stop()
    const tb = await startTestBroker(t, { logDir: dir, eventCacheBytes: 5 * size + room, batchIntervalMs: 3600000 })
    const p = await tb.client()
    await p.request('pub c {"msg":"create"}')
    // A connected subscriber that is behind: the events it will want are worth caching when stored.
    const slow = await tb.client()
    await slow.request('sub c 1')
    await tb.broker.durability.batcher.run()
    tb.broker.store.cache.drop(tb.broker.store.topic('c')!.cached)
    for (let i = 0; i < 8; i++) await p.request(`pub c ${text(i)}`)
    const topic = tb.broker.store.topic('c')!
    t.equal(topic.unflushedCount, 8, 'before a batch, the new events are held until stored')
    t.equal(tb.broker.store.cache.count, 0)
    await tb.broker.durability.batcher.run()
    t.equal(topic.unflushedCount, 0, 'stored: they leave memory for the cache')
    const cache = tb.broker.store.cache
    t.equal(cache.count, expected, `eventCacheBytes ${room === 0 ? '=' : '= 1 byte less than'} 5 events: ${expected} cached`)
    t.ok(cache.bytes <= cache.maxBytes)
    t.same([...topic.cached.keys()].sort((a, b) => a - b), Array.from({ length: expected }, (_, i) => 9 - expected + 1 + i), 'the newest ones')
    // An event no longer cached is read back from its segment.
    const s = await tb.client()
    await s.request('name reader')
    tb.broker.store.topic('c')!.subscribe('reader', true, 10, 30000, 2)
    const session = [...tb.broker.server.connections].pop()!
    const sub = topic.subscriptions.get('reader')!
    session.subscriptions.set('c', sub)
    sub.attach(session)
    sub.pump()
    const lines: string[] = []
    for (let i = 0; i < 8; i++) lines.push(await s.next())
    t.same(lines.map(textOf), Array.from({ length: 8 }, (_, i) => `{"priority":0,${text(i).slice(1, -1)},"timestamp":${(JSON.parse(textOf(lines[i])) as { timestamp: number }).timestamp},"offset":${i + 2}}`), 'all eight, from cache and disk alike')
  }
})

t.test('a damaged segment is moved aside, and the rest of the topic is served', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { segmentBytes: 1024, eventCacheBytes: 1 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  await p.request('pub d {"msg":"create"}')
  const s = await tb.client()
  await s.request('name slow')
  await s.request('sub d 1')
  s.destroy()
  const N = 80
  for (let i = 0; i < N; i++) await p.request(`pub d {"id":"e${i}","msg":"${'y'.repeat(40)}"}`)
  await tb.stop()
  const segs = segmentFiles(dir, 'd')
  t.ok(segs.length >= 6, `${segs.length} segments`)
  const idsOf = (f: string): string[] => readFileSync(join(dir, 'topics', 'd', f), 'utf8').trim().split('\n').map(l => (JSON.parse(l) as { id: string }).id)
  // The third segment, without its saved index, with a garbled line: found when it is scanned at start-up.
  const third = join(dir, 'topics', 'd', segs[2])
  const lostAtOpen = idsOf(segs[2])
  const thirdLines = readFileSync(third, 'utf8').split('\n')
  thirdLines[1] = '{"id":"garbled'
  writeFileSync(third, thirdLines.join('\n'))
  unlinkSync(third.replace('.jsonl', '.index.json'))

  const lb = await startLoggedBroker(t, { logDir: dir, ...cfg })
  t.ok(readdirSync(join(dir, 'topics', 'd')).some(f => f.startsWith(segs[2] + '.damaged-')), 'damage found at start-up: moved aside')
  t.ok(lb.logs.some(l => l.msg === 'damaged segment moved aside; the rest of the topic is served'))
  // While the broker runs: the second segment is damaged in place (same length: its index still matches, only a read finds it),
  // the fourth one disappears, the fifth cannot be read for a while (a directory in its place).
  const second = join(dir, 'topics', 'd', segs[1])
  const lostByRead = idsOf(segs[1])
  const lines = readFileSync(second, 'utf8').split('\n')
  const mid = Math.floor((lines.length - 1) / 2)
  lines[mid] = '#'.repeat(lines[mid].length)
  writeFileSync(second, lines.join('\n'))
  const lostFile = idsOf(segs[3])
  unlinkSync(join(dir, 'topics', 'd', segs[3]))
  const fifth = join(dir, 'topics', 'd', segs[4])
  renameSync(fifth, fifth + '.away')
  mkdirSync(fifth)
  // Start-up read every segment (the ids of the dedupe window): forget those descriptors, as happens beyond 256 open files.
  sharedFileCache.closeAll()

  const c = await lb.client()
  await c.request('name slow')
  t.match(await c.request('sub d 5'), /^OK subscribed to d \(max in flight 5, resumed with \d+ pending\)$/)
  const got: string[] = []
  const take = async (ms: number): Promise<void> => {
    for (;;) {
      let line: string
      try { line = await c.next(ms) } catch { return }
      if (line.startsWith('OK acked ')) continue
      const id = String((JSON.parse(textOf(line)) as { id: string }).id)
      got.push(id)
      c.send(`ack d ${id}`)
    }
  }
  await take(300)
  t.ok(lb.logs.some(l => l.msg === 'reading events from the segments failed; retrying in a second'), 'a failed read is logged and retried')
  const fifthIds = idsOf(segs[4] + '.away')
  t.notOk(got.some(id => fifthIds.includes(id)), 'nothing of the unreadable segment yet, nor after it')
  rmdirSync(fifth)
  renameSync(fifth + '.away', fifth)
  await take(2500)
  t.ok(readdirSync(join(dir, 'topics', 'd')).some(f => f.startsWith(segs[1] + '.damaged-')), 'damage found by a read: moved aside')
  t.ok(lb.logs.some(l => l.msg === 'damaged segment moved aside; its events are no longer served, the rest of the topic is' && l.problem === 'the file is gone'), 'a segment file that is gone is handled the same way')
  t.ok(lb.logs.some(l => l.msg === 'events owed to a subscription are gone from the segments (a damaged segment was moved aside); skipped'))
  // Of the segment damaged in place, the events read before the damage was met were delivered: a prefix, before the bad line.
  const fromSecond = got.filter(id => lostByRead.includes(id))
  t.same(fromSecond, lostByRead.slice(0, fromSecond.length), 'the damaged segment: a prefix was served before the damage was met')
  t.ok(fromSecond.length < mid, 'and nothing from the bad line on')
  const expected = Array.from({ length: N }, (_, i) => `e${i}`).filter(id => (!lostByRead.includes(id) || fromSecond.includes(id)) && !lostAtOpen.includes(id) && !lostFile.includes(id))
  t.same(got.filter(id => id.startsWith('e')), expected, 'every event of the healthy segments is delivered, in order, once the unreadable one is back')
  t.equal(await c.request('ping'), 'OK PONG')
})

t.test('retention by age (a clock the test moves): wholly expired segments go, owed events stay', async t => {
  const clock = new ManualClock()
  const dir = tempDir()
  const tb = await startTestBroker(t, { logDir: dir, segmentBytes: 1024, retention: { maxAgeMs: 60000 }, retentionCheckMs: 1000, batchIntervalMs: 500 }, clock)
  const p = await tb.client()
  const pub = async (i: number): Promise<void> => { await p.request(`pub aged {"id":"a${i}","msg":"${'z'.repeat(50)}"}`) }
  for (let i = 0; i < 30; i++) await pub(i)
  const late = await tb.client()
  await late.request('name late')
  t.equal(await late.request('sub aged 1'), 'OK subscribed to aged (max in flight 1)')
  clock.advance(30000)
  for (let i = 30; i < 40; i++) await pub(i)
  t.match(await late.next(), /"id":"a30"/)
  late.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  clock.advance(1000)
  await tb.broker.durability.batcher.run()
  const before = segmentFiles(dir, 'aged')
  t.ok(before.length >= 4, `${before.length} segments`)

  clock.advance(31000) // events 1-30 are now 62 s old, 31-40 31 s old
  await tb.broker.durability.batcher.run()
  await tb.broker.durability.batcher.retain()
  const topic = tb.broker.store.topic('aged')!
  const left = storedEvents(dir, 'aged').map(e => e.id)
  t.ok(topic.firstOffset > 1, `the oldest segments went (first offset now ${topic.firstOffset})`)
  t.ok(left.includes('a30'), 'the segment holding events owed to "late" stays')
  t.ok(left.every((id, i, all) => i === 0 || all.indexOf(id) === i), 'no duplicates')
  for (const f of segmentFiles(dir, 'aged').slice(0, -1)) {
    const ts = readFileSync(join(dir, 'topics', 'aged', f), 'utf8').trim().split('\n').map(l => (JSON.parse(l) as { timestamp: number }).timestamp)
    const offsets = readFileSync(join(dir, 'topics', 'aged', f), 'utf8').trim().split('\n').map(l => (JSON.parse(l) as { offset: number }).offset)
    t.ok(Math.max(...ts) >= clock.now() - 60000 || offsets.some(o => o >= 31), `${f}: not wholly expired, or owed`)
  }

  clock.advance(120000) // everything is past the age; 31-40 are still owed to "late"
  await tb.broker.durability.batcher.retain()
  t.same(storedEvents(dir, 'aged').map(e => e.id).filter(id => Number(String(id).slice(1)) >= 30), ['a30', 'a31', 'a32', 'a33', 'a34', 'a35', 'a36', 'a37', 'a38', 'a39'], 'owed events are never dropped')
  const back = await tb.client()
  await back.request('name late')
  t.equal(await back.request('sub aged 10'), 'OK subscribed to aged (max in flight 10, resumed with 10 pending)')
  const ids = (await drain(back, 'aged', 10)).map(l => (JSON.parse(textOf(l)) as { id: string }).id)
  t.same(ids, ['a30', 'a31', 'a32', 'a33', 'a34', 'a35', 'a36', 'a37', 'a38', 'a39'])
  await settle(t, back)
  await tb.broker.durability.batcher.run()
  await tb.broker.durability.batcher.retain() // rolls the wholly expired active segment
  await tb.broker.durability.batcher.retain() // and deletes it
  t.same(storedEvents(dir, 'aged'), [], 'once acked and expired, every segment goes')
  t.equal(topic.firstOffset, 41, 'the next event will be offset 41')
  t.equal(await p.request('pub aged {"msg":"fresh"}'), 'OK 1 published to aged (1 subscriber)')
  t.match(await back.next(), /"offset":41\}$/)
})

t.test('retention by bytes (tiny limits): the topic keeps about maxBytes, newest segments', async t => {
  const dir = tempDir()
  const tb = await startTestBroker(t, {
    logDir: dir,
    segmentBytes: 1024,
    retention: { maxAgeMs: 3600000, maxBytes: 1_000_000, overrides: [{ pattern: 'small.*', maxBytes: 2048 }] },
    batchIntervalMs: 3600000,
  })
  const p = await tb.client()
  for (const topic of ['small.t', 'big']) {
    for (let i = 0; i < 60; i++) await p.request(`pub ${topic} {"id":"b${i}","msg":"${'q'.repeat(60)}"}`)
  }
  await tb.broker.durability.batcher.run()
  await tb.broker.durability.batcher.retain()
  const small = tb.broker.store.topic('small.t')!
  const kept = storedEvents(dir, 'small.t')
  const bytes = segmentFiles(dir, 'small.t').reduce((n, f) => n + readFileSync(join(dir, 'topics', 'small.t', f)).length, 0)
  t.ok(bytes <= 2048 + 1024 && bytes > 1024, `about maxBytes kept (${bytes} bytes)`)
  t.equal(kept[kept.length - 1].id, 'b59', 'the newest events stay')
  t.equal(small.firstOffset, kept[0].offset)
  t.equal(small.retainedEvents, kept.length)
  t.equal(storedEvents(dir, 'big').length, 60, 'the other topic is under its own limit')
})

t.test('the store\'s subscriptions: a replay from the beginning, a range that ends, commit, topic create and delete', async t => {
  const dir = tempDir()
  const tb = await startTestBroker(t, { logDir: dir, segmentBytes: 1024, eventCacheBytes: 1 })
  const p = await tb.client()
  for (let i = 1; i <= 30; i++) await p.request(`pub r {"id":"r${i}","priority":${i % 2},"msg":${i}}`)
  await tb.broker.durability.batcher.run() // most of them on disk now
  for (let i = 31; i <= 35; i++) await p.request(`pub r {"id":"r${i}","priority":${i % 2},"msg":${i}}`)
  const store = tb.broker.store
  const topic = store.topic('r')!
  t.equal(topic.startOffset('beginning'), 1)
  t.equal(topic.startOffset('latest'), 35)
  t.equal(topic.startOffset('next'), 36)
  t.equal(topic.startOffset({ offset: 7 }), 7)
  const stamp = storedEvents(dir, 'r')[9].timestamp as number
  t.ok(topic.startOffset({ time: stamp }) <= 10, 'from=time: the first event at or after it')
  t.equal(topic.startOffset({ time: Date.now() + 60000 }), 36, 'a time in the future: new events only')
  const stored = storedEvents(dir, 'r')
  t.same(topic.info(), {
    topic: 'r',
    firstOffset: 1,
    lastOffset: 35,
    retainedEvents: 35,
    retainedBytes: segmentFiles(dir, 'r').reduce((n, f) => n + readFileSync(join(dir, 'topics', 'r', f)).length, 0) +
      Array.from({ length: 5 }, (_, i) => (topic.eventAt(31 + i)!.json.length + 1)).reduce((a, b) => a + b, 0),
    subscribers: 0,
    pending: 0,
  }, 'what a topics listing shows: stored and not yet stored events alike')
  t.equal(stored.length, 30)

  /** What the sub handler will do for `sub r ... from= to=`, over a real connection. */
  const attach = async (name: string, start: number, to: number, cap: number): Promise<LineClient> => {
    const c = await tb.client()
    await c.request(`name ${name}`)
    const session = [...tb.broker.server.connections].pop()!
    const sub = topic.subscribe(name, true, cap, 30000, start, to)
    await new Promise<void>(resolve => {
      tb.broker.durability.reply(session, 'OK attached', tb.broker.durability.subscribed(sub))
      session.subscriptions.set('r', sub)
      sub.attach(session)
      sub.pump()
      resolve()
    })
    t.equal(await c.next(), 'OK attached')
    return c
  }

  // A replay of everything: priority 1 first (odd offsets), then priority 0, each in offset order.
  const all = await attach('replayer', topic.startOffset('beginning'), 0, 100)
  const replayed = []
  for (let i = 0; i < 35; i++) replayed.push((JSON.parse(textOf(await all.next())) as { offset: number }).offset)
  const odd = Array.from({ length: 18 }, (_, i) => 2 * i + 1)
  const even = Array.from({ length: 17 }, (_, i) => 2 * i + 2)
  t.same(replayed, [...odd, ...even], 'replayed by priority, then offset, from disk and memory alike')
  t.equal(await p.request('pub r {"id":"r36","priority":1,"msg":36}'), 'OK r36 published to r (1 subscriber)')
  t.match(await all.next(), /"offset":36\}$/, 'then live events')

  // commit: every delivered event with an offset <= n is acked at once.
  const sub = topic.subscriptions.get('replayer')!
  t.equal(sub.inFlight.size, 36)
  t.equal(sub.commit(20), 20)
  tb.broker.durability.committed(sub, 20)
  t.equal(sub.inFlight.size, 16)
  t.same([...sub.inFlight.values()].map(d => d.ev.offset).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => 21 + i))
  t.equal(await all.request('ack r r21'), 'OK acked r21 on r')
  t.equal(await all.request('ack r r3'), 'ERR NOT_IN_FLIGHT event "r3" is not in flight for you on r', 'committed events are acked')

  // A range: offsets 5 to 12, ended with END once all are acked.
  const ranged = await attach('ranged', 5, 12, 3)
  const seen = (await drain(ranged, 'r', 8)).map(l => (JSON.parse(textOf(l)) as { offset: number }).offset)
  t.same(seen, [5, 7, 9, 11, 6, 8, 10, 12], 'the range, by priority then offset')
  let end = await ranged.next()
  while (end.startsWith('OK acked ')) end = await ranged.next()
  t.equal(end, 'END r 12', 'the range is done once every event of it is acked')
  t.notOk(topic.subscriptions.has('ranged'), 'and the subscription ended')
  t.equal(await ranged.request('unsub r'), 'ERR NOT_SUBSCRIBED not subscribed to r')

  // Create: a topic with no events; a sub to it works; its files exist after a batch.
  store.ensureTopic('empty')
  t.equal(await p.request('sub empty'), 'OK subscribed to empty (max in flight 10)')
  await tb.broker.durability.batcher.run()
  t.ok(existsSync(join(dir, 'topics', 'empty', 'topic.json')))
  t.same(JSON.parse(readFileSync(join(dir, 'topics', 'empty', 'topic.json'), 'utf8')).topic, 'empty')

  // Delete: subscribers are told, the topic is gone, its files go; a new one of that name starts at offset 1.
  const ticket = (() => { store.deleteTopic('r'); return tb.broker.durability.pendingTicket() })()
  t.ok(ticket > 0, 'the delete is journaled')
  t.equal(await all.next(), 'END r deleted')
  t.equal(await all.request('ack r r22'), 'ERR UNKNOWN_TOPIC topic r does not exist')
  t.equal(await p.request('sub r'), 'ERR UNKNOWN_TOPIC topic r does not exist; publish to it first')
  t.equal(await p.request('pub r {"id":"again","msg":"a new topic"}'), 'OK again published to r (0 subscribers)')
  await tb.broker.durability.batcher.run()
  t.equal(storedEvents(dir, 'r').length, 1, 'the old files are gone; the new topic has its one event')
  t.equal(storedEvents(dir, 'r')[0].offset, 1)
  for (let i = 0; i < 100 && readdirSync(join(dir, 'trash')).length > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(readdirSync(join(dir, 'trash')), [], 'the deleted topic\'s directory, moved to the trash, is removed')
})

t.test('a replay from=beginning lists what it owes from the segment indexes, reads each event once, and leaves the hot cache alone; old index files still serve', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { segmentBytes: 2048 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  // Priorities in stretches (1, then 7, then 1 again), over several segments.
  const prio = (i: number): number => i >= 100 && i < 200 ? 7 : 1
  const texts: string[] = []
  for (let i = 0; i < 250; i++) p.send(`pub q {"id":"q${i}","priority":${prio(i)},"msg":{"n":${i}}}`)
  for (let i = 0; i < 250; i++) t.match(await p.reply(), /^OK q\d+ published to q/)
  tb = await restart(t, tb, dir, cfg) // every event in the segments, the sealed ones with saved indexes
  const expected = (lines: string[]): string[] => lines.slice().sort(order)
  const replay = async (): Promise<{ got: string[], read: number, stored: number }> => {
    const topic = tb.broker.store.topic('q')!
    const log = topic.log as SegmentLog
    const before = log.bytesRead
    const c = await tb.client()
    t.equal(await c.request('sub q 1000 from=beginning'), 'OK subscribed to q (max in flight 1000)')
    const got = (await drain(c, 'q', 250)).map(textOf)
    await settle(t, c)
    c.destroy()
    return { got, read: log.bytesRead - before, stored: log.bytes }
  }
  const first = await replay()
  for (const line of first.got) texts.push(line)
  t.same(first.got, expected(texts), 'every event, by priority then offset')
  t.same(first.got.map(l => (JSON.parse(l) as { msg: { n: number } }).msg.n), [...Array.from({ length: 100 }, (_, i) => 100 + i), ...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 50 }, (_, i) => 200 + i)])
  // Listing reads nothing; each of the three stretches is read once, from the line the sparse index places before it (at worst a segment's start).
  t.ok(first.read <= first.stored + 3 * 2048, `each event read once: ${first.read} bytes read for ${first.stored} stored`)
  t.equal(tb.broker.store.cache.count, 0, 'a lone replay leaves the hot cache alone')

  // Index files from before the runs were kept (version 1): the replay reads those segments' lines to list them.
  await tb.stop()
  let rewritten = 0
  for (const f of readdirSync(join(dir, 'topics', 'q')).filter(f => f.endsWith('.index.json'))) {
    const d = JSON.parse(readFileSync(join(dir, 'topics', 'q', f), 'utf8')) as Record<string, unknown>
    d.version = 1
    delete d.runs
    writeFileSync(join(dir, 'topics', 'q', f), JSON.stringify(d) + '\n')
    rewritten++
  }
  t.ok(rewritten > 3, `${rewritten} index files made version 1`)
  tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const old = await replay()
  t.same(old.got, first.got, 'the same replay, byte for byte')
})

t.test('events a replay reads go to the hot cache when another connected subscriber waits for them, and only those', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { segmentBytes: 2048 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  await p.request('pub h {"msg":"create"}')
  const slow = await tb.client()
  await slow.request('name slow')
  await slow.request('sub h 1')
  slow.destroy()
  for (let i = 0; i < 40; i++) p.send(`pub h {"id":"h${i}","msg":${i}}`)
  for (let i = 0; i < 40; i++) await p.reply()
  tb = await restart(t, tb, dir, cfg) // nothing in memory or in the cache now
  const cache = tb.broker.store.cache
  const s = await tb.client()
  await s.request('name slow')
  t.equal(await s.request('sub h 1'), 'OK subscribed to h (max in flight 1, resumed with 40 pending)')
  t.match(await s.next(), /"id":"h0"/)
  t.equal(cache.count, 0, 'its own read is its read-ahead, not cached')
  // A replay of the whole topic: of what it reads, the events `slow` still waits for (h1..h39) are cached.
  const r = await tb.client()
  t.equal(await r.request('sub h 1000 from=beginning'), 'OK subscribed to h (max in flight 1000)')
  for (let i = 0; i < 41; i++) await r.next()
  const topic = tb.broker.store.topic('h')!
  t.same([...topic.cached.keys()].sort((a, b) => a - b), Array.from({ length: 39 }, (_, i) => i + 3), 'offsets 3..41: what slow waits for; not 1 (the topic\'s first event) nor 2 (in flight)')
})

t.test('a backlog read from the segments: the read-ahead a subscription holds is at most 4 events per in-flight slot', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { segmentBytes: 4096 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  await p.request('pub b {"msg":"create"}')
  const w = await tb.client()
  await w.request('name w')
  await w.request('sub b 2')
  w.destroy()
  for (let i = 0; i < 100; i++) p.send(`pub b {"id":"b${i}","msg":${i}}`)
  for (let i = 0; i < 100; i++) await p.reply()
  tb = await restart(t, tb, dir, cfg)
  const c = await tb.client()
  await c.request('name w')
  t.equal(await c.request('sub b 2'), 'OK subscribed to b (max in flight 2, resumed with 100 pending)')
  const sub = tb.broker.store.topic('b')!.subscriptions.get('w')!
  const ids: string[] = []
  let most = 0
  while (ids.length < 100) {
    const line = await c.next()
    if (line.startsWith('OK acked ')) continue
    most = Math.max(most, sub.readAheadCount)
    const id = String((JSON.parse(textOf(line)) as { id: string }).id)
    ids.push(id)
    c.send(`ack b ${id}`)
  }
  t.same(ids, Array.from({ length: 100 }, (_, i) => `b${i}`), 'every event, in order')
  t.ok(most > 0 && most <= 8, `read-ahead held at most ${most} events (in-flight 2)`)
})

t.test('after a restart, ids published in the dedupe window are known again (a pub of one is a duplicate); broker-assigned ones need not be', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  await p.request('pub w {"msg":"create"}')
  const s = await tb.client()
  await s.request('name away')
  await s.request('sub w 1')
  s.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await p.request('pub w {"id":"k-1","msg":1}'), 'OK k-1 published to w (1 subscriber)')
  t.equal(await p.request('pub w {"msg":2}'), 'OK 2 published to w (1 subscriber)')
  t.equal(await p.request('pub w {"msg":3,"id":9}'), 'OK 9 published to w (1 subscriber)')
  tb = await restart(t, tb, dir, {})
  const topic = tb.broker.store.topic('w')!
  t.same([...['k-1', '9', '2', '1']].map(k => topic.ids.get(k)), [2, 4, undefined, undefined], 'publisher ids are back with their offsets; the broker\'s own are not kept')
  t.equal(topic.ids.size, 2)
  const p2 = await tb.client()
  t.equal(await p2.request('pub w {"id":"k-1","msg":"again"}'), 'OK k-1 duplicate, already published to w', 'a duplicate after the restart too')
  t.equal(await p2.request('pub w {"id":9,"msg":"again"}'), 'OK 9 duplicate, already published to w')
  t.equal(await p2.request('pub w {"msg":"next"}'), 'OK 10 published to w (1 subscriber)', 'broker ids carry on above the publisher\'s 9')
})

t.test('events not yet stored are held as bytes once delivered: memory, segments and a restart give the same text', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { batchIntervalMs: 3600000 } // stored only when the test runs the batcher
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub bytes {"msg":"create"}')
  await s.request('sub bytes 1000')
  const texts = [
    '{ "id" : "é-1",\t"msg" : { "emoji" : "😀 \\u00e9 \\"q\\"" } , "n" : 1.0 }',
    '{"id":42,"priority":7,"msg":"日本語テキスト","list":[1,2,{"a":null}]}',
    '{"id":"a\\u0041b","msg":"escaped id"}',
    '{"priority":9,"msg":"' + 'x'.repeat(300) + '"}',
  ]
  for (const text of texts) t.match(await p.request(`pub bytes ${text}`), /^OK \S+ published to bytes \(1 subscriber\)$/)
  const delivered: string[] = []
  for (let i = 0; i < texts.length; i++) delivered.push(textOf(await s.next()))
  const topic = tb.broker.store.topic('bytes')!
  t.equal(topic.unflushedCount, texts.length + 1, 'nothing stored yet')
  for (let o = 2; o <= texts.length + 1; o++) t.notOk(topic.holdsUnstoredObject(o), `offset ${o}: delivered to its one subscriber, only its bytes are held`)
  t.same(delivered.map(x => (JSON.parse(x) as { offset: number }).offset), [2, 3, 4, 5])

  // From memory, decoded from the bytes: `events` and a replay.
  const page = JSON.parse((await p.request('events bytes from=2')).slice(3)) as { events: unknown[] }
  t.same(page.events.map(e => JSON.stringify(e)), delivered.map(x => JSON.stringify(JSON.parse(x))), 'events: the same events')
  const r = await tb.client()
  await r.request('sub bytes 1000 from=2')
  const replayed = [await r.next(), await r.next(), await r.next(), await r.next()].map(textOf)
  t.same(replayed.slice().sort(), delivered.slice().sort(), 'a replay from memory: the same texts, byte for byte')
  r.destroy()

  await tb.broker.durability.batcher.run()
  t.equal(topic.unflushedCount, 0, 'stored')
  const stored = segmentFiles(dir, 'bytes').map(f => readFileSync(join(dir, 'topics', 'bytes', f), 'utf8')).join('').split('\n').filter(l => l !== '')
  t.same(stored.slice(1), delivered, 'the segment lines are the delivered texts, byte for byte')

  tb = await restart(t, tb, dir, cfg)
  const a = await tb.client()
  await a.request('sub bytes 1000 from=2')
  const after = [await a.next(), await a.next(), await a.next(), await a.next()].map(textOf)
  t.same(after.slice().sort(), delivered.slice().sort(), 'after a restart: the same texts, byte for byte')
})

t.test('a batch of several MiB (many pages of unstored events), with events published while its append runs: delivered, stored and replayed after a restart byte for byte', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { batchIntervalMs: 3600000 } // stored only when the test runs the batcher
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub big {"msg":"create"}')
  await s.request('sub big ack=none')
  const text = (i: number): string => `{"id":"e-${i}","msg":"${i % 3 === 0 ? 'é😀日本'.repeat(40) : 'x'.repeat(400 + (i % 50))}","n":${i}}`
  const publish = async (from: number, to: number): Promise<string[]> => {
    for (let i = from; i < to; i++) p.send(`pub big ${text(i)}`)
    const got: string[] = []
    for (let i = from; i < to; i++) {
      const reply = await p.next()
      if (!reply.startsWith('OK e-')) throw new Error(`unexpected ${reply}`)
      got.push(textOf(await s.next()))
    }
    return got
  }
  const delivered = await publish(0, 6000)
  const topic = tb.broker.store.topic('big')!
  t.equal(topic.unflushedCount, 6001, 'nothing stored yet')
  const batch = tb.broker.durability.batcher.run()
  delivered.push(...await publish(6000, 9000)) // while the append runs (or right after it)
  await batch
  delivered.push(...await publish(9000, 10_000))
  t.ok(topic.unflushedCount >= 1000, 'the later ones wait for the next batch')
  await tb.broker.durability.batcher.run()
  t.equal(topic.unflushedCount, 0, 'all stored')
  const stored = segmentFiles(dir, 'big').map(f => readFileSync(join(dir, 'topics', 'big', f), 'utf8')).join('').split('\n').filter(l => l !== '')
  t.ok(Buffer.byteLength(stored.join('\n')) > 4 * 1024 * 1024, 'several MiB')
  t.ok(stored.slice(1).every((line, i) => line === delivered[i]), 'the segment lines are the delivered texts, byte for byte, in order')
  t.equal(stored.length, 10_001)

  tb = await restart(t, tb, dir, cfg)
  const a = await tb.client()
  await a.request('sub big 1000 from=2')
  const replayed = (await drain(a, 'big', delivered.length)).map(textOf)
  const sorted = delivered.slice().sort()
  t.ok(replayed.sort().every((x, i) => x === sorted[i]), 'after a restart, a replay: every text byte for byte')
})

t.test('retention 0 keeps nothing for replay: an event nothing owes is never written, an owed one is, offsets go on across a restart', async t => {
  const dir = tempDir()
  const cfg: ConfigOverrides = { retention: { maxAgeMs: 3600000, maxBytes: 1_000_000, overrides: [{ pattern: 'metrics.*', maxAgeMs: 0 }] }, batchIntervalMs: 3600000 }
  let tb = await startTestBroker(t, { logDir: dir, ...cfg })
  const p = await tb.client()
  const fan = await tb.client()
  t.equal(await p.request('create metrics.cpu'), 'OK created metrics.cpu')
  t.equal(await fan.request('sub metrics.cpu ack=none'), 'OK subscribed to metrics.cpu (at most once, ack=none)')
  const sent: string[] = []
  for (let i = 1; i <= 5; i++) {
    const text = `{"id":"m${i}","priority":${i},"msg":{"cpu":${40 + i},"host":"h\\u00e9 ${i}"}}`
    t.equal(await p.request(`pub metrics.cpu ${text}`), `OK m${i} published to metrics.cpu (1 subscriber)`)
    sent.push(text)
  }
  for (let i = 1; i <= 5; i++) {
    const ev = await fan.next()
    const stamp = /"timestamp":(\d+),/.exec(ev)?.[1]
    t.equal(ev, `EVENT metrics.cpu ${sent[i - 1].slice(0, -1)},"timestamp":${stamp},"offset":${i}}`, `delivered byte for byte, offset ${i}`)
  }
  t.equal(await p.request('pub metrics.cpu {"msg":"nobody else"}'), 'OK 1 published to metrics.cpu (1 subscriber)')
  t.match(await fan.next(), /^EVENT metrics\.cpu \{"id":1,"priority":0,"msg":"nobody else","timestamp":\d+,"offset":6\}$/)
  t.equal(await p.request('pub plain {"msg":"kept"}'), 'OK 1 published to plain (0 subscribers)', 'a topic with the default retention')
  const topic = tb.broker.store.topic('metrics.cpu')!
  t.equal(topic.keepsNothing, true)
  t.equal(tb.broker.store.topic('plain')!.keepsNothing, false)
  t.same(topic.info(), { topic: 'metrics.cpu', firstOffset: 7, lastOffset: 6, retainedEvents: 0, retainedBytes: 0, subscribers: 1, pending: 0 }, 'nothing held, six offsets used')
  await tb.broker.durability.batcher.run()
  t.same(storedEvents(dir, 'metrics.cpu'), [], 'nothing was written for replay')
  t.equal(storedEvents(dir, 'plain').length, 1, 'the default keeps events')

  // An acked subscriber owes what comes next: that is stored (and replayed to it after a restart), until acked.
  const worker = await tb.client()
  await worker.request('name worker')
  t.equal(await worker.request('sub metrics.cpu 10'), 'OK subscribed to metrics.cpu (max in flight 10)')
  t.equal(await p.request('pub metrics.cpu {"id":"owed","msg":1}'), 'OK owed published to metrics.cpu (2 subscribers)')
  t.match(await worker.next(), /^EVENT metrics\.cpu \{"priority":0,"id":"owed","msg":1,"timestamp":\d+,"offset":7\}$/)
  t.match(await fan.next(), /"id":"owed"/)
  await tb.broker.durability.batcher.run()
  t.same(storedEvents(dir, 'metrics.cpu').map(e => e.offset), [7], 'the owed event is stored')

  tb = await restart(t, tb, dir, cfg)
  const back = await tb.client()
  await back.request('name worker')
  t.equal(await back.request('sub metrics.cpu 10'), 'OK subscribed to metrics.cpu (max in flight 10, resumed with 1 pending)')
  t.match(await back.next(), /^EVENT metrics\.cpu \{"priority":0,"id":"owed","msg":1,"timestamp":\d+,"offset":7,"deliveries":2\}$/, 'redelivered after the restart')
  t.equal(await back.request('ack metrics.cpu owed'), 'OK acked owed on metrics.cpu')
  t.equal(await back.request('unsub metrics.cpu'), 'OK unsubscribed from metrics.cpu')
  const p2 = await tb.client()
  t.equal(await p2.request('pub metrics.cpu {"msg":"after"}'), 'OK 2 published to metrics.cpu (0 subscribers)')
  t.equal(tb.broker.store.topic('metrics.cpu')!.nextOffset, 9, 'offsets carry on after the restart: none is used twice')
  await tb.broker.durability.batcher.run()
  await tb.broker.durability.batcher.retain() // rolls the active segment: wholly expired once acked
  await tb.broker.durability.batcher.retain() // and deletes it
  t.same(storedEvents(dir, 'metrics.cpu'), [], 'acked, the owed event goes at the next retention pass')
  const replay = await tb.client()
  t.equal(await replay.request('sub metrics.cpu 10 from=beginning'), 'OK subscribed to metrics.cpu (max in flight 10)')
  t.ok(await replay.quiet(100), 'nothing is there to replay')
})

t.test('a batch whose write fails keeps the changes made while it was writing: an ack made then is not lost, nothing acked comes back after a restart', async t => {
  const dir = tempDir()
  const tb = await startTestBroker(t, { logDir: dir, batchIntervalMs: 3600000 })
  const p = await tb.client()
  await p.request('pub f {"msg":"create"}')
  const s = await tb.client()
  await s.request('name n1')
  await s.request('sub f 10')
  for (let i = 1; i <= 4; i++) await p.request(`pub f {"id":"e${i}","msg":${i}}`)
  for (let i = 1; i <= 4; i++) t.equal((await s.event()).event.id, `e${i}`)
  await tb.broker.durability.batcher.run() // the topic's files exist; every event stored
  const topic = tb.broker.store.topic('f')!
  const state = tb.broker.durability.batcher.files.get(topic)!.state
  // The next batch's state-log write fails, after a while: during it, e2 is acked (a change for the batch after).
  const append = state.append.bind(state)
  let release: (() => void) | null = null
  state.append = async () => {
    await new Promise<void>(resolve => { release = resolve })
    throw new Error('disk full (test)')
  }
  t.equal(await s.request('ack f e1'), 'OK acked e1 on f')
  const failing = tb.broker.durability.batcher.run()
  await waitFor(() => release !== null, 'the batch writing')
  t.equal(await s.request('ack f e2'), 'OK acked e2 on f')
  release!()
  await failing
  state.append = append
  await tb.broker.durability.batcher.run() // stores the failed batch's records and the ack made meanwhile
  await tb.stop()
  const again = await startTestBroker(t, { logDir: dir, batchIntervalMs: 3600000 })
  const s2 = await again.client()
  await s2.request('name n1')
  await s2.request('sub f 10')
  const back = [(await s2.event()).event.id, (await s2.event()).event.id]
  t.same(back.sort(), ['e3', 'e4'], 'only the unacked events come back')
  t.ok(await s2.quiet(), 'e1 and e2 stay acked')
})
