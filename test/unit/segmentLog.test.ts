import t from 'tap'
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { encodeLine } from '../../src/persistence/segmentCodec'
import { FileCache } from '../../src/persistence/fileCache'
import { SegmentLog, type LogEntry, type SegmentLogOptions } from '../../src/persistence/segmentLog'
import { encodeLines, type LineBatch } from '../../src/persistence/lineBatch'
import { indexFileName, segmentFileName } from '../../src/persistence/segmentIndex'

/** A logger that keeps what it was told, to check the warnings. */
function recorder (): { log: pino.Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } })
  return { log, lines }
}

const T0 = 1_800_000_000_000

function entry (offset: number, extra = '', ts = T0 + offset): LogEntry {
  const json = encodeLine(`{"id":"e-${offset}","priority":${offset % 10},"msg":"event ${offset} ${extra}","timestamp":${ts}}`, offset)
  return { offset, timestamp: ts, priority: offset % 10, json }
}

function entries (from: number, to: number, extra = ''): LogEntry[] {
  const out: LogEntry[] = []
  for (let o = from; o <= to; o++) out.push(entry(o, extra))
  return out
}

function opts (extra: Partial<SegmentLogOptions> = {}): SegmentLogOptions {
  return { fsync: 'always', log: recorder().log, files: new FileCache(8), now: () => 4242, ...extra }
}

function segFiles (dir: string): string[] {
  return readdirSync(dir).filter(f => f.endsWith('.jsonl')).sort()
}

t.test('appended events read back byte for byte, one by one and as ranges; the files are plain JSON Lines', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts())
  t.equal(log.nextOffset, 1)
  t.equal(log.firstOffset, 1)
  t.equal(log.lastOffset, 0)
  const batch = [...entries(1, 50), entry(51, 'caf\\u00e9 é 💡 \\"quoted\\" \\\\'), ...entries(52, 100)]
  await log.append(batch.slice(0, 30))
  await log.append(batch.slice(30))
  t.equal(log.nextOffset, 101)
  t.equal(log.count, 100)
  for (const e of batch) {
    const got = await log.read(e.offset)
    if (got?.text !== e.json) t.fail(`offset ${e.offset}`)
  }
  const l51 = await log.read(51)
  t.equal(l51!.id, 'e-51')
  t.equal(l51!.priority, 1)
  t.equal(l51!.timestamp, T0 + 51)
  t.equal(await log.read(0), undefined)
  t.equal(await log.read(101), undefined)
  const range = await log.readRange(20, 60, 1 << 20)
  t.same(range.map(l => l.offset), Array.from({ length: 41 }, (_, i) => 20 + i))
  const files = segFiles(dir)
  t.same(files, [segmentFileName(1)])
  t.equal(files[0], '00000000000000000001.jsonl')
  const text = readFileSync(join(dir, files[0]), 'utf8')
  t.equal(text, batch.map(e => e.json).join('\n') + '\n', 'cat shows one event per line, as stored')
  for (const line of text.trimEnd().split('\n')) JSON.parse(line)
  await log.close()
})

t.test('segments roll at segmentBytes, each named by its first offset; sealed ones get a saved index', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 2000, indexIntervalBytes: 300 }))
  await log.append(entries(1, 40))
  await log.append([entry(41, 'x'.repeat(5000))]) // bigger than a segment: a segment of its own
  await log.append(entries(42, 60))
  const segs = log.segments()
  t.ok(segs.length >= 4, `${segs.length} segments`)
  for (let i = 0; i < segs.length; i++) {
    t.ok(segs[i].bytes <= 2000 || segs[i].count === 1, 'no segment past the limit unless one line alone is')
    if (i > 0) t.equal(segs[i].firstOffset, segs[i - 1].lastOffset + 1, 'contiguous')
    t.equal(statSync(segs[i].file).size, segs[i].bytes)
  }
  const big = segs.find(s => s.firstOffset === 41)!
  t.equal(big.count, 1)
  t.same(segFiles(dir), segs.map(s => segmentFileName(s.firstOffset)))
  for (const s of segs.slice(0, -1)) t.ok(existsSync(join(dir, indexFileName(s.firstOffset))), `index of ${s.firstOffset} saved`)
  t.notOk(existsSync(join(dir, indexFileName(segs[segs.length - 1].firstOffset))), 'the active segment has none yet')
  const all = await log.readRange(1, 60, 1 << 20)
  t.same(all.map(l => l.offset), Array.from({ length: 60 }, (_, i) => i + 1), 'a range reads across segments')
  const budgeted = await log.readRange(1, 60, 500)
  t.ok(budgeted.length >= 1 && budgeted.length < 60, `a byte budget stops early (${budgeted.length})`)
  t.equal(budgeted[0].offset, 1)
  t.ok(log.indexBytes < log.bytes, 'the sparse index is small beside the data')
  await log.close()
  t.ok(existsSync(join(dir, indexFileName(segs[segs.length - 1].firstOffset))), 'close saves the active index too')
})

t.test('reopening: saved indexes are used, stale or torn ones are rebuilt, and every event reads the same', async t => {
  const dir = t.testdir()
  const o = opts({ segmentBytes: 3000, indexIntervalBytes: 200 })
  const a = SegmentLog.open(dir, o)
  await a.append(entries(1, 80))
  await a.close()
  const segs = a.segments()
  // A torn index, a stale index (covers less than its segment), a missing one.
  writeFileSync(join(dir, indexFileName(segs[0].firstOffset)), '{"version":1,"firstOff')
  unlinkSync(join(dir, indexFileName(segs[1].firstOffset)))
  const b = SegmentLog.open(dir, o)
  t.same(b.segments(), segs, 'the same segments, offsets, sizes and timestamps')
  t.equal(b.problems, 0)
  for (let off = 1; off <= 80; off++) if ((await b.read(off))?.offset !== off) t.fail(`offset ${off}`)
  t.ok(existsSync(join(dir, indexFileName(segs[0].firstOffset))), 'the torn index was rebuilt')
  await b.append(entries(81, 90))
  const c = SegmentLog.open(dir, o) // the active index saved at close now covers less than its file
  t.equal(c.nextOffset, 91)
  t.same((await c.readRange(75, 90, 1 << 20)).map(l => l.offset), Array.from({ length: 16 }, (_, i) => 75 + i))
  for (const log of [b, c]) await log.close()
})

t.test('a torn last line (crash mid-write) is cut off at open with a warning; appends continue after it', async t => {
  for (const tail of ['{"id":"e-11","priority":1,"msg":"ha', '\u0000\u0000\u0000\u0000', '{"id":"e-11","priority":1}\n', 'garbage\nmore garbage']) {
    const dir = t.testdir()
    const a = SegmentLog.open(dir, opts())
    await a.append(entries(1, 10))
    const file = join(dir, segmentFileName(1))
    const good = statSync(file).size
    appendFileSync(file, tail)
    const rec = recorder()
    const b = SegmentLog.open(dir, opts({ log: rec.log }))
    t.equal(statSync(file).size, good, `${JSON.stringify(tail)} cut off`)
    t.equal(b.problems, 1)
    t.match(rec.lines, [{ msg: /torn tail of a segment cut off/, file, at: good }])
    t.equal(b.nextOffset, 11)
    await b.append(entries(11, 12))
    t.equal((await b.read(12))!.offset, 12)
    t.equal(readFileSync(file, 'utf8').split('\n').length, 13, 'whole lines only')
    await b.close()
    await a.close()
  }
})

t.test('a damaged line in the middle: the segment is moved aside at open, the rest is served', async t => {
  const dir = t.testdir()
  const o = opts({ segmentBytes: 1500 })
  const a = SegmentLog.open(dir, o)
  await a.append(entries(1, 60))
  await a.close()
  const segs = a.segments()
  t.ok(segs.length >= 3)
  const victim = segs[1]
  const text = readFileSync(victim.file, 'utf8').split('\n')
  text[2] = text[2].replace('"msg"', '"m\u0001g"')
  writeFileSync(victim.file, text.join('\n'))
  unlinkSync(join(dir, indexFileName(victim.firstOffset))) // no saved index: the open scans it
  const rec = recorder()
  const b = SegmentLog.open(dir, { ...o, log: rec.log })
  t.equal(b.problems, 1)
  t.match(rec.lines, [{ msg: /damaged segment moved aside/, file: victim.file, movedTo: `${victim.file}.damaged-4242`, problem: /good lines follow/ }])
  t.ok(existsSync(`${victim.file}.damaged-4242`), 'kept for a person to inspect')
  t.notOk(existsSync(victim.file))
  t.equal(await b.read(victim.firstOffset), undefined, 'its events are gone')
  t.equal((await b.read(segs[0].firstOffset))!.offset, segs[0].firstOffset, 'the others are served')
  t.equal((await b.read(60))!.offset, 60)
  const all = await b.readRange(1, 60, 1 << 20)
  t.equal(all.length, 60 - victim.count, 'a range skips the hole')
  t.equal(b.nextOffset, 61)
  await b.close()
})

t.test('damage found while serving (a saved index means no scan at open): moved aside, the read goes on', async t => {
  const dir = t.testdir()
  const o = opts({ segmentBytes: 1500 })
  const a = SegmentLog.open(dir, o)
  await a.append(entries(1, 60))
  await a.close()
  const segs = a.segments()
  const victim = segs[1]
  const fd = openSync(victim.file, 'r+')
  writeSync(fd, Buffer.from('#'), 0, 1, 0) // the first byte of its first line flipped; size unchanged
  closeSync(fd)
  const rec = recorder()
  const b = SegmentLog.open(dir, { ...o, log: rec.log })
  t.equal(b.problems, 0, 'not noticed at open')
  const all = await b.readRange(1, 60, 1 << 20)
  t.equal(all.length, 60 - victim.count)
  t.equal(b.problems, 1)
  t.match(rec.lines, [{ msg: /damaged segment moved aside/, file: victim.file }])
  t.ok(existsSync(`${victim.file}.damaged-4242`))
  t.equal(b.segments().length, segs.length - 1)
  t.equal((await b.read(60))!.offset, 60)
  await b.close()
})

t.test('a torn tail in an older segment: cut when nothing after it has data, damage when something does', async t => {
  {
    const dir = t.testdir()
    const a = SegmentLog.open(dir, opts())
    await a.append(entries(1, 10))
    await a.roll()
    await a.close()
    appendFileSync(join(dir, segmentFileName(1)), '{"id":"tor')
    t.ok(existsSync(join(dir, segmentFileName(11))), 'an empty segment after it (a crash right after a roll)')
    const b = SegmentLog.open(dir, opts())
    t.equal(b.problems, 1)
    t.equal(b.nextOffset, 11)
    t.equal(b.segments().length, 2)
    await b.append(entries(11, 12))
    t.equal((await b.read(11))!.offset, 11)
    await b.close()
  }
  {
    const dir = t.testdir()
    const a = SegmentLog.open(dir, opts({ segmentBytes: 1000 }))
    await a.append(entries(1, 30))
    await a.close()
    const segs = a.segments()
    unlinkSync(join(dir, indexFileName(segs[0].firstOffset)))
    appendFileSync(segs[0].file, '{"id":"tor')
    const rec = recorder()
    const b = SegmentLog.open(dir, opts({ segmentBytes: 1000, log: rec.log }))
    t.match(rec.lines, [{ msg: /damaged segment moved aside/, problem: /later segments have data/ }])
    t.equal(b.firstOffset, segs[1].firstOffset)
    await b.close()
  }
})

t.test('a segment overlapping the one before it is moved aside; stray temp files go', async t => {
  const dir = t.testdir()
  const a = SegmentLog.open(dir, opts())
  await a.append(entries(1, 10))
  await a.close()
  writeFileSync(join(dir, segmentFileName(5)), entries(5, 6).map(e => e.json).join('\n') + '\n')
  writeFileSync(join(dir, indexFileName(1) + '.tmp'), 'half')
  const rec = recorder()
  const b = SegmentLog.open(dir, opts({ log: rec.log }))
  t.match(rec.lines, [{ msg: /damaged segment moved aside/, problem: /inside the previous segment/ }])
  t.notOk(existsSync(join(dir, indexFileName(1) + '.tmp')))
  t.equal(b.nextOffset, 11)
  await b.close()
})

t.test('a first line that does not match the file name is damage', async t => {
  const dir = t.testdir()
  writeFileSync(join(dir, segmentFileName(1)), entries(1, 3).map(e => e.json).join('\n') + '\n')
  writeFileSync(join(dir, segmentFileName(7)), entries(8, 9).map(e => e.json).join('\n') + '\n')
  const rec = recorder()
  const b = SegmentLog.open(dir, opts({ log: rec.log }))
  t.match(rec.lines, [{ msg: /moved aside/, problem: /file name says 7/ }])
  t.equal(b.nextOffset, 4)
  await b.close()
})

t.test('offsets must grow; a gap after an empty active segment renames it', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ firstOffset: 100 }))
  t.equal(log.nextOffset, 100)
  await log.append(entries(100, 101))
  await t.rejects(log.append([entry(101)]), /offset 101 is not above 101/)
  await t.rejects(log.append([entry(105), entry(104)]), /offset 104 is not above 105/)
  await log.append([entry(103)]) // a gap inside a segment is allowed
  t.equal(await log.read(102), undefined)
  t.equal((await log.read(103))!.offset, 103)
  await log.roll()
  t.same(segFiles(dir), [segmentFileName(100), segmentFileName(104)])
  await log.append([entry(110)])
  t.same(segFiles(dir), [segmentFileName(100), segmentFileName(110)], 'the empty segment took the name of its first line')
  await log.append([])
  t.equal(log.nextOffset, 111)
  await log.close()
  const again = SegmentLog.open(dir, opts())
  t.equal(again.nextOffset, 111)
  t.equal(again.firstOffset, 100)
  await again.close()
})

t.test('roll and deleteOldest: whole segments go, never the active one; offsets stay', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 1000 }))
  await log.append(entries(1, 30))
  const before = log.segments()
  const freed = await log.deleteOldest(2)
  t.equal(freed, before[0].bytes + before[1].bytes)
  t.equal(log.firstOffset, before[2].firstOffset)
  t.notOk(existsSync(before[0].file))
  t.notOk(existsSync(join(dir, indexFileName(before[0].firstOffset))))
  t.equal(await log.read(1), undefined)
  t.equal(await log.deleteOldest(100), log.segments().length === 1 ? 0 : before.slice(2, -1).reduce((n, s) => n + s.bytes, 0))
  t.equal(log.segments().length, 1, 'the active segment stays')
  await log.roll()
  t.equal(log.segments().length, 2)
  t.equal(log.segments()[1].count, 0, 'a fresh, empty active segment')
  await log.roll()
  t.equal(log.segments().length, 2, 'rolling an empty segment does nothing')
  await log.deleteOldest(1)
  t.equal(log.count, 0)
  t.equal(log.firstOffset, 31)
  t.equal(log.lastOffset, 30)
  t.equal(log.nextOffset, 31)
  await log.append([entry(31)])
  t.equal((await log.read(31))!.offset, 31)
  await log.close()
  const again = SegmentLog.open(dir, opts())
  t.equal(again.firstOffset, 31)
  t.equal(again.nextOffset, 32)
  await again.close()
})

t.test('offsetAtTime finds the first event stamped at or after a time', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 1200, indexIntervalBytes: 200 }))
  const evs: LogEntry[] = []
  for (let o = 1; o <= 50; o++) evs.push(entry(o, '', T0 + o * 1000))
  await log.append(evs)
  t.equal(await log.offsetAtTime(0), 1)
  t.equal(await log.offsetAtTime(T0 + 25_000), 25)
  t.equal(await log.offsetAtTime(T0 + 25_001), 26)
  t.equal(await log.offsetAtTime(T0 + 50_000), 50)
  t.equal(await log.offsetAtTime(T0 + 50_001), 51, 'nothing that late: the next offset')
  await log.close()
})

t.test('a failed append leaves nothing behind and the next one succeeds', async t => {
  const dir = t.testdir()
  class ReadOnlyOnce extends FileCache {
    broken = true
    override acquire (path: string): number {
      if (!this.broken) return super.acquire(path)
      return openSync(path, 'r') // writes through it fail with EBADF
    }

    override release (path: string): void { if (!this.broken) super.release(path) }
  }
  const files = new ReadOnlyOnce()
  const log = SegmentLog.open(dir, opts({ files, segmentBytes: 1000 }))
  files.broken = false
  await log.append(entries(1, 5))
  const size = statSync(join(dir, segmentFileName(1))).size
  files.broken = true
  await t.rejects(log.append(entries(6, 40)), { code: 'EBADF' })
  files.broken = false
  t.same(segFiles(dir), [segmentFileName(1)], 'no new segment left behind')
  t.equal(statSync(join(dir, segmentFileName(1))).size, size)
  t.equal(log.nextOffset, 6)
  t.equal(await log.read(6), undefined)
  await log.append(entries(6, 40))
  t.same((await log.readRange(1, 40, 1 << 20)).map(l => l.offset), Array.from({ length: 40 }, (_, i) => i + 1))
  await log.close()
})

t.test('reads running during an append never see its lines before they are written', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts())
  await log.append(entries(1, 5))
  const pending = log.append(entries(6, 2000))
  const during = await log.readRange(1, 2000, 1 << 20)
  t.same(during.map(l => l.offset), [1, 2, 3, 4, 5])
  t.equal(log.problems, 0)
  await pending
  t.equal((await log.readRange(1, 2000, 1 << 22)).length, 2000)
  await log.close()
})

t.test('long lines: longer than a read chunk and than the scan buffer', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 8 << 20 }))
  const big = entry(2, 'y'.repeat(3 << 20))
  await log.append([entry(1), big, entry(3)])
  t.equal((await log.read(2))!.text, big.json)
  t.equal((await log.read(3))!.offset, 3)
  const again = SegmentLog.open(dir, opts({ segmentBytes: 8 << 20 })) // no saved index: scans through the 3 MiB line
  t.equal((await again.read(2))!.text, big.json)
  t.equal(again.nextOffset, 4)
  await again.close()
  await log.close()
})

t.test('descriptors: never more idle ones open than the cache allows', async t => {
  const dir = t.testdir()
  const files = new FileCache(2)
  const log = SegmentLog.open(dir, opts({ files, segmentBytes: 600 }))
  await log.append(entries(1, 60))
  t.ok(log.segments().length > 4)
  await log.readRange(1, 60, 1 << 20)
  t.ok(files.size <= 2, `${files.size} open`)
  await log.deleteOldest(3)
  t.ok(files.size <= 2)
  await log.close()
  t.equal(files.size, 0, 'close lets go of them')
})

t.test('fsync off writes the same files', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ fsync: 'off', segmentBytes: 1000 }))
  await log.append(entries(1, 30))
  await log.roll()
  await log.deleteOldest(1)
  t.equal((await log.read(30))!.offset, 30)
  await log.close()
})

t.test('an empty directory that does not exist yet is created', async t => {
  const dir = join(t.testdir(), 'topics', 'orders')
  const log = SegmentLog.open(dir, opts())
  t.ok(existsSync(dir))
  t.same(log.segments(), [])
  t.equal(await log.read(1), undefined)
  t.same(await log.readRange(1, 10, 100), [])
  t.equal(await log.offsetAtTime(0), 1)
  t.equal(await log.deleteOldest(1), 0)
  await log.roll()
  await log.close()
})

t.test('a directory named like a segment is ignored at open, with a warning; the rest is served', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 1024 }))
  await log.append(entries(1, 30))
  await log.close()
  const names = segFiles(dir)
  t.ok(names.length >= 3)
  const odd = join(dir, segmentFileName(100000))
  mkdirSync(odd)
  const r = recorder()
  const again = SegmentLog.open(dir, opts({ segmentBytes: 1024, log: r.log }))
  t.equal(again.problems, 1)
  t.match(r.lines, [{ file: odd, msg: 'not a segment (not a regular file); ignored' }])
  t.same((await again.readRange(1, 30, 1 << 20)).map(l => l.offset), Array.from({ length: 30 }, (_, i) => i + 1))
  t.equal(again.nextOffset, 31)
})

t.test('a range read can leave out lines by their bytes without decoding them; damaged lines are still found', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts())
  await log.append(entries(1, 40))
  const even = (buf: Buffer, start: number, end: number): boolean => (buf[end - 2] - 0x30) % 2 === 0 // the offset's last digit, before the closing brace
  t.same((await log.readRange(1, 40, 1 << 20, even)).map(l => l.offset), Array.from({ length: 20 }, (_, i) => 2 * i + 1))
  t.same(await log.readRange(2, 2, 0, even), [], 'a range wholly left out reads to its end and returns nothing')
})

t.test('offsetAtTimeSync finds the first event stamped at or after a time, reading only a stretch of one segment', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts({ segmentBytes: 2048 }))
  await log.append(entries(1, 200))
  t.equal(log.offsetAtTimeSync(T0 + 57), 57)
  t.equal(log.offsetAtTimeSync(0), 1)
  t.equal(log.offsetAtTimeSync(T0 + 1000), 201, 'after the last: the next offset')
  t.equal(log.bytesFrom(1), log.bytes, 'bytesFrom the first offset is everything')
  t.equal(log.bytesFrom(201), 0)
  const half = log.bytesFrom(101)
  t.ok(half > log.bytes * 0.4 && half < log.bytes * 0.6, `about half from the middle (${half} of ${log.bytes})`)
})

t.test('a range of a few events reads about the bytes it spans, not a whole 256 KiB chunk (a replay reads as many events as it has free slots)', async t => {
  const dir = t.testdir()
  const log = SegmentLog.open(dir, opts())
  await log.append(entries(1, 5000)) // ~85 bytes a line: ~420 KiB, one segment
  const chunk = 256 * 1024
  let before = log.bytesRead
  const few = await log.readRange(2000, 2009, chunk)
  t.same(few.map(l => l.offset), Array.from({ length: 10 }, (_, i) => 2000 + i))
  t.ok(log.bytesRead - before <= 3 * 4096 + 1024, `10 events read with ${log.bytesRead - before} bytes`)
  // Up to the last offset, and a range a budget cuts short, are still read whole.
  before = log.bytesRead
  const end = await log.readRange(4990, 5000, chunk)
  t.same(end.map(l => l.offset), Array.from({ length: 11 }, (_, i) => 4990 + i))
  const all = []
  for (let from = 1; from <= 5000;) {
    const part = await log.readRange(from, 5000, chunk)
    all.push(...part)
    from = part[part.length - 1].offset + 1
  }
  t.equal(all.length, 5000)
  t.ok(all.every((l, i) => l.offset === i + 1 && l.text === entry(i + 1).json))
  await log.close()
})

/** Every offset listRuns reports for [from, to], as `offset:priority`, calling it until it is done. */
async function listAll (log: SegmentLog, from: number, to: number): Promise<string[]> {
  const out: string[] = []
  for (let at = from; at <= to;) {
    const { runs, next } = await log.listRuns(at, to)
    for (let k = 0; k < runs.length; k += 3) for (let o = runs[k]; o <= runs[k + 1]; o++) out.push(`${o}:${runs[k + 2]}`)
    if (!(next > at)) throw new Error(`listRuns did not move on from ${at}`)
    at = next
  }
  return out
}

t.test('listRuns: what a replay owes, by priority, from the indexes alone (in memory, from the index file, or from an old index by reading lines)', async t => {
  const dir = t.testdir()
  const o = opts({ segmentBytes: 2048 })
  const log = SegmentLog.open(dir, o)
  // Priority o % 10 (runs of one offset), with a gap at 57..59 and a stretch of one priority 80..120.
  const batch = [...entries(1, 56), ...entries(60, 79), ...Array.from({ length: 41 }, (_, i) => ({ ...entry(80 + i), priority: 4, json: encodeLine(`{"id":"p4-${80 + i}","priority":4,"timestamp":${T0}}`, 80 + i) }))]
  await log.append(batch)
  const expected = (from: number, to: number): string[] => batch.filter(e => e.offset >= from && e.offset <= to).map(e => `${e.offset}:${e.priority}`)
  t.ok(log.segments().length > 3, 'several segments')
  t.same(await listAll(log, 1, 120), expected(1, 120), 'every stored offset with its priority')
  t.same(await listAll(log, 30, 100), expected(30, 100), 'a range')
  t.same(await listAll(log, 200, 300), [], 'past the end')
  t.equal(log.bytesRead, 0, 'no event was read')
  await log.close()

  // Reopened: the sealed segments' runs come from their saved index files.
  const again = SegmentLog.open(dir, o)
  t.same(await listAll(again, 1, 120), expected(1, 120), 'after a restart, from the saved indexes')
  t.equal(again.bytesRead, 0, 'still no event read')
  for (const f of readdirSync(dir).filter(f => f.endsWith('.index.json'))) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { version: number, runs: number[] }
    t.equal(d.version, 2, `${f}: version 2`)
    t.ok(Array.isArray(d.runs) && d.runs.length % 3 === 0, `${f}: has its runs`)
  }
  await again.close()

  // Index files written before runs were kept (version 1): still read; a replay reads those segments' lines instead.
  for (const f of readdirSync(dir).filter(f => f.endsWith('.index.json'))) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>
    d.version = 1
    delete d.runs
    writeFileSync(join(dir, f), JSON.stringify(d) + '\n')
  }
  const old = SegmentLog.open(dir, o)
  t.equal(old.problems, 0, 'old index files are fine')
  t.same(await listAll(old, 1, 120), expected(1, 120), 'the same offsets and priorities from the lines')
  t.ok(old.bytesRead > 0, 'read from the segments')
  await old.close()
})

t.test('listRuns: a sealed segment\'s many runs leave memory and are read from its index file; a stale file means reading the lines', async t => {
  const dir = t.testdir()
  const o = opts({ segmentBytes: 1 << 20 })
  const log = SegmentLog.open(dir, o)
  await log.append(entries(1, 6000)) // 6000 runs of one offset each (priority offset % 10)
  await log.roll()
  await log.append(entries(6001, 6010))
  const expected = entries(1, 6010).map(e => `${e.offset}:${e.priority}`)
  const memBefore = log.indexBytes
  t.same(await listAll(log, 1, 6010), expected, 'listed from the index file of the sealed segment')
  t.equal(log.bytesRead, 0, 'no event read')
  t.ok(memBefore < 6000 * 24, `the sealed segment's runs are not held in memory (${memBefore} bytes of index)`)
  // A stale index file (another segment's runs): not trusted, the lines are read.
  const ix = join(dir, indexFileName(1))
  const d = JSON.parse(readFileSync(ix, 'utf8')) as { runs: number[] }
  d.runs[4] = 7 // second run's priority
  writeFileSync(ix, JSON.stringify(d))
  t.same(await listAll(log, 1, 6010), expected, 'the same, from the lines')
  t.ok(log.bytesRead > 0)
  await log.close()
})

t.test('an append in parts (a topic\'s unstored events, a part per page) writes what one append of the same lines writes, across rolls inside parts and at their edges', async t => {
  const all = entries(1, 120, 'x'.repeat(20))
  const whole = encodeLines(all)
  // Cut points: an empty part first, parts of one line, a roll inside a part, parts that end where a segment does.
  const cuts = [0, 0, 1, 2, 13, 14, 40, 41, 77, 100, 120]
  const parts: LineBatch[] = [encodeLines([])]
  for (let k = 1; k < cuts.length; k++) parts.push(encodeLines(all.slice(cuts[k - 1], cuts[k])))
  parts.push(encodeLines([]))
  const one = t.testdir({ a: {}, b: {} })
  const a = SegmentLog.open(join(one, 'a'), opts({ segmentBytes: 1000 }))
  const b = SegmentLog.open(join(one, 'b'), opts({ segmentBytes: 1000 }))
  await a.appendLines([whole])
  await b.appendLines(parts.slice(0, 6))
  await b.appendLines(parts.slice(6))
  t.ok(segFiles(join(one, 'a')).length > 5, 'several segments')
  t.same(segFiles(join(one, 'b')), segFiles(join(one, 'a')), 'the same segments')
  for (const f of segFiles(join(one, 'a'))) t.same(readFileSync(join(one, 'b', f)), readFileSync(join(one, 'a', f)), `${f}: the same bytes`)
  t.equal(b.nextOffset, 121)
  t.same((await b.readRange(1, 120, 1 << 20)).map(l => l.text), all.map(e => e.json), 'read back: every line')
  for (const o of [1, 13, 14, 41, 77, 100, 120]) t.equal((await b.read(o))?.text, all[o - 1].json, `offset ${o} from the index`)
  await t.rejects(b.appendLines([encodeLines([entry(121)]), encodeLines([entry(121)])]), /offset 121 is not above 121/, 'offsets grow across parts too')
  t.equal(b.nextOffset, 121, 'a refused append changes nothing')
  await a.close()
  await b.close()
})

t.test('an append in parts that fails at a later part leaves nothing behind, in the segment it grew and in the ones it made', async t => {
  const dir = t.testdir()
  class FailsAt extends FileCache {
    /** Acquires left before one fails (-1: never). */
    left = -1
    /** The descriptor handed out to fail, and the file's size then. */
    bad = -1
    sizeAtFailure = -1
    fileAtFailure = ''
    override acquire (path: string): number {
      if (this.left < 0 || this.left-- > 0) return super.acquire(path)
      this.left = -1
      this.sizeAtFailure = statSync(path).size
      this.fileAtFailure = path
      this.bad = openSync(path, 'r') // a write through it fails with EBADF
      return this.bad
    }

    override release (path: string): void {
      if (this.bad < 0) { super.release(path); return }
      closeSync(this.bad)
      this.bad = -1
    }
  }
  const files = new FailsAt()
  const log = SegmentLog.open(dir, opts({ files, segmentBytes: 1000 }))
  await log.append(entries(1, 3))
  const size = statSync(join(dir, segmentFileName(1))).size
  const parts = [encodeLines(entries(4, 6)), encodeLines(entries(7, 9)), encodeLines(entries(10, 30))]
  files.left = 1 // the first part's write goes through, the second's fails
  await t.rejects(log.appendLines(parts), { code: 'EBADF' })
  t.equal(files.sizeAtFailure, size + parts[0].bytes.length, 'the first part was written when the second failed')
  t.same(segFiles(dir), [segmentFileName(1)], 'no new segment left behind')
  t.equal(statSync(join(dir, segmentFileName(1))).size, size, 'the grown segment is cut back')
  t.equal(log.nextOffset, 4)
  t.equal(await log.read(4), undefined)
  files.left = 4 // three parts' writes to the first segment and its sync go through; the write to the next segment fails
  await t.rejects(log.appendLines(parts), { code: 'EBADF' })
  t.not(files.fileAtFailure, join(dir, segmentFileName(1)), 'it failed in a segment the append made')
  t.same(segFiles(dir), [segmentFileName(1)], 'that segment is gone')
  t.equal(statSync(join(dir, segmentFileName(1))).size, size, 'the grown segment is cut back')
  t.equal(log.nextOffset, 4)
  t.equal(await log.read(4), undefined)
  await log.appendLines(parts)
  t.same((await log.readRange(1, 30, 1 << 20)).map(l => l.offset), Array.from({ length: 30 }, (_, i) => i + 1))
  await log.close()
})
