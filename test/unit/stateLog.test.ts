import t from 'tap'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { ackedRecord, batchMarker, deliveredRecord, snapshotLines, subscribedRecord, unsubscribedRecord } from '../../src/persistence/stateCodec'
import { StateLog, snapshotFileName, stateLogFileName, type StateLogOptions } from '../../src/persistence/stateLog'
import type { TopicState } from '../../src/persistence/topicState'

function recorder (): { log: pino.Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } })
  return { log, lines }
}

function opts (extra: Partial<StateLogOptions> = {}): StateLogOptions {
  return { fsync: 'always', log: recorder().log, now: () => 777, ...extra }
}

/** A state after the tail of events [tailFrom, next) was listed (all at priority 0, or as given). */
function listed (state: TopicState, next: number, priorityOf: (o: number) => number = () => 0): TopicState {
  for (let o = Math.min(state.tailFrom(), next); o < next; o++) state.addTail(o, priorityOf(o))
  state.finishTail(next)
  return state
}

function view (state: TopicState): unknown {
  const out: Record<string, unknown> = { gen: state.gen, nextOffset: state.nextOffset, nextAutoId: state.nextAutoId }
  for (const s of state.subs.values()) {
    const runs: number[][] = []
    s.waiting.forEachRun((p, a, b) => runs.push([p, a, b]))
    const delivered: number[][] = []
    s.forEachDelivered((o, p, n) => delivered.push([o, p, n]))
    out[s.name] = { maxInFlight: s.maxInFlight, runs, delivered: delivered.sort((a, b) => a[0] - b[0]) }
  }
  return out
}

function compactNow (log: StateLog, state: TopicState): Promise<boolean> {
  return log.compact(k => snapshotLines({ snapshot: k, topic: state.topic, gen: state.gen, nextOffset: state.nextOffset, nextAutoId: state.nextAutoId }, state.images()))
}

const files = (dir: string): string[] => readdirSync(dir).sort()

t.test('records appended, read back after a restart', async t => {
  const dir = join(t.testdir(), 'orders')
  const { log, state } = StateLog.open(dir, 'orders', opts())
  t.equal(state.subs.size, 0)
  t.equal(log.generation, 1)
  await log.append([subscribedRecord('alice', 5, 1000, 1, 0), batchMarker(1, 1, 1)])
  await log.append([deliveredRecord('alice', 1, 0, 1), deliveredRecord('alice', 2, 3, 1), ackedRecord('alice', 1, 1), batchMarker(2, 6, 1)])
  await log.append([])
  await log.close()
  t.same(files(dir), ['state-1.jsonl'])
  t.equal(readFileSync(join(dir, 'state-1.jsonl'), 'utf8').split('\n')[0], '["S","alice",5,1000,1,0]', 'plain JSON lines')
  const again = StateLog.open(dir, 'orders', opts())
  t.equal(again.log.problems, 0)
  t.same(view(listed(again.state, 6)), { gen: 2, nextOffset: 6, nextAutoId: 1, alice: { maxInFlight: 5, runs: [[0, 3, 5]], delivered: [[2, 3, 1]] } })
  t.equal(again.log.logBytes, statSync(join(dir, 'state-1.jsonl')).size)
})

t.test('compaction: appends move to the next log, the snapshot holds the state as of the switch; restarts see the same', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 't', opts())
  const apply = async (recs: string[]): Promise<void> => {
    const { parseStateLine } = await import('../../src/persistence/stateCodec')
    for (const r of recs) state.apply(parseStateLine(r))
    await log.append(recs)
  }
  await apply([subscribedRecord('a', 1, 1, 1, 0), subscribedRecord('b', 1, 1, 1, 0), batchMarker(1, 1, 1)])
  listed(state, 101, o => o % 2)
  for (let o = 1; o <= 40; o++) await apply([deliveredRecord('a', o, o % 2, 1), ackedRecord('a', o, o)])
  await apply([batchMarker(2, 101, 1)])
  const pending = compactNow(log, state)
  await apply([deliveredRecord('b', 1, 1, 1), batchMarker(3, 101, 1)]) // after the switch: goes to log 2
  t.equal(await pending, true)
  t.equal(log.generation, 2)
  t.same(files(dir), ['snapshot-2.jsonl', 'state-1.jsonl', 'state-2.jsonl'], 'no snapshot before it: log 1 stays (the history from the start)')
  t.ok(log.snapshotBytes > 0)
  t.equal(log.logBytes, statSync(join(dir, 'state-2.jsonl')).size)
  const again = StateLog.open(dir, 't', opts())
  t.same(view(listed(again.state, 101)), view(state))
  // A second compaction keeps snapshot 2 and its log as the fallback, and drops log 1.
  await apply([ackedRecord('b', 1, 1)])
  t.equal(await compactNow(log, state), true)
  t.same(files(dir), ['snapshot-2.jsonl', 'snapshot-3.jsonl', 'state-2.jsonl'])
  await apply([deliveredRecord('b', 3, 1, 1)])
  t.equal(await compactNow(log, state), true)
  t.same(files(dir), ['snapshot-3.jsonl', 'snapshot-4.jsonl', 'state-3.jsonl'])
  const third = StateLog.open(dir, 't', opts())
  t.same(view(listed(third.state, 101)), view(state))
  await log.close()
})

t.test('a compaction costs the live state, not the backlog', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 'big', opts({ fsync: 'off' }))
  await log.append([subscribedRecord('offline', 10, 30000, 1, 0)])
  state.apply(['S', 'offline', 10, 30000, 1, 0])
  listed(state, 1_000_001)
  t.equal(state.subs.get('offline')!.waiting.size, 1_000_000)
  t.equal(await compactNow(log, state), true)
  t.ok(log.snapshotBytes < 200, `a backlog of 1,000,000 events: a snapshot of ${log.snapshotBytes} bytes`)
  const again = StateLog.open(dir, 'big', opts())
  t.equal(listed(again.state, 1_000_001).subs.get('offline')!.waiting.size, 1_000_000)
})

t.test('big snapshots are written in slices and read back', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 'frag', opts())
  state.apply(['S', 's', 1, 1, 1, 0])
  await log.append([subscribedRecord('s', 1, 1, 1, 0)])
  listed(state, 60_001, o => o % 2 === 0 ? 4 : 1) // 60,000 runs of one
  let yields = 0
  const probe = setInterval(() => yields++, 0)
  t.equal(await compactNow(log, state), true)
  clearInterval(probe)
  t.ok(log.snapshotBytes > 256 * 1024, `${log.snapshotBytes} bytes`)
  t.ok(yields > 0, 'the event loop ran while the snapshot was written')
  const again = StateLog.open(dir, 'frag', opts())
  t.same(view(listed(again.state, 60_001)), view(state))
})

t.test('needsCompaction: once the logs since the snapshot outgrow it; one compaction at a time', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 't', opts({ compactMinBytes: 100, compactRatio: 2 }))
  t.notOk(log.needsCompaction)
  state.apply(['S', 'a', 1, 1, 1, 0])
  await log.append([subscribedRecord('a', 1, 1, 1, 0)])
  t.notOk(log.needsCompaction, 'under compactMinBytes')
  for (let i = 0; i < 10; i++) await log.append([batchMarker(i, 1, 1)])
  t.ok(log.needsCompaction)
  const first = compactNow(log, state)
  t.notOk(log.needsCompaction, 'not while one runs')
  t.equal(await compactNow(log, state), false, 'a second one at the same time is refused')
  t.equal(await first, true)
  t.notOk(log.needsCompaction)
  const snap = log.snapshotBytes
  while (log.logBytes <= Math.max(100, 2 * snap)) await log.append([batchMarker(1, 1, 1)])
  t.ok(log.needsCompaction, 'past twice the snapshot')
})

t.test('a torn or garbled end of the last log is cut off; damaged lines in the middle are skipped and a copy kept', async t => {
  for (const tail of ['["A","a",1,', '["A","a",1,]\n', '\u0000\u0000']) {
    const dir = t.testdir()
    const { log } = StateLog.open(dir, 't', opts())
    await log.append([subscribedRecord('a', 1, 1, 1, 0), deliveredRecord('a', 1, 0, 1)])
    const file = join(dir, stateLogFileName(1))
    const good = statSync(file).size
    appendFileSync(file, tail)
    const rec = recorder()
    const again = StateLog.open(dir, 't', opts({ log: rec.log }))
    t.equal(statSync(file).size, good, JSON.stringify(tail))
    t.equal(again.log.problems, 1)
    t.match(rec.lines, [{ msg: /torn end of a state log cut off/, file, at: good }])
    t.same(view(listed(again.state, 2)), { gen: 0, nextOffset: 2, nextAutoId: 1, a: { maxInFlight: 1, runs: [], delivered: [[1, 0, 1]] } })
    await again.log.append([ackedRecord('a', 1, 1)])
    t.equal(listed(StateLog.open(dir, 't', opts()).state, 2).subs.get('a')!.delivered.size, 0, 'appends continue on a line boundary')
  }
  const dir = t.testdir()
  const { log } = StateLog.open(dir, 't', opts())
  await log.append([subscribedRecord('a', 1, 1, 1, 0), '["Q","a"]', deliveredRecord('a', 1, 0, 1)])
  const rec = recorder()
  const again = StateLog.open(dir, 't', opts({ log: rec.log }))
  t.match(rec.lines, [{ msg: 'damaged state record skipped', line: 2, error: /unknown record kind "Q"/ }, { msg: /a copy was kept/, copy: /state-1\.jsonl\.damaged-777$/ }])
  t.ok(existsSync(join(dir, 'state-1.jsonl.damaged-777')))
  t.equal(listed(again.state, 2).subs.get('a')!.deliveriesOf(1), 1, 'the records around it count')
})

t.test('a damaged newest snapshot is moved aside and the one before it, with its logs, gives the same state', async t => {
  const base = t.testdir()
  const dir = join(base, 'original')
  const { log, state } = StateLog.open(dir, 't', opts())
  const step = async (recs: unknown[][]): Promise<void> => {
    for (const r of recs) state.apply(r)
    await log.append(recs.map(r => JSON.stringify(r)))
  }
  await step([['S', 'a', 3, 9, 1, 0]])
  listed(state, 21)
  await step([['D', 'a', 1, 0, 1], ['D', 'a', 2, 0, 1]])
  await compactNow(log, state)
  await step([['A', 'a', 1, 2], ['D', 'a', 3, 0, 1]])
  await compactNow(log, state)
  await step([['D', 'a', 3, 0, 2], ['G', 9, 21, 4]])
  await log.close()
  const expected = view(state)
  t.same(files(dir), ['snapshot-2.jsonl', 'snapshot-3.jsonl', 'state-2.jsonl', 'state-3.jsonl'])
  for (const damage of ['truncate', 'garbage', 'wrong number', 'no END', 'bad END', 'log record inside']) {
    const copy = join(base, damage.replace(/ /g, '-'))
    mkdirSync(copy)
    for (const f of files(dir)) writeFileSync(join(copy, f), readFileSync(join(dir, f)))
    const snap = join(copy, snapshotFileName(3))
    const text = readFileSync(snap, 'utf8')
    const lines = text.trimEnd().split('\n')
    const broken = damage === 'truncate'
      ? text.slice(0, text.length - 5)
      : damage === 'garbage'
        ? 'x' + text
        : damage === 'wrong number'
          ? text.replace('"snapshot":3', '"snapshot":4')
          : damage === 'no END'
            ? lines.slice(0, -1).join('\n') + '\n'
            : damage === 'bad END'
              ? [...lines.slice(0, -1), '["END",99]'].join('\n') + '\n'
              : [lines[0], '["A","a",1,1]', ...lines.slice(1)].join('\n') + '\n'
    writeFileSync(snap, broken)
    const rec = recorder()
    const again = StateLog.open(copy, 't', opts({ log: rec.log }))
    t.match(rec.lines, [{ msg: /damaged state snapshot moved aside/, movedTo: `${snap}.damaged-777` }], damage)
    t.same(view(listed(again.state, 21)), expected, `${damage}: rebuilt from snapshot 2 and logs 2 and 3`)
  }
})

t.test('a crash during compaction (log switched, snapshot never renamed) loses nothing', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 't', opts())
  state.apply(['S', 'a', 1, 1, 1, 0])
  await log.append([subscribedRecord('a', 1, 1, 1, 0)])
  listed(state, 11)
  await compactNow(log, state)
  await log.append([deliveredRecord('a', 1, 0, 1)])
  await log.close()
  // Snapshot 3 was being written when the broker died: log 3 has records, snapshot-3.jsonl.tmp is half there.
  writeFileSync(join(dir, stateLogFileName(3)), ackedRecord('a', 1, 1) + '\n' + unsubscribedRecord('a') + '\n' + subscribedRecord('a', 7, 7, 11, 0) + '\n')
  writeFileSync(join(dir, snapshotFileName(3) + '.tmp'), '{"snapshot":3')
  const again = StateLog.open(dir, 't', opts())
  t.notOk(existsSync(join(dir, snapshotFileName(3) + '.tmp')), 'the half-written snapshot is gone')
  t.equal(again.log.generation, 3)
  t.same(view(listed(again.state, 11)), { gen: 0, nextOffset: 11, nextAutoId: 1, a: { maxInFlight: 7, runs: [], delivered: [] } })
})

t.test('no snapshot and logs that do not start at 1: a warning that older subscriptions are lost', async t => {
  const dir = t.testdir({ 'state-5.jsonl': subscribedRecord('a', 1, 1, 1, 0) + '\n' })
  const rec = recorder()
  const { state, log } = StateLog.open(dir, 't', opts({ log: rec.log }))
  t.match(rec.lines, [{ msg: /subscriptions created before the oldest log are lost/ }])
  t.equal(log.problems, 1)
  t.ok(state.subs.has('a'))
  t.equal(log.generation, 5)
})

t.test('a failed append cancels a compaction queued behind it; the next one works', async t => {
  const dir = t.testdir()
  const { log, state } = StateLog.open(dir, 't', opts())
  await log.append([subscribedRecord('a', 1, 1, 1, 0)])
  state.apply(['S', 'a', 1, 1, 1, 0])
  // A directory where the log file should be: opening it for append fails.
  const blocked = join(dir, stateLogFileName(1))
  const saved = readFileSync(blocked)
  const { rmSync } = await import('node:fs')
  rmSync(blocked)
  mkdirSync(blocked)
  const failing = log.append([unsubscribedRecord('a')])
  state.subs.delete('a')
  const compaction = compactNow(log, state)
  await t.rejects(failing)
  t.equal(await compaction, false, 'the image holds a change the log does not: no snapshot')
  t.equal(log.generation, 1)
  rmSync(blocked, { recursive: true })
  writeFileSync(blocked, saved)
  await log.append([unsubscribedRecord('a')])
  t.equal(await compactNow(log, state), true)
  t.same(files(dir), ['snapshot-2.jsonl', 'state-1.jsonl'])
})

t.test('a snapshot that cannot be written leaves the logs to carry everything', async t => {
  const dir = t.testdir()
  const rec = recorder()
  const { log, state } = StateLog.open(dir, 't', opts({ log: rec.log }))
  await log.append([subscribedRecord('a', 1, 1, 1, 0)])
  state.apply(['S', 'a', 1, 1, 1, 0])
  mkdirSync(join(dir, snapshotFileName(2) + '.tmp')) // in the way of the temporary file
  const before = log.logBytes
  t.equal(await compactNow(log, state), false)
  t.match(rec.lines, [{ msg: /writing a state snapshot failed/ }])
  t.equal(log.logBytes, before, 'the bytes to compact are still counted')
  await log.append([deliveredRecord('a', 1, 0, 1)])
  const again = StateLog.open(dir, 't', opts())
  t.equal(listed(again.state, 2).subs.get('a')!.deliveriesOf(1), 1, 'logs 1 and 2 replayed')
})
