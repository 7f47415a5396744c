import t from 'tap'
import pino from 'pino'
import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import { UnstoredEvents } from '../../src/store/unstoredEvents'
import { encodeLines } from '../../src/persistence/lineBatch'
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

t.test('an append takes views of the bytes; what arrives meanwhile (growing the memory) leaves them as they were', async t => {
  const u = new UnstoredEvents()
  const first = Array.from({ length: 10 }, (_, i) => sealed(i, i + 1))
  for (const ev of first) u.push(ev, 1)
  const batch = u.takeForAppend()
  t.equal(batch.count, 10)
  const copy = Buffer.from(batch.bytes)
  t.same(copy, linesOf(first), 'the batch: the segment lines')
  t.same([...batch.offsets], first.map(e => e.offset))
  t.same([...batch.timestamps], first.map(e => e.timestamp))
  t.same([...batch.priorities], first.map(e => e.priority))
  t.same([...batch.lengths], first.map(e => Buffer.byteLength(e.json) + 1))
  // Many more events while the append runs: the memory grows (new memory, the held events copied).
  const more = Array.from({ length: 5000 }, (_, i) => sealed(i, 11 + i))
  for (const ev of more) u.push(ev, 0)
  t.same(batch.bytes, copy, 'the batch\'s bytes did not change')
  t.same([...batch.offsets], first.map(e => e.offset), 'nor its numbers')
  t.equal(u.takeForAppend().count, 5000, 'the next batch: only what was not handed out')
  t.equal(u.takeForAppend().count, 0, 'then nothing')
  u.stored(10)
  t.equal(u.size, 5000)
  t.equal(u.firstOffset, 11)
  t.equal(u.get(11)!.json, more[0].json)
  t.equal(u.get(5010)!.json, more[4999].json)
  t.equal(u.bytesHeld, linesOf(more).length)
  u.appendFailed() // the second append failed: its events go again
  const again = u.takeForAppend()
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

t.test('with no append under way, the held events move to the front of the same memory; the texts stay right', async t => {
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 200 }, (_, i) => sealed(i % 4, i + 1)) // short texts: room for several in-place moves
  let next = 0
  const push = (n: number): void => { for (let k = 0; k < n; k++, next++) u.push(evs[next], 1) }
  let stored = 0
  push(10)
  while (next < evs.length) {
    const batch = u.takeForAppend()
    const expected = linesOf(evs.slice(stored, stored + batch.count))
    t.same(Buffer.from(batch.bytes), expected, `batch at ${stored}: its lines`)
    push(Math.min(7, evs.length - next)) // arrive during the append
    t.same(Buffer.from(batch.bytes), expected, 'unchanged while the append runs')
    stored += batch.count
    u.stored(stored)
    push(Math.min(5, evs.length - next)) // after it: may move the held ones in place
    for (let o = stored + 1; o <= next; o++) if (u.get(o)?.json !== evs[o - 1].json) { t.fail(`offset ${o} after a move`); return }
  }
  const rest = u.takeForAppend()
  t.same(Buffer.from(rest.bytes), linesOf(evs.slice(stored)))
  u.stored(evs.length)
  t.equal(u.size, 0)
  t.equal(u.bytesHeld, 0)
})

t.test('once every held event is stored the memory is kept for the next ones (no new memory per batch); trim gives it back when nothing came', async t => {
  const u = new UnstoredEvents()
  const evs = Array.from({ length: 300 }, (_, i) => sealed(i % 4, i + 1))
  for (const ev of evs.slice(0, 100)) u.push(ev, 0)
  const kept = u.capacityBytes
  t.ok(kept > 0)
  let batch = u.takeForAppend()
  u.stored(100)
  t.equal(u.size, 0)
  t.equal(u.capacityBytes, kept, 'emptied by a batch: the memory stays')
  for (const ev of evs.slice(100, 200)) u.push(ev, 0)
  t.equal(u.capacityBytes, kept, 'the next batch\'s events reuse it')
  t.equal(u.firstOffset, 101)
  batch = u.takeForAppend()
  t.same(Buffer.from(batch.bytes), linesOf(evs.slice(100, 200)), 'from the front of the same memory, the right lines')
  t.equal(u.get(150)?.json, evs[149].json)
  u.trim()
  t.equal(u.capacityBytes, kept, 'trim leaves a topic that holds events alone')
  u.stored(200)
  u.trim()
  t.equal(u.capacityBytes, 0, 'quiet and empty: trim gives the memory back')
  for (const ev of evs.slice(200)) u.push(ev, 0)
  t.same(Buffer.from(u.takeForAppend().bytes), linesOf(evs.slice(200)), 'and it grows again')
})
