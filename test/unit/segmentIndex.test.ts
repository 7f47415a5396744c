import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FileCache } from '../../src/persistence/fileCache'
import { SegmentIndex, indexFileName, parseSegmentFileName, segmentFileName } from '../../src/persistence/segmentIndex'

t.test('file names: 20 digits, parsed back; anything else is not a segment', async t => {
  t.equal(segmentFileName(42), '00000000000000000042.jsonl')
  t.equal(indexFileName(42), '00000000000000000042.index.json')
  t.equal(parseSegmentFileName('00000000000000000042.jsonl'), 42)
  for (const bad of ['42.jsonl', '00000000000000000042.jsonl.damaged-1', '00000000000000000042.index.json', '99999999999999999999.jsonl', 'x.jsonl']) {
    t.equal(parseSegmentFileName(bad), null, bad)
  }
})

t.test('sparse entries: one per interval, floor lookups by offset and by time', async t => {
  const ix = new SegmentIndex(10, 1)
  for (let i = 0; i < 100; i++) ix.note(10 + i, i * 100, 1000 + i, 100, 450, 0)
  t.equal(ix.count, 100)
  t.equal(ix.bytes, 10000)
  t.equal(ix.lastOffset, 109)
  t.equal(ix.entries, 20, 'every fifth line (500 >= 450 bytes apart)')
  t.equal(ix.floorPosition(9), 0)
  t.equal(ix.floorPosition(10), 0)
  t.equal(ix.floorPosition(14), 0)
  t.equal(ix.floorPosition(15), 500)
  t.equal(ix.floorPosition(1000), 9500)
  t.equal(ix.floorPositionByTime(0), 0)
  t.equal(ix.floorPositionByTime(1016), 1500)
  t.equal(ix.minTimestamp, 1000)
  t.equal(ix.maxTimestamp, 1099)
  t.equal(ix.byteSize, 32 * 8 * 3 + 4 * 3 * 8, "entries, and one priority run (room for 4)")
})

t.test('render and parse round-trip; anything that does not describe this segment is refused', async t => {
  const ix = new SegmentIndex(10)
  for (let i = 0; i < 30; i++) ix.note(10 + i, i * 100, 5000 - i, 100, 250, i < 20 ? 3 : 7)
  const text = ix.render(250)
  const back = SegmentIndex.parse(text, 10)
  t.same([back.count, back.bytes, back.lastOffset, back.entries, back.minTimestamp, back.maxTimestamp], [30, 3000, 39, 10, 4971, 5000])
  t.equal(back.floorPosition(25), ix.floorPosition(25))
  const empty = SegmentIndex.parse(new SegmentIndex(7).render(4096), 7)
  t.equal(empty.count, 0)
  t.equal(empty.lastOffset, 6)

  const good = JSON.parse(text) as Record<string, unknown>
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['version', { version: 3 }, /version/],
    ['first offset', { firstOffset: 11 }, /not 10/],
    ['count', { count: -1 }, /bad summary/],
    ['bytes', { bytes: 'x' }, /bad summary/],
    ['entries shape', { entries: [1, 2] }, /bad entries/],
    ['entries type', { entries: 'x' }, /bad entries/],
    ['no entries for lines', { entries: [] }, /bad summary/],
    ['empty but sized', { count: 0, entries: [], bytes: 5 }, /bad summary/],
    ['not an integer', { entries: [10, 0, 1.5] }, /bad entry/],
    ['first entry', { entries: [11, 0, 1] }, /out of order/],
    ['order', { entries: [10, 0, 1, 0, 100, 1] }, /out of order/],
    ['past the end', { entries: [10, 0, 1, 100, 100, 1] }, /past the end/],
    ['timestamps', { minTimestamp: null }, /bad timestamps/],
  ]
  for (const [what, change, re] of bad) {
    t.throws(() => SegmentIndex.parse(JSON.stringify({ ...good, ...change }), 10), re, what)
  }
  t.throws(() => SegmentIndex.parse('{"version":1,', 10), SyntaxError)
})

t.test('FileCache: idle descriptors are capped, busy ones never closed, forgotten ones closed once released', async t => {
  const dir = t.testdir({ a: 'a', b: 'b', c: 'c' })
  const files = new FileCache(1)
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const fa = files.acquire(a)
  t.equal(files.acquire(a), fa, 'the same descriptor while open')
  const fb = files.acquire(b)
  t.equal(files.size, 2, 'both busy: neither may close')
  files.release(a)
  t.equal(files.size, 2, 'a is still acquired once')
  files.release(a)
  t.equal(files.size, 1, 'a idle and over the cap: closed')
  files.forget(b)
  t.equal(files.size, 1, 'b busy: closed only when released')
  files.release(b)
  t.equal(files.size, 0)
  files.release(b) // unknown: ignored
  files.forget(b)
  const fc = files.acquire(join(dir, 'c'))
  t.type(fc, 'number')
  files.closeAll()
  t.equal(files.size, 1, 'closeAll leaves busy ones to their release')
  files.release(join(dir, 'c'))
  t.equal(files.size, 0)
  t.throws(() => files.acquire(join(dir, 'missing')), { code: 'ENOENT' })
  writeFileSync(join(dir, 'x'), '')
  t.ok(existsSync(join(dir, 'x')))
  t.not(fa, fb)
})
