import t from 'tap'
import { expiredSegments, retentionFor, type SegmentSummary } from '../../src/persistence/retention'

const HOUR = 3600_000
const NOW = 1_800_000_000_000

/** Segments of 100 events and 10 KB each; segment i's newest event is (n - i) hours old. */
function segments (n: number, bytes = 10_000): SegmentSummary[] {
  return Array.from({ length: n }, (_, i) => ({ firstOffset: i * 100 + 1, lastOffset: i * 100 + 100, bytes, maxTimestamp: NOW - (n - i) * HOUR }))
}

t.test('by age: whole segments older than maxAgeMs go, oldest first, never the active one', async t => {
  const segs = segments(5)
  const v = expiredSegments(segs, { maxAgeMs: 2.5 * HOUR, maxBytes: 1e12 }, Infinity, NOW)
  t.same(v, { deleteCount: 3, deleteBytes: 30_000, reason: 'age', rollActive: false, heldByOwed: false }, '5, 4 and 3 hours old go; 2 and 1 stay')
  const all = expiredSegments(segs, { maxAgeMs: 0.5 * HOUR, maxBytes: 1e12 }, Infinity, NOW)
  t.equal(all.deleteCount, 4, 'the active segment is never deleted')
  t.ok(all.rollActive, 'but it is rolled once it has expired too')
  const edge = expiredSegments(segs, { maxAgeMs: 5 * HOUR, maxBytes: 1e12 }, Infinity, NOW)
  t.equal(edge.deleteCount, 0, 'exactly maxAgeMs old is still kept')
  t.equal(expiredSegments(segs, { maxAgeMs: 5 * HOUR - 1, maxBytes: 1e12 }, Infinity, NOW).deleteCount, 1, 'one ms older goes')
})

t.test('by size: the oldest segments go until the topic fits maxBytes', async t => {
  const segs = segments(5)
  const v = expiredSegments(segs, { maxAgeMs: 1e12, maxBytes: 25_000 }, Infinity, NOW)
  t.same(v, { deleteCount: 3, deleteBytes: 30_000, reason: 'bytes', rollActive: false, heldByOwed: false })
  t.equal(expiredSegments(segs, { maxAgeMs: 1e12, maxBytes: 50_000 }, Infinity, NOW).deleteCount, 0, 'exactly maxBytes fits')
  t.equal(expiredSegments(segs, { maxAgeMs: 1e12, maxBytes: 49_999 }, Infinity, NOW).deleteCount, 1, 'one byte over drops one segment')
  const tiny = expiredSegments(segs, { maxAgeMs: 1e12, maxBytes: 1 }, Infinity, NOW)
  t.equal(tiny.deleteCount, 4)
  t.ok(tiny.rollActive, 'an active segment alone over the limit is rolled')
})

t.test('events owed to a subscription are never dropped: deletion stops at the first segment still owed', async t => {
  const segs = segments(5)
  const v = expiredSegments(segs, { maxAgeMs: 0, maxBytes: 0 }, 150, NOW)
  t.same(v, { deleteCount: 1, deleteBytes: 10_000, reason: 'age', rollActive: false, heldByOwed: true }, 'offset 150 is in the second segment')
  t.equal(expiredSegments(segs, { maxAgeMs: 0, maxBytes: 0 }, 101, NOW).deleteCount, 1, 'owed from the first offset of segment 2')
  t.equal(expiredSegments(segs, { maxAgeMs: 0, maxBytes: 0 }, 100, NOW).deleteCount, 0, 'owed from the last offset of segment 1')
  const active = expiredSegments(segs, { maxAgeMs: 0, maxBytes: 0 }, 450, NOW)
  t.equal(active.deleteCount, 4)
  t.notOk(active.rollActive, 'an active segment still owed is not rolled for retention')
})

t.test('age and size combine; a young segment over the size limit still goes; the reason names the last cause', async t => {
  const segs = segments(4)
  const v = expiredSegments(segs, { maxAgeMs: 3.5 * HOUR, maxBytes: 15_000 }, Infinity, NOW)
  t.equal(v.deleteCount, 3)
  t.equal(v.reason, 'bytes')
})

t.test('empty inputs and empty active segments', async t => {
  t.same(expiredSegments([], { maxAgeMs: 0, maxBytes: 0 }, Infinity, NOW), { deleteCount: 0, deleteBytes: 0, reason: null, rollActive: false, heldByOwed: false })
  const segs = [...segments(2), { firstOffset: 201, lastOffset: 200, bytes: 0, maxTimestamp: 0 }]
  const v = expiredSegments(segs, { maxAgeMs: 0, maxBytes: 0 }, Infinity, NOW)
  t.equal(v.deleteCount, 2)
  t.notOk(v.rollActive, 'an empty active segment has nothing to roll')
})

t.test('retentionFor: first matching override wins, missing fields fall back, private topics match too', async t => {
  const config = {
    maxAgeMs: 24 * HOUR,
    maxBytes: 1 << 30,
    overrides: [
      { pattern: 'audit.*', maxAgeMs: 30 * 24 * HOUR },
      { pattern: 'audit.tmp', maxAgeMs: 1 },
      { pattern: 'metrics', maxBytes: 1 << 20 },
      { pattern: '~alice.*', maxBytes: 5 },
    ],
  }
  t.same(retentionFor('audit.login', config), { maxAgeMs: 30 * 24 * HOUR, maxBytes: 1 << 30 })
  t.same(retentionFor('audit.tmp', config), { maxAgeMs: 30 * 24 * HOUR, maxBytes: 1 << 30 }, 'the earlier pattern wins')
  t.same(retentionFor('audit', config), { maxAgeMs: 24 * HOUR, maxBytes: 1 << 30 }, '`audit.*` needs something after the dot')
  t.same(retentionFor('metrics', config), { maxAgeMs: 24 * HOUR, maxBytes: 1 << 20 })
  t.same(retentionFor('metrics.cpu', config), { maxAgeMs: 24 * HOUR, maxBytes: 1 << 30 })
  t.same(retentionFor('~alice.inbox', config), { maxAgeMs: 24 * HOUR, maxBytes: 5 })
  t.same(retentionFor('x', { maxAgeMs: 1, maxBytes: 2, overrides: [{ pattern: '*', maxBytes: 3 }] }), { maxAgeMs: 1, maxBytes: 3 })
  t.same(retentionFor('x', { maxAgeMs: 1, maxBytes: 2 }), { maxAgeMs: 1, maxBytes: 2 })
})
