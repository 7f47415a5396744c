import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTopicLog } from '../../src/persistence/topicLog'
import { recover, type RecoveryOptions } from '../../src/persistence/recovery'
import { grantRecord, parseStateLine, snapshotLines, subscribedRecord } from '../../src/persistence/stateCodec'
import { TopicState } from '../../src/persistence/topicState'
import { silentLogger } from '../../src/log'
import { Store } from '../../src/store/store'

const meta = (extra: string): string => `{"#meta":{"topic":"~a.t","seq":0,"nextAutoId":1,"journalGen":0,"subscribers":{}${extra}}}`

const options: RecoveryOptions = {
  fsync: 'always',
  log: silentLogger,
  now: () => 1_700_000_000_000,
  segmentBytes: 1 << 20,
  compactMinBytes: 1 << 20,
  defaultAckTimeoutMs: 30000,
  dedupeWindowMs: 120000,
  dedupeMaxIds: 1000,
}

t.test('a v1 topic log (read by the migration) keeps grants and the user of each private subscription', async t => {
  const text = '{\n  "#meta": {"format":2,"topic":"~a.t","seq":0,"nextAutoId":1,"journalGen":7,"subscribers":{"w1":{"maxInFlight":3,"ackTimeoutMs":1000,"user":"bob"}},"grants":{"bob":"sub","__proto__":"both"}},\n  "w1": []\n}\n'
  const loaded = parseTopicLog(text, '~a.t')
  t.same([...loaded.grants], [['bob', { pub: false, sub: true }], ['__proto__', { pub: true, sub: true }]])
  t.equal(loaded.meta.subscribers.w1.user, 'bob')
  t.equal(parseTopicLog(meta(''), '~a.t').grants.size, 0, 'a log without grants (older files too) has none')
})

t.test('the v2 state keeps grants and the user of each private subscription, in records and in snapshots', async t => {
  const st = new TopicState('~a.t')
  for (const line of [grantRecord('bob', 'sub'), grantRecord('__proto__', 'both'), grantRecord('carol', 'pub'), grantRecord('carol', 'none'), subscribedRecord('w1', 3, 1000, 1, 0, 'bob'), subscribedRecord('w2', 3, 1000, 1, 0)]) {
    st.apply(parseStateLine(line))
  }
  t.same([...st.grants], [['bob', 'sub'], ['__proto__', 'both']], 'each record states what the user holds now')
  t.equal(st.subs.get('w1')!.user, 'bob')
  t.equal(st.subs.get('w2')!.user, null)
  st.finishTail(1)
  const lines = [...snapshotLines({ snapshot: 2, topic: '~a.t', gen: 1, nextOffset: 1, nextAutoId: 1 }, st.images(), st.grants)]
  t.same(lines.slice(1, 3), ['["R","bob","sub"]', '["R","__proto__","both"]'])
  t.equal(lines[3], '["S","w1",3,1000,1,0,1,"bob"]', 'a snapshot\'s S line has the user after tailFrom')
  const back = new TopicState('~a.t')
  for (const l of lines.slice(1, -1)) back.apply(parseStateLine(l))
  t.same([...back.grants], [...st.grants])
  t.equal(back.subs.get('w1')!.user, 'bob')
  t.equal(back.subs.get('w1')!.tailFrom, 1)
})

t.test('bad grants make a v1 topic log damaged, with a message saying why', async t => {
  t.throws(() => parseTopicLog(meta(',"grants":[]'), '~a.t'), /"#meta.grants" is not an object/)
  t.throws(() => parseTopicLog(meta(',"grants":null'), '~a.t'), /"#meta.grants" is not an object/)
  t.throws(() => parseTopicLog(meta(',"grants":{"bob":"all"}'), '~a.t'), /"#meta.grants" of "bob": invalid grant "all"/)
})

t.test('a v1 journal\'s grant records are migrated; bad ones are skipped as damaged', async t => {
  const dir = t.testdir({})
  writeFileSync(join(dir, 'journal-1.ndjson'), [
    '["T","~a.t"]',
    '["G","~a.t","bob","both"]',
    '["G","~a.t","carol","sub"]',
    '["G","~a.t","bob","pub"]',
    '["G","~a.t","carol","none"]',
    '["S","~a.t","w1",2,500,"bob"]',
    '["S","~a.t","w2",2,500]',
    '["G","~a.t",7,"pub"]',
    '["G","~a.t","dave","everything"]',
  ].join('\n') + '\n')
  const store = new Store()
  const { result } = await recover(dir, store, silentLogger, options)
  t.equal(result.problems, 2, 'the two bad grant records')
  t.ok(result.migrated)
  t.equal(result.maxGen, 1, 'v2 journals start above the v1 ones')
  const topic = store.topic('~a.t')!
  t.same([...topic.grants], [['bob', { pub: true, sub: false }]], 'each record states what the user holds now')
  t.equal(topic.subscriptions.get('w1')?.user, 'bob')
  t.equal(topic.subscriptions.get('w2')?.user, null, 'no user recorded: public-topic style')
})

t.test('a v2 journal\'s grant records are replayed; bad ones are skipped as damaged', async t => {
  const dir = t.testdir({ 'format.json': '{"format":2}\n' })
  writeFileSync(join(dir, 'journal-3.ndjson'), [
    '["T","~a.t"]',
    '["R","~a.t","bob","both"]',
    '["R","~a.t","bob","pub"]',
    '["S","~a.t","w1",2,500,1,0,"bob"]',
    '["R","~a.t",7,"pub"]',
    '["R","~a.t","dave","everything"]',
  ].join('\n') + '\n')
  const store = new Store()
  const { result } = await recover(dir, store, silentLogger, options)
  t.equal(result.problems, 2)
  t.equal(result.maxGen, 3)
  const topic = store.topic('~a.t')!
  t.same([...topic.grants], [['bob', { pub: true, sub: false }]])
  t.equal(topic.subscriptions.get('w1')?.user, 'bob')
})
