import t from 'tap'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TOPICS_DIR, topicDirName, topicDirPath, topicOfDirName } from '../../src/persistence/topicDir'

t.test('plain lower-case names are kept; upper case and a leading dot are escaped; names decode back', async t => {
  const cases: Array<[string, string]> = [
    ['orders', 'orders'],
    ['Orders', '+orders'],
    ['ORDERS.eu', '+o+r+d+e+r+s.eu'],
    ['.hidden', '+.hidden'],
    ['...', '+...'],
    ['a.b_c-d', 'a.b_c-d'],
    ['~alice.Inbox', '~alice.+inbox'],
    ['orders.dlq', 'orders.dlq'],
    ['journal-1.ndjson', 'journal-1.ndjson'],
    ['ackline.lock', 'ackline.lock'],
  ]
  for (const [topic, dir] of cases) {
    t.equal(topicDirName(topic), dir, topic)
    t.equal(topicOfDirName(dir), topic, `${dir} decodes`)
  }
})

t.test('no two topics share a directory, even on a case-insensitive file system', async t => {
  const topics = ['orders', 'Orders', 'ORDERS', 'oRders', '~alice.x', '~Alice.x', '.x', 'x', '+x', 'X']
  const dirs = new Set<string>()
  for (const topic of topics) {
    let dir: string
    try { dir = topicDirName(topic) } catch { continue } // '+x' is not a topic name
    dirs.add(dir.toLowerCase())
  }
  t.equal(dirs.size, topics.length - 1, 'every valid topic has its own directory, compared case-insensitively')
})

t.test('names that are not topic names never become paths', async t => {
  for (const bad of ['', '.', '..', 'a/b', '../x', 'a\\b', 'a\u0000b', 'sp ace', 'é', '/abs', 'x'.repeat(201)]) {
    t.throws(() => topicDirName(bad), /invalid topic name/, JSON.stringify(bad))
    t.throws(() => topicDirPath('/tmp/logs', bad), /invalid topic name/)
  }
})

t.test('directory names that no topic encodes to are not topics', async t => {
  for (const name of ['Orders', '+', 'a+', 'a+.b', '+0', '.x', '..', '.', 'a=b', '', 'a/b', '+o+', 'x'.repeat(201)]) {
    t.equal(topicOfDirName(name), null, JSON.stringify(name))
  }
})

t.test('long names are shortened with a hash, stay distinct and under the file-name limit', async t => {
  const a = 'A'.repeat(200)
  const b = 'A'.repeat(199) + 'B'
  const da = topicDirName(a)
  const db = topicDirName(b)
  t.ok(da.length <= 200 && db.length <= 200)
  t.match(da, /=[0-9a-f]{16}$/)
  t.not(da, db)
  t.equal(topicOfDirName(da), null, 'a shortened name is named by its topic.json')
  const dlq = 'a'.repeat(200) + '.dlq'
  t.match(topicDirName(dlq), /=[0-9a-f]{16}$/, 'a 204-character dead-letter topic is shortened too')
  t.equal(topicDirName('a'.repeat(200)), 'a'.repeat(200), 'exactly 200 characters fit as they are')
})

t.test('every topic directory is created directly under <logDir>/topics, beside nothing of the broker', async t => {
  const logDir = t.testdir({ 'ackline.lock': '1\n', 'orders.json': '{}', 'journal-1.ndjson': '' })
  const topics = ['orders', 'Orders', 'orders.json', 'journal-1.ndjson', 'ackline.lock', '.x', '~bob.q']
  for (const topic of topics) {
    const path = topicDirPath(logDir, topic)
    t.equal(join(logDir, TOPICS_DIR, topicDirName(topic)), path)
    mkdirSync(path, { recursive: true })
    writeFileSync(join(path, 'topic.json'), JSON.stringify({ topic }))
  }
  t.same(readdirSync(logDir).sort(), ['ackline.lock', 'journal-1.ndjson', 'orders.json', 'topics'], 'the broker files are untouched')
  const back = readdirSync(join(logDir, TOPICS_DIR)).map(topicOfDirName).sort()
  t.same(back, [...topics].sort(), 'each directory decodes to its topic')
})
