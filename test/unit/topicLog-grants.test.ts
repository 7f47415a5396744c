import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTopicLog, renderTopicLog } from '../../src/persistence/topicLog'
import { recover } from '../../src/persistence/recovery'
import { silentLogger } from '../../src/log'
import { Store } from '../../src/store/store'
import { Subscription } from '../../src/store/subscription'

const meta = (extra: string): string => `{"#meta":{"topic":"~a.t","seq":0,"nextAutoId":1,"journalGen":0,"subscribers":{}${extra}}}`

t.test('a topic log keeps grants and the user of each private subscription', async t => {
  const store = new Store()
  const topic = store.ensureTopic('~a.t')
  topic.grants.set('bob', { pub: false, sub: true })
  topic.grants.set('__proto__', { pub: true, sub: true })
  const s = new Subscription(topic, 'w1', true, 3, 1000)
  s.user = 'bob'
  topic.subscriptions.set('w1', s)
  const text = renderTopicLog(topic, 7)
  t.match(text, '"grants":{"bob":"sub","__proto__":"both"}')
  t.match(text, '"subscribers":{"w1":{"maxInFlight":3,"ackTimeoutMs":1000,"user":"bob"}}')
  const loaded = parseTopicLog(text, '~a.t')
  t.same([...loaded.grants], [['bob', { pub: false, sub: true }], ['__proto__', { pub: true, sub: true }]])
  t.equal(loaded.meta.subscribers.w1.user, 'bob')

  t.notMatch(renderTopicLog(store.ensureTopic('public'), 1), 'grants', 'no grants, no field')
  t.equal(parseTopicLog(meta(''), '~a.t').grants.size, 0, 'a log without grants (older files too) has none')
})

t.test('bad grants make a topic log damaged, with a message saying why', async t => {
  t.throws(() => parseTopicLog(meta(',"grants":[]'), '~a.t'), /"#meta.grants" is not an object/)
  t.throws(() => parseTopicLog(meta(',"grants":null'), '~a.t'), /"#meta.grants" is not an object/)
  t.throws(() => parseTopicLog(meta(',"grants":{"bob":"all"}'), '~a.t'), /"#meta.grants" of "bob": invalid grant "all"/)
})

t.test('journal replay applies grant records; bad ones are skipped as damaged', async t => {
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
  const result = recover(dir, store, silentLogger, 30000)
  t.equal(result.problems, 2, 'the two bad grant records')
  const topic = store.topic('~a.t')!
  t.same([...topic.grants], [['bob', { pub: true, sub: false }]], 'each record states what the user holds now')
  t.equal(topic.subscriptions.get('w1')?.user, 'bob')
  t.equal(topic.subscriptions.get('w2')?.user, null, 'no user recorded: public-topic style')
})
