import t from 'tap'
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestBroker, tempDir } from '../helpers/broker'
import { testHash } from '../helpers/auth'
import { readConfigFile } from '../../src/config/loadConfig'

/**
 * Client-chosen names that are also properties of every plain JavaScript
 * object: as subscriber, topic and user names they must behave like any other.
 */
const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']

t.test('named subscribers called like Object.prototype members keep their settings and events across restarts', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  await p.request('pub jobs {"msg":"create the topic"}')
  for (const [i, name] of NAMES.entries()) {
    const s = await tb.client()
    t.equal(await s.request(`name ${name}`), `OK named ${name}`)
    t.equal(await s.request(`sub jobs ${i + 2} ${5000 + i}`), `OK subscribed to jobs (max in flight ${i + 2})`)
    s.destroy()
  }
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await p.request('pub jobs {"id":"j1","msg":1}'), 'OK j1 published to jobs (4 subscribers)')
  await tb.stop()

  const topicDir = join(dir, 'topics', 'jobs')
  const records = readdirSync(topicDir).filter(f => f.startsWith('state-')).flatMap(f => readFileSync(join(topicDir, f), 'utf8').trim().split('\n')).map(l => JSON.parse(l) as unknown[])
  for (const [i, name] of NAMES.entries()) {
    t.same(records.filter(r => r[0] === 'S' && r[1] === name), [['S', name, i + 2, 5000 + i, 2, 0]], `${name}'s settings are in the state log`)
  }

  // A clean restart (topic log), then a crash (journal only) after one more event.
  tb = await startTestBroker(t, { logDir: dir, batchIntervalMs: 3600000 })
  const stats = JSON.parse((await (await tb.client()).request('stats jobs')).slice(3)) as { subscribers: Array<{ name: string, maxInFlight: number, pending: number }> }
  t.same(stats.subscribers.map(s => [s.name, s.maxInFlight, s.pending]), NAMES.map((n, i) => [n, i + 2, 1]))
  const p2 = await tb.client()
  t.equal(await p2.request('pub jobs {"id":"j2","msg":2}'), 'OK j2 published to jobs (4 subscribers)')
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  await tb.stop()

  tb = await startTestBroker(t, { logDir: copy })
  for (const [i, name] of NAMES.entries()) {
    const s = await tb.client()
    await s.request(`name ${name}`)
    t.equal(await s.request('sub jobs'), `OK subscribed to jobs (max in flight ${i + 2}, resumed with 2 pending)`, `${name} resumes with its own cap`)
    t.match((await s.event()).event, { id: 'j1', deliveries: undefined })
    t.match((await s.event()).event, { id: 'j2' })
    t.equal(await s.request('unsub jobs'), 'OK unsubscribed from jobs (2 unacked events dropped)')
  }
})

t.test('topics called like Object.prototype members: pub, sub, stats, across a restart', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  const s = await tb.client()
  await s.request('name reader')
  for (const topic of NAMES) {
    t.equal(await p.request(`pub ${topic} {"msg":"create"}`), `OK 1 published to ${topic} (0 subscribers)`)
    t.equal(await s.request(`sub ${topic} 5`), `OK subscribed to ${topic} (max in flight 5)`)
    t.equal(await p.request(`pub ${topic} {"id":"e","msg":"${topic}"}`), `OK e published to ${topic} (1 subscriber)`)
    t.match(await s.event(), { topic, event: { priority: 0, id: 'e', msg: topic, timestamp: Number } })
    t.match(JSON.parse((await p.request(`stats ${topic}`)).slice(3)), { topic, published: 2, pending: 0, inFlight: 1, subscribers: [{ name: 'reader', maxInFlight: 5 }] })
  }
  t.match(JSON.parse((await p.request('stats')).slice(3)), { topics: NAMES.length, subscriptions: NAMES.length })
  await tb.stop()

  tb = await startTestBroker(t, { logDir: dir })
  const s2 = await tb.client()
  await s2.request('name reader')
  for (const topic of NAMES) {
    t.equal(await s2.request(`sub ${topic}`), `OK subscribed to ${topic} (max in flight 5, resumed with 1 pending)`)
    t.match(await s2.event(), { topic, event: { id: 'e', msg: topic, deliveries: 2 } })
    t.equal(await s2.request(`ack ${topic} e`), `OK acked e on ${topic}`)
  }
  t.match(JSON.parse((await s2.request('stats')).slice(3)), { topics: NAMES.length, pending: 0, inFlight: 0 })
})

t.test('users called like Object.prototype members log in; unconfigured ones fail cleanly', async t => {
  // Users come from a JSON config file, as in production: JSON.parse makes "__proto__" an ordinary member.
  const users = NAMES.map(n => `${JSON.stringify(n)}: {"passwordHash": ${JSON.stringify(testHash(`${n}-pw`))}, "publish": ["*"], "subscribe": ["*"]}`)
  const file = join(tempDir(), 'users.json')
  writeFileSync(file, `{"auth": {"required": true, "users": {${users.join(', ')}, "alice": {"passwordHash": ${JSON.stringify(testHash('alice-pw'))}}}}}`)
  const tb = await startTestBroker(t, readConfigFile(file))
  const alice = await tb.client()
  t.equal(await alice.request('auth alice alice-pw'), 'OK authenticated as alice')
  await alice.request('pub ~alice.box {"msg":"create"}')
  for (const name of NAMES) {
    const c = await tb.client()
    t.equal(await c.request(`auth ${name} wrong`), 'ERR AUTH_FAILED wrong user or password')
    t.equal(await c.request(`auth ${name} ${name}-pw`), `OK authenticated as ${name}`)
    t.equal(await c.request('pub news {"msg":1}'), `OK ${NAMES.indexOf(name) + 1} published to news (0 subscribers)`)
    t.equal(await c.request('sub ~alice.box'), 'ERR UNKNOWN_TOPIC topic ~alice.box does not exist; publish to it first')
    t.equal(await alice.request(`grant ~alice.box ${name} sub`), `OK ${name} may now sub on ~alice.box`)
    t.equal(await c.request('sub ~alice.box'), 'OK subscribed to ~alice.box (max in flight 10)')
  }

  // A broker that knows only alice: every such name is an unknown user, with the same reply as a wrong password.
  const only = join(tempDir(), 'alice.json')
  writeFileSync(only, `{"auth": {"required": true, "users": {"alice": {"passwordHash": ${JSON.stringify(testHash('alice-pw'))}, "publish": ["*"]}}}}`)
  const tb2 = await startTestBroker(t, readConfigFile(only))
  const c = await tb2.client()
  for (const name of NAMES) {
    t.equal(await c.request(`auth ${name} alice-pw`), 'ERR AUTH_FAILED wrong user or password', `auth as unconfigured ${name}`)
    t.equal(await c.request('pub news {"msg":1}'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  }
  t.equal(await c.request('ping'), 'OK PONG', 'the connection stays usable')
  t.equal(await c.request('auth alice alice-pw'), 'OK authenticated as alice')
})
