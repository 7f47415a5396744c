// Issue 10's protocol surface over real sockets: sub from=/to= (replay, ranges, END), commit,
// create/delete/topics, and idempotent publish (the dedupe window, on a ManualClock).
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startLoggedBroker, testHash } from '../helpers/auth'
import { startTestBroker, tempDir, type LineClient, type TestBroker } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import type { ConfigOverrides } from '../../src/config/loadConfig'

type Ev = Record<string, unknown>

async function restart (t: { teardown: (fn: () => unknown) => void }, tb: TestBroker, dir: string, extra: ConfigOverrides = {}): Promise<TestBroker> {
  await tb.stop()
  return startTestBroker(t, { logDir: dir, ...extra })
}

/** Publishes `n` events `{"id":"<prefix><i>","msg":i}` (priorities from `priority(i)`), checking each OK. */
async function publish (p: LineClient, topic: string, from: number, to: number, priority: (i: number) => number = () => 0): Promise<void> {
  for (let i = from; i <= to; i++) {
    const reply = await p.request(`pub ${topic} {"id":"e${i}","priority":${priority(i)},"msg":${i}}`)
    if (!reply.startsWith(`OK e${i} published to ${topic}`)) throw new Error(reply)
  }
}

/** The next `n` EVENT lines' events. */
async function events (c: LineClient, n: number): Promise<Ev[]> {
  const out: Ev[] = []
  for (let i = 0; i < n; i++) out.push((await c.event()).event)
  return out
}

const offsets = (evs: Ev[]): unknown[] => evs.map(e => e.offset)

t.test('sub from=: beginning, latest, an offset, a time; without from= nothing changes', async t => {
  const clock = new ManualClock()
  const tb = await startTestBroker(t, {}, clock)
  const p = await tb.client()
  await publish(p, 'log', 1, 3)
  clock.advance(1000)
  const t1 = clock.now()
  await publish(p, 'log', 4, 5)

  const none = await tb.client()
  t.equal(await none.request('sub log'), 'OK subscribed to log (max in flight 10)')
  t.ok(await none.quiet(), 'no from=: new events only')

  const all = await tb.client()
  t.equal(await all.request('sub log from=beginning'), 'OK subscribed to log (max in flight 10)')
  const replayed = await events(all, 5)
  t.same(offsets(replayed), [1, 2, 3, 4, 5], 'every retained event, in offset order')
  t.same(replayed[0], { id: 'e1', priority: 0, msg: 1, timestamp: clock.now() - 1000, offset: 1 }, 'as it was delivered live: the broker fields, no deliveries')

  const latest = await tb.client()
  t.equal(await latest.request('sub log from=latest'), 'OK subscribed to log (max in flight 10)')
  t.same(offsets(await events(latest, 1)), [5], 'from=latest: the newest retained event')
  const third = await tb.client()
  t.equal(await third.request('sub log 10 from=3'), 'OK subscribed to log (max in flight 10)')
  t.same(offsets(await events(third, 3)), [3, 4, 5])
  const timed = await tb.client()
  t.equal(await timed.request(`sub log from=time:${t1}`), 'OK subscribed to log (max in flight 10)')
  t.same(offsets(await events(timed, 2)), [4, 5], 'from=time: the first event stamped at or after it')
  const future = await tb.client()
  t.equal(await future.request('sub log from=99'), 'OK subscribed to log (max in flight 10)', 'an offset past the end: new events from there')
  t.equal(await future.request('sub log from=99'), 'ERR ALREADY_SUBSCRIBED already subscribed to log')

  await publish(p, 'log', 6, 6)
  for (const c of [none, all, latest, third, timed]) t.same(offsets(await events(c, 1)), [6], 'then live events')
  t.ok(await future.quiet(), 'offsets before 99 are not for it')
  for (const c of [none, all, latest, third, timed]) t.ok(await c.quiet(50), 'nothing twice')
})

t.test('a replay keeps the in-flight cap, priority order and ack rules; live events published meanwhile join in order', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await publish(p, 'jobs', 1, 6, i => (i % 2 === 0 ? 5 : 0))
  const s = await tb.client()
  t.equal(await s.request('sub jobs 2 from=beginning'), 'OK subscribed to jobs (max in flight 2)')
  const first = await events(s, 2)
  t.same(offsets(first), [2, 4], 'higher priority first, then offset order')
  t.ok(await s.quiet(), 'the cap holds the rest back')
  await publish(p, 'jobs', 7, 7, () => 9)
  t.equal(await s.request('ack jobs e7'), 'ERR NOT_IN_FLIGHT event "e7" is not in flight for you on jobs', 'not delivered yet')
  t.equal(await s.request('ack jobs e2'), 'OK acked e2 on jobs')
  t.same(offsets(await events(s, 1)), [7], 'a live event of higher priority goes before the replay\'s rest')
  await s.request('ack jobs e4')
  t.same(offsets(await events(s, 1)), [6])
  t.equal(await s.request('nack jobs e7'), 'OK nacked e7 on jobs')
  t.match((await s.event()).event, { offset: 7, deliveries: 2 }, 'a nacked replayed event comes again, counted')
})

t.test('replay after a restart: the stored events, byte for byte; a named subscription\'s from= applies only when it is created', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  await p.request('create audit')
  const raw = '{"id":"a1", "msg" : {"x":1.0,"y":"\\u00e9"}, "priority":3}'
  t.equal(await p.request(`pub audit ${raw}`), 'OK a1 published to audit (0 subscribers)')
  await publish(p, 'audit', 2, 4)
  const w = await tb.client()
  await w.request('name worker')
  t.equal(await w.request('sub audit 1 from=beginning'), 'OK subscribed to audit (max in flight 1)')
  t.match((await w.event()).event, { id: 'a1', offset: 1 })
  t.equal(await w.request('ack audit a1'), 'OK acked a1 on audit')
  t.match((await w.event()).event, { id: 'e2', offset: 2 })
  tb = await restart(t, tb, dir)

  const r = await tb.client()
  t.equal(await r.request('sub audit from=beginning'), 'OK subscribed to audit (max in flight 10)')
  const lines = [await r.next(), await r.next(), await r.next(), await r.next()]
  t.match(lines[0], /^EVENT audit \{"id":"a1", "msg" : \{"x":1\.0,"y":"\\u00e9"\}, "priority":3,"timestamp":\d+,"offset":1\}$/, 'the publisher\'s bytes after a restart')
  t.same(lines.slice(1).map(l => (JSON.parse(l.slice('EVENT audit '.length)) as Ev).offset), [2, 3, 4])

  const w2 = await tb.client()
  await w2.request('name worker')
  t.equal(await w2.request('sub audit 1 from=beginning to=2'), 'OK subscribed to audit (max in flight 1, resumed with 3 pending)',
    'resumed: from= and to= are ignored, it carries on from its own state')
  t.match((await w2.event()).event, { id: 'e2', offset: 2, deliveries: 2 })
  await w2.request('ack audit e2')
  t.match((await w2.event()).event, { id: 'e3', offset: 3 })
  await w2.request('ack audit e3')
  t.match((await w2.event()).event, { id: 'e4', offset: 4 })
  await w2.request('ack audit e4')
  t.ok(await w2.quiet(), 'no range: no END')
})

t.test('to= ranges: END <topic> <to> once every event of the range is acked, and the subscription is gone', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await publish(p, 'r', 1, 5)
  const s = await tb.client()
  t.equal(await s.request('sub r from=2 to=4'), 'OK subscribed to r (max in flight 10)')
  t.same(offsets(await events(s, 3)), [2, 3, 4], 'only the range')
  t.ok(await s.quiet(), 'not past to')
  t.equal(await s.request('ack r e2'), 'OK acked e2 on r')
  t.equal(await s.request('ack r e4'), 'OK acked e4 on r')
  t.equal(await s.request('ack r e3'), 'OK acked e3 on r')
  t.equal(await s.next(), 'END r 4', 'after the last ack\'s OK')
  t.equal(await s.request('ack r e5'), 'ERR NOT_SUBSCRIBED not subscribed to r')
  t.match(await s.request('stats r'), /"subscriptions":0/, 'the subscription ended')
  t.equal(await s.request('sub r from=5'), 'OK subscribed to r (max in flight 10)', 'the connection can subscribe again')
  t.same(offsets(await events(s, 1)), [5])

  // A range that reaches past the end waits for the events still to come.
  const f = await tb.client()
  t.equal(await f.request('sub r to=7'), 'OK subscribed to r (max in flight 10)', 'no from=: from the next offset (6) to 7')
  await publish(p, 'r', 6, 8)
  t.same(offsets(await events(f, 2)), [6, 7])
  t.equal(await f.request('commit r 7'), 'OK committed r up to 7 (2 acked)')
  t.equal(await f.next(), 'END r 7', 'a commit can end the range too')

  // A range of one event that is acked at once; from=latest to= the newest.
  const one = await tb.client()
  t.equal(await one.request('sub r from=latest to=8'), 'OK subscribed to r (max in flight 10)')
  t.same(offsets(await events(one, 1)), [8])
  await one.request('ack r e8')
  t.equal(await one.next(), 'END r 8')

  // A named range subscription ends durably: it is not resumed after a reconnect.
  const n = await tb.client()
  await n.request('name ranger')
  t.equal(await n.request('sub r from=8 to=8'), 'OK subscribed to r (max in flight 10)')
  await events(n, 1)
  t.equal(await n.request('ack r e8'), 'OK acked e8 on r')
  t.equal(await n.next(), 'END r 8')
  n.destroy()
  const n2 = await tb.client()
  await n2.request('name ranger')
  t.equal(await n2.request('sub r'), 'OK subscribed to r (max in flight 10)', 'a new subscription, not a resumed one')
})

t.test('bad from=/to= are refused with the option named, and the connection stays usable', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await publish(p, 'b', 1, 5)
  const s = await tb.client()
  t.equal(await s.request('sub b from=4 to=3'), 'ERR BAD_OPTION to=3 is before the start of the range, offset 4')
  t.equal(await s.request('sub b to=5'), 'ERR BAD_OPTION to=5 is before the start of the range, offset 6', 'no from=: the range starts at the next offset')
  t.equal(await s.request('sub b from=-1'), 'ERR BAD_OPTION option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "-1"')
  t.equal(await s.request('sub b from=time:soon'), 'ERR BAD_OPTION option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "time:soon"')
  t.equal(await s.request('sub b to=1.5'), 'ERR BAD_OPTION option to must be an offset (an integer from 1), got "1.5"')
  t.equal(await s.request('sub b from=1 to=2 to=3'), 'ERR BAD_OPTION option to given twice; usage: sub <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>]')
  t.equal(await s.request('sub b start=1'), 'ERR BAD_OPTION unknown option "start"; usage: sub <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>]')
  t.equal(await s.request('sub nothere from=1'), 'ERR UNKNOWN_TOPIC topic nothere does not exist; publish to it first')
  t.equal(await s.request('sub b from=5 to=5'), 'OK subscribed to b (max in flight 10)', 'a refused sub changed nothing')
  t.same(offsets(await events(s, 1)), [5])
})

t.test('commit acks every delivered event up to an offset; errors name the problem', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await publish(p, 'c', 1, 1)
  const s = await tb.client()
  t.equal(await s.request('commit c 1'), 'ERR NOT_SUBSCRIBED not subscribed to c')
  t.equal(await s.request('commit nope 1'), 'ERR UNKNOWN_TOPIC topic nope does not exist')
  t.equal(await s.request('commit c 0'), 'ERR BAD_ARGS offset must be an offset (an integer from 1), got "0"')
  t.equal(await s.request('commit c x'), 'ERR BAD_ARGS offset must be an offset (an integer from 1), got "x"')
  t.equal(await s.request('commit c'), 'ERR BAD_ARGS missing offset; usage: commit <topic> <offset>')
  t.equal(await s.request('commit c 1 2'), 'ERR BAD_ARGS unexpected "2"; usage: commit <topic> <offset>')
  t.equal(await s.request('sub c 3'), 'OK subscribed to c (max in flight 3)')
  await publish(p, 'c', 2, 7)
  t.same(offsets(await events(s, 3)), [2, 3, 4])
  t.equal(await s.request('nack c e4 60000'), 'OK nacked e4 on c (again in 60000 ms)')
  t.same(offsets(await events(s, 1)), [5])
  t.equal(await s.request('commit c 4'), 'OK committed c up to 4 (3 acked)', 'in flight and delayed by nack: 2, 3, 4')
  t.same(offsets(await events(s, 2)), [6, 7], 'the freed slots fill')
  t.equal(await s.request('commit c 4'), 'OK committed c up to 4 (0 acked)', 'nothing left up to 4')
  t.equal(await s.request('ack c e4'), 'ERR NOT_IN_FLIGHT event "e4" is not in flight for you on c')
  t.equal(await s.request('commit c 100'), 'OK committed c up to 100 (3 acked)', 'past the end: whatever was delivered')
  t.match(await s.request('stats c'), /"pending":0,"inFlight":0/)
})

t.test('a named subscriber\'s commit is durable', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  await p.request('create q')
  const w = await tb.client()
  await w.request('name w')
  await w.request('sub q 5')
  await publish(p, 'q', 1, 5)
  t.same(offsets(await events(w, 5)), [1, 2, 3, 4, 5])
  t.equal(await w.request('commit q 3'), 'OK committed q up to 3 (3 acked)')
  tb = await restart(t, tb, dir)
  const w2 = await tb.client()
  await w2.request('name w')
  t.equal(await w2.request('sub q'), 'OK subscribed to q (max in flight 5, resumed with 2 pending)')
  t.same((await events(w2, 2)).map(e => [e.offset, e.deliveries]), [[4, 2], [5, 2]], 'only what was not committed comes again')
})

t.test('create, topics and delete', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir, maxTopics: 3 })
  const a = await tb.client()
  t.equal(await a.request('create orders'), 'OK created orders')
  t.equal(await a.request('create orders'), 'ERR TOPIC_EXISTS topic orders exists already')
  t.equal(await a.request('create ../x'), 'ERR BAD_TOPIC invalid topic name "../x": use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")')
  t.equal(await a.request('create'), 'ERR BAD_ARGS missing topic name; usage: create <topic>')
  t.equal(await a.request('sub orders'), 'OK subscribed to orders (max in flight 10)', 'a created topic with no events can be subscribed to')
  t.ok(await a.quiet())
  t.equal(await a.request('topics'), 'OK [{"topic":"orders","firstOffset":1,"lastOffset":0,"retainedEvents":0,"retainedBytes":0,"subscribers":1,"pending":0}]')
  const p = await tb.client()
  t.equal(await p.request('pub orders {"id":"o1","msg":"x"}'), 'OK o1 published to orders (1 subscriber)')
  t.match((await a.event()).event, { id: 'o1', offset: 1 })
  await p.request('create b')
  t.equal(await p.request('create c'), 'OK created c')
  t.equal(await p.request('create d'), 'ERR TOO_MANY_TOPICS the broker is at its limit of 3 topics (maxTopics); topic d was not created')
  const listed = JSON.parse((await p.request('topics')).slice(3)) as Ev[]
  t.same(listed.map(x => x.topic), ['b', 'c', 'orders'], 'sorted by name')
  t.match(listed[2], { topic: 'orders', firstOffset: 1, lastOffset: 1, retainedEvents: 1, subscribers: 1, pending: 1 })
  t.ok((listed[2].retainedBytes as number) > 20)
  t.equal(await p.request('topics x'), 'ERR BAD_ARGS unexpected "x"; usage: topics')

  tb = await restart(t, tb, dir, { maxTopics: 3 })
  const c = await tb.client()
  t.same((JSON.parse((await c.request('topics')).slice(3)) as Ev[]).map(x => x.topic), ['b', 'c', 'orders'], 'created topics are durable')
  t.equal(await c.request('sub c'), 'OK subscribed to c (max in flight 10)')
  c.send('delete c')
  t.equal(await c.next(), 'END c deleted', 'a subscriber may delete: its END comes first')
  t.equal(await c.reply(), 'OK deleted c')
  await tb.broker.durability.batcher.run()
  t.equal(await c.request('delete c'), 'ERR UNKNOWN_TOPIC topic c does not exist')
  t.equal(await c.request('create d'), 'OK created d', 'room for one more topic')
})

t.test('delete while subscribed: anonymous and named subscribers get END and lose the subscription, durably', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const p = await tb.client()
  await publish(p, 'gone', 1, 3)
  const anon = await tb.client()
  await anon.request('sub gone 1 from=beginning')
  const named = await tb.client()
  await named.request('name keeper')
  await named.request('sub gone 1 from=beginning')
  await events(anon, 1)
  await events(named, 1)
  const away = await tb.client()
  await away.request('name away')
  await away.request('sub gone')
  away.destroy()
  await tb.broker.durability.batcher.run()
  t.ok(existsSync(join(dir, 'topics', 'gone')), 'the topic has files')

  t.equal(await p.request('delete gone'), 'OK deleted gone')
  t.equal(await anon.next(), 'END gone deleted')
  t.equal(await named.next(), 'END gone deleted')
  t.equal(await anon.request('ack gone e1'), 'ERR UNKNOWN_TOPIC topic gone does not exist')
  t.equal(await named.request('unsub gone'), 'ERR UNKNOWN_TOPIC topic gone does not exist')
  t.equal(await p.request('sub gone'), 'ERR UNKNOWN_TOPIC topic gone does not exist; publish to it first')
  await tb.broker.durability.batcher.run()
  t.notOk(existsSync(join(dir, 'topics', 'gone')), 'its files are removed')

  tb = await restart(t, tb, dir)
  const p2 = await tb.client()
  t.equal(await p2.request('topics'), 'OK []', 'still gone after a restart')
  t.equal(await p2.request('pub gone {"id":"n1","msg":"new"}'), 'OK n1 published to gone (0 subscribers)', 'a new topic of that name, from offset 1, no subscribers')
  const k = await tb.client()
  await k.request('name keeper')
  t.equal(await k.request('sub gone from=beginning'), 'OK subscribed to gone (max in flight 10)', 'the named subscription did not come back')
  t.match((await k.event()).event, { id: 'n1', offset: 1 })
  const a2 = await tb.client()
  await a2.request('name away')
  t.equal(await a2.request('sub gone'), 'OK subscribed to gone (max in flight 10)', 'nor the one whose subscriber was away')
})

t.test('create, delete and topics follow the ACL; private topics are listed only to those who may see them', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['*'] },
    bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const a = await tb.client()
  const b = await tb.client()
  t.equal(await a.request('create orders.eu'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.equal(await a.request('topics'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  await a.request('auth alice alice-pw')
  await b.request('auth bob bob-pw')
  t.equal(await a.request('create orders.eu'), 'OK created orders.eu')
  t.equal(await a.request('create payments'), 'ERR FORBIDDEN user alice may not publish to payments')
  t.equal(await b.request('create payments'), 'OK created payments')
  t.equal(await a.request('delete payments'), 'ERR FORBIDDEN user alice may not publish to payments')
  t.equal(await a.request('create ~alice.notes'), 'OK created ~alice.notes', 'the owner creates a private topic')
  t.equal(await b.request('create ~alice.notes'), 'ERR UNKNOWN_TOPIC topic ~alice.notes does not exist', 'to others it does not exist')
  t.equal(await b.request('delete ~alice.notes'), 'ERR UNKNOWN_TOPIC topic ~alice.notes does not exist')
  const names = async (c: LineClient): Promise<unknown[]> => (JSON.parse((await c.request('topics')).slice(3)) as Ev[]).map(x => x.topic)
  t.same(await names(a), ['orders.eu', 'payments', '~alice.notes'])
  t.same(await names(b), ['orders.eu', 'payments'], 'bob does not see alice\'s private topic')
  t.equal(await a.request('grant ~alice.notes bob sub'), 'OK bob may now sub on ~alice.notes')
  t.same(await names(b), ['orders.eu', 'payments', '~alice.notes'], 'a grantee does')
  t.equal(await b.request('delete ~alice.notes'), 'ERR FORBIDDEN user bob may not publish to ~alice.notes')
  t.equal(await a.request('delete ~alice.notes'), 'OK deleted ~alice.notes')
})

t.test('idempotent publish: an id seen within dedupeWindowMs is a duplicate, stored and delivered once; after the window it is new', async t => {
  const clock = new ManualClock()
  const tb = await startTestBroker(t, { dedupeWindowMs: 60000 }, clock)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('create d')
  await s.request('sub d 10 86400000') // no ack timeout while the clock jumps
  t.equal(await p.request('pub d {"id":"k","msg":1}'), 'OK k published to d (1 subscriber)')
  t.match((await s.event()).event, { id: 'k', msg: 1, offset: 1 })
  t.equal(await p.request('pub d {"id":"k","msg":"resent"}'), 'OK k duplicate, already published to d', 'still pending')
  t.equal(await s.request('ack d k'), 'OK acked k on d')
  clock.advance(59999)
  t.equal(await p.request('pub d {"id":"k","msg":"resent"}'), 'OK k duplicate, already published to d', 'acked, still inside the window')
  t.equal(await p.request('pub d {"id":7,"msg":"other"}'), 'OK 7 published to d (1 subscriber)', 'other ids are not affected')
  t.match((await s.event()).event, { id: 7, offset: 2 })
  await s.request('ack d 7')
  t.equal(await p.request('pub d {"id":"7","msg":"same id as text"}'), 'OK 7 duplicate, already published to d', 'ids compare as text')
  t.ok(await s.quiet(), 'no duplicate was delivered')
  t.match(await p.request('topics'), /"lastOffset":2,"retainedEvents":2,/, 'nor stored')
  clock.advance(1)
  t.equal(await p.request('pub d {"id":"k","msg":"new"}'), 'OK k published to d (1 subscriber)', 'after the window the id is new again')
  t.match((await s.event()).event, { id: 'k', msg: 'new', offset: 3 })
  clock.advance(120000)
  t.equal(await p.request('pub d {"id":"k","msg":"again"}'), 'OK k duplicate, already published to d', 'past the window but still pending: a duplicate')
  await s.request('ack d k')
  t.equal(await p.request('pub d {"id":"k","msg":"again"}'), 'OK k published to d (1 subscriber)')
  t.match((await s.event()).event, { id: 'k', msg: 'again', offset: 4 })
})
