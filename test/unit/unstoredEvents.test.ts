import t from 'tap'
import pino from 'pino'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import { PAGE_BYTES, PAGE_EVENTS, pagePoolStats, trimPagePool, UnstoredEvents } from '../../src/store/unstoredEvents'
import { encodeLines, type LineBatch } from '../../src/persistence/lineBatch'
import { FileCache } from '../../src/persistence/fileCache'
import { SegmentLog } from '../../src/persistence/segmentLog'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const T0 = 1_800_000_000_000

/** Payloads that must survive byte for byte: multi-byte UTF-8, escapes, whitespace inside the braces, numeric and string ids. */
const TEXTS = [
  '{"msg":"plain"}',
  '{ "id" : "é-1",\t"msg" : { "emoji" : "😀 \\u00e9 \\"q\\"" } , "n" : 1.0 }',
  '{"id":42,"priority":7,"msg":"日本語テキスト","list":[1,2,{"a":null}]}',
  '{"id":"a\\u0041b","msg":"escaped id"}',
  '{"priority":9,"msg":"' + 'x'.repeat(300) + '"}',
]

function sealed (i: number, offset: number): StoredEvent {
  const p = parseEvent(TEXTS[i % TEXTS.length])
  return sealEvent(p, p.id ?? offset, offset, T0 + offset)
}

/** What the segment gets for these events: each JSON and a newline, as UTF-8. */
function linesOf (evs: StoredEvent[]): Buffer {
  return Buffer.from(evs.map(e => e.json + '\n').join(''), 'utf8')
}

/** An append's parts as one batch (copies), to compare with what is expected. */
function joined (parts: LineBatch[]): { count: number, bytes: Buffer, offsets: number[], timestamps: number[], priorities: number[], lengths: number[] } {
  return {
    count: parts.reduce((n, p) => n + p.count, 0),
    bytes: Buffer.concat(parts.map(p => Buffer.from(p.bytes))),
    offsets: parts.flatMap(p => [...p.offsets]),
    timestamps: parts.flatMap(p => [...p.timestamps]),
    priorities: parts.flatMap(p => [...p.priorities]),
    lengths: parts.flatMap(p => [...p.lengths]),
  }
}

t.test('events come out as they went in: as objects while wanted, decoded from their bytes after, the same text, id, key, priority, timestamp', async t => {
  const u = new UnstoredEvents()
  const evs = TEXTS.map((_, i) => sealed(i, i + 1))
  for (const ev of evs) u.push(ev, 1)
  t.equal(u.size, evs.length)
  t.equal(u.firstOffset, 1)
  t.equal(u.bytesHeld, linesOf(evs).length, 'bytes held: the UTF-8 lines, newlines included')
  for (const ev of evs) t.equal(u.get(ev.offset), ev, 'while wanted: the very object')
  for (const ev of evs) u.release(ev.offset)
  for (const ev of evs) {
    t.notOk(u.holdsObject(ev.offset), 'released: only the bytes are held')
    const back = u.get(ev.offset)!
    t.not(back, ev, 'a new object')
    t.same(back, ev, 'decoded from the bytes: the same event')
    t.equal(back.json, ev.json, 'the text exactly')
    t.equal(back.key, ev.key)
  }
  t.equal(u.get(99), undefined)
  t.equal(u.get(0), undefined)
})

t.test('the object is kept until every subscription that may want it has let go; with none, it is never kept', async t => {
  const u = new UnstoredEvents()
  u.push(sealed(0, 1), 2)
  u.push(sealed(1, 2), 0)
  t.ok(u.holdsObject(1))
  t.notOk(u.holdsObject(2), 'nobody to deliver to: bytes only')
  u.release(1)
  t.ok(u.holdsObject(1), 'one of two let go')
  u.release(1)
  t.notOk(u.holdsObject(1), 'both let go')
  u.release(1) // one too many (a subscription that came later): nothing breaks
  u.release(77)
  t.equal(u.get(1)!.json, sealed(0, 1).json)
})

t.test('offsets with gaps are found; listings, byte counts and times read the numbers, not the texts', async t => {
  const u = new UnstoredEvents()
  const offsets = [5, 6, 9, 10, 14]
  const evs = offsets.map((o, i) => sealed(i, o))
  for (const ev of evs) u.push(ev, 0)
  for (const ev of evs) t.equal(u.get(ev.offset)!.json, ev.json, `offset ${ev.offset}`)
  for (const o of [4, 7, 8, 11, 13, 15]) t.notOk(u.has(o), `no ${o}`)
  t.same(u.eventsIn(6, 13).map(e => e.offset), [6, 9, 10])
  t.same(u.eventsIn(1, 100, o => o % 2 === 0).map(e => e.offset), [6, 10, 14])
  const listed: number[][] = []
  u.forEachFrom(9, (o, p) => listed.push([o, p]))
  t.same(listed, evs.filter(e => e.offset >= 9).map(e => [e.offset, e.priority]))
  t.equal(u.textBytesFrom(10), evs.filter(e => e.offset >= 10).reduce((n, e) => n + Buffer.byteLength(e.json), 0))
  t.equal(u.offsetAtTime(T0 + 7), 9)
  t.equal(u.offsetAtTime(T0 + 100), -1)
})

t.test('an append takes views of the bytes; what arrives meanwhile (in new pages) leaves them as they were', async t => {
  const u = new UnstoredEvents()
  const first = Array.from({ length: 10 }, (_, i) => sealed(i, i + 1))
  for (const ev of first) u.push(ev, 1)
  const parts = u.takeForAppend()
  const batch = joined(parts)
  t.equal(batch.count, 10)
  t.same(batch.bytes, linesOf(first), 'the batch: the segment lines')
  t.same(batch.offsets, first.map(e => e.offset))
  t.same(batch.timestamps, first.map(e => e.timestamp))
  t.same(batch.priorities, first.map(e => e.priority))
  t.same(batch.lengths, first.map(e => Buffer.byteLength(e.json) + 1))
  // Many more events while the append runs: after the taken ones, then in new pages.
  const more = Array.from({ length: 5000 }, (_, i) => sealed(i, 11 + i))
  for (const ev of more) u.push(ev, 0)
  t.same(joined(parts), batch, 'the batch\'s bytes and numbers did not change')
  const next = u.takeForAppend()
  t.ok(next.length > 1, `the next batch: ${next.length} parts`)
  t.equal(joined(next).count, 5000, 'only what was not handed out')
  t.same(joined(next).bytes, linesOf(more))
  t.equal(u.takeForAppend().length, 0, 'then nothing')
  u.stored(10)
  t.equal(u.size, 5000)
  t.equal(u.firstOffset, 11)
  t.equal(u.get(11)!.json, more[0].json)
  t.equal(u.get(5010)!.json, more[4999].json)
  t.equal(u.bytesHeld, linesOf(more).length)
  u.appendFailed() // the second append failed: its events go again
  const again = joined(u.takeForAppend())
  t.equal(again.count, 5000)
  t.same(again.bytes, linesOf(more))
  u.stored(5010)
  t.equal(u.size, 0)
  t.equal(u.bytesHeld, 0)
  t.equal(u.firstOffset, -1)
  u.push(sealed(1, 5011), 1)
  t.equal(u.get(5011)!.json, sealed(1, 5011).json, 'empty, then used again')
  u.clear()
  t.equal(u.size, 0)
})

t.test('a segment gets exactly the held bytes, also across a roll; read back, the texts are the same', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, { fsync: 'always', log: pino({ level: 'silent' }), files: new FileCache(8), segmentBytes: 1024 })
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 40 }, (_, i) => sealed(i, i + 1))
  for (const ev of evs) u.push(ev, 1)
  await log.appendLines(u.takeForAppend())
  u.stored(40)
  const files = readdirSync(dir).filter(f => f.endsWith('.jsonl')).sort()
  t.ok(files.length > 3, `rolled into ${files.length} segments`)
  t.same(Buffer.concat(files.map(f => readFileSync(join(dir, f)))), linesOf(evs), 'the files hold the lines byte for byte')
  const back = await log.readRange(1, 40, 1 << 20)
  t.same(back.map(l => l.text), evs.map(e => e.json))
  // The same through append() (events encoded there): the same files.
  const dir2 = t.testdir()
  const log2 = SegmentLog.open(dir2, { fsync: 'always', log: pino({ level: 'silent' }), files: new FileCache(8), segmentBytes: 1024 })
  await log2.append(evs)
  t.same(readdirSync(dir2).filter(f => f.endsWith('.jsonl')).sort(), files)
  t.same(Buffer.concat(files.map(f => readFileSync(join(dir2, f)))), linesOf(evs))
  t.same(encodeLines(evs).bytes, linesOf(evs))
  await log.close()
  await log2.close()
})

t.test('batches taken while events keep coming, some stored, some failed: every batch has the right lines, and so has memory', async t => {
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 3000 }, (_, i) => sealed(i % 4, i + 1))
  let next = 0
  const push = (n: number): void => { for (let k = 0; k < n; k++, next++) u.push(evs[next], 1) }
  let stored = 0
  let round = 0
  push(10)
  while (next < evs.length) {
    const parts = u.takeForAppend()
    const batch = joined(parts)
    const expected = linesOf(evs.slice(stored, stored + batch.count))
    t.same(batch.bytes, expected, `batch at ${stored}: its lines`)
    push(Math.min(7 * round + 3, evs.length - next)) // arrive during the append
    t.same(joined(parts), batch, 'unchanged while the append runs')
    if (++round % 5 === 0) {
      u.appendFailed() // goes again with the next batch
    } else {
      stored += batch.count
      u.stored(stored)
    }
    push(Math.min(5 * round, evs.length - next)) // after it
    for (let o = stored + 1; o <= next; o++) if (u.get(o)?.json !== evs[o - 1].json) { t.fail(`offset ${o}`); return }
    t.equal(u.size, next - stored)
    t.equal(u.firstOffset, stored < next ? stored + 1 : -1)
  }
  const rest = joined(u.takeForAppend())
  t.same(rest.bytes, linesOf(evs.slice(stored)))
  u.stored(evs.length)
  t.equal(u.size, 0)
  t.equal(u.bytesHeld, 0)
})

t.test('growth across many pages: each event found, listed and appended in order; full pages go back to the pool once stored and are taken again', async t => {
  const u = new UnstoredEvents()
  // 40,000 events of 5 texts (up to ~330 bytes, multi-byte ones among them): many full pages.
  const evs = Array.from({ length: 40_000 }, (_, i) => sealed(i, i + 1))
  for (const ev of evs) u.push(ev, 0)
  t.ok(u.capacityBytes > 8 * PAGE_BYTES, 'several full pages')
  for (const o of [1, 2, 16, 17, 48, 49, 1000, 8191, 8192, 8193, 20_000, 39_999, 40_000]) t.equal(u.get(o)?.json, evs[o - 1].json, `offset ${o}`)
  let wrong = 0
  for (const ev of evs) if (u.get(ev.offset)?.json !== ev.json) wrong++
  t.equal(wrong, 0, 'every event read back')
  t.same(u.eventsIn(8190, 8195).map(e => e.offset), [8190, 8191, 8192, 8193, 8194, 8195], 'a listing across a page edge')
  const listed: number[] = []
  u.forEachFrom(39_990, o => listed.push(o))
  t.same(listed, Array.from({ length: 11 }, (_, i) => 39_990 + i))
  t.equal(u.textBytesFrom(1), linesOf(evs).length - evs.length)
  const parts = u.takeForAppend()
  t.ok(parts.length > 8, `${parts.length} parts`)
  t.ok(parts.every(p => p.count <= PAGE_EVENTS && p.bytes.length <= PAGE_BYTES), 'none bigger than a page')
  t.same(joined(parts).bytes, linesOf(evs), 'the parts: every line in order')
  const dir = t.testdir()
  const log = SegmentLog.open(dir, { fsync: 'off', log: pino({ level: 'silent' }), files: new FileCache(8), segmentBytes: 3 * PAGE_BYTES + 12345 })
  await log.appendLines(parts)
  const files = readdirSync(dir).filter(f => f.endsWith('.jsonl')).sort()
  t.ok(files.length > 2, `rolled into ${files.length} segments`)
  t.same(Buffer.concat(files.map(f => readFileSync(join(dir, f)))), linesOf(evs), 'the segments: byte for byte')
  await log.close()
  const pooled = pagePoolStats().pooled
  u.stored(40_000)
  t.ok(pagePoolStats().pooled > pooled, 'stored full pages went to the pool')
  const made = pagePoolStats().made
  const other = new UnstoredEvents() // another topic
  for (const ev of evs) other.push(ev, 0)
  // The first pages double from 16 events and 1 KiB up to a full page (8192 events, 1 MiB): 11 of them.
  t.equal(pagePoolStats().made - made, 11, 'its full pages came from the pool: only the small first pages were made')
  t.same(joined(other.takeForAppend()).bytes, linesOf(evs), 'and hold the right lines')
  other.stored(40_000)
  other.clear()
  trimPagePool() // the pages in the pool since the last trim: all of them now
  t.ok(pagePoolStats().pooled > 0)
  trimPagePool() // none taken for a whole interval: they go
  t.equal(pagePoolStats().pooled, 0, 'pages no topic took for a batch interval are freed')
})

t.test('a page an append is still reading is never handed to another topic when its topic is deleted meanwhile', async t => {
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 20_000 }, (_, i) => sealed(i, i + 1))
  for (const ev of evs) u.push(ev, 1)
  const parts = u.takeForAppend()
  const copy = joined(parts)
  u.clear() // the topic is deleted while its append runs
  const other = new UnstoredEvents()
  for (const ev of evs.map((e, i) => sealed(i + 2, i + 1))) other.push(ev, 0)
  const now = joined(parts)
  t.ok(now.bytes.equals(copy.bytes), 'the append\'s bytes are as they were')
  t.ok(now.offsets.every((o, i) => o === copy.offsets[i]) && now.lengths.every((n, i) => n === copy.lengths[i]), 'and its numbers')
})

t.test('once every held event is stored the last page is kept for the next ones; a busy topic in its steady state makes no pages; trim lets the memory go when nothing came', async t => {
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 300 }, (_, i) => sealed(i < 20 ? 0 : i % 4, i + 1)) // short ones first: 10 fit the first page
  for (const ev of evs.slice(0, 10)) u.push(ev, 0)
  const kept = u.capacityBytes
  t.ok(kept > 0)
  u.takeForAppend()
  u.stored(10)
  t.equal(u.size, 0)
  t.equal(u.capacityBytes, kept, 'emptied by a batch: the memory stays')
  for (const ev of evs.slice(10, 20)) u.push(ev, 0)
  t.equal(u.capacityBytes, kept, 'the next batch\'s events reuse it')
  t.equal(u.firstOffset, 11)
  t.same(joined(u.takeForAppend()).bytes, linesOf(evs.slice(10, 20)), 'from the front of the same memory, the right lines')
  t.equal(u.get(15)?.json, evs[14].json)
  u.trim()
  t.equal(u.capacityBytes, kept, 'trim leaves a topic that holds events alone')
  u.stored(20)
  u.trim()
  t.equal(u.capacityBytes, 0, 'quiet and empty: trim gives the memory back')
  for (const ev of evs.slice(20)) u.push(ev, 0)
  t.same(joined(u.takeForAppend()).bytes, linesOf(evs.slice(20)), 'and it grows again')
  u.stored(300)
  // Steady: batches of 30,000 events, 10,000 of them arriving while the append runs.
  const busy = Array.from({ length: 200_000 }, (_, i) => sealed(i % 4, 301 + i))
  let next = 0
  let stored = 300
  let made = 0
  for (let round = 0; round < 6; round++) {
    if (round === 3) made = pagePoolStats().made
    for (let k = 0; k < 20_000; k++) u.push(busy[next++], 0)
    const parts = u.takeForAppend()
    const want = linesOf(busy.slice(stored - 300, next))
    for (let k = 0; k < 10_000; k++) u.push(busy[next++], 0)
    t.same(joined(parts).bytes, want, `round ${round}: the batch`)
    stored = 300 + next - 10_000
    u.stored(stored)
  }
  t.equal(pagePoolStats().made, made, 'no page made in the last three rounds')
})

t.test('an event bigger than a full page gets a page of its own size (never pooled); an empty last page it does not fit is replaced', async t => {
  const u = new UnstoredEvents()
  const small = (o: number): StoredEvent => sealed(0, o)
  const huge = (o: number): StoredEvent => sealEvent(parseEvent(`{"msg":"${'é'.repeat(200_000)}${'y'.repeat(200_000)}"}`), o, o, T0 + o)
  const evs = [small(1), small(2)]
  for (const ev of evs) u.push(ev, 0)
  u.takeForAppend()
  u.stored(2) // the last page is kept, empty
  const kept = u.capacityBytes
  evs.push(huge(3)) // 600,000 bytes of UTF-8, up to 1.2 MB by the push's bound: more than a full page
  u.push(evs[2], 1)
  t.ok(u.capacityBytes > PAGE_BYTES, 'a page bigger than a full one')
  t.ok(u.capacityBytes < kept + 2 * PAGE_BYTES, 'the empty page it did not fit was let go, not kept beside it')
  for (let o = 4; o <= 100; o++) { evs.push(small(o)); u.push(evs[o - 1], 0) } // past its room for events: a next page
  t.equal(u.get(3), evs[2], 'while wanted: the object')
  u.release(3)
  t.equal(u.get(3)!.json, evs[2].json, 'decoded from its bytes: the same text')
  t.equal(u.get(100)!.json, evs[99].json)
  const parts = u.takeForAppend()
  t.ok(parts.length >= 2)
  t.same(joined(parts).bytes, linesOf(evs.slice(2)), 'appended: the lines, byte for byte')
  const pooled = pagePoolStats().pooled
  const before = u.capacityBytes
  u.stored(100)
  t.ok(u.capacityBytes < before - PAGE_BYTES, 'the big page was let go (only the last page is kept)')
  t.equal(pagePoolStats().pooled, pooled, 'and not pooled: it is not full-size')
  t.equal(u.size, 0)
})
