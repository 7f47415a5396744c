/**
 * Grants, and who made each subscription to a private topic, are durable:
 * journaled before the `OK` to grant/revoke/sub and kept in the topic's state log,
 * so a revoke after a restart (graceful or kill -9 style) ends what it
 * disallows, and a re-grant never delivers what was published in between.
 */
import t from 'tap'
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLoggedBroker, testHash, type LoggedBroker } from '../helpers/auth'
import { tempDir, type LineClient } from '../helpers/broker'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { silentLogger } from '../../src/log'
import { StateLog } from '../../src/persistence/stateLog'
import { topicDirName } from '../../src/persistence/topicDir'
import type { TopicState } from '../../src/persistence/topicState'

const users = {
  alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['orders.*'] },
  bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
  carol: { passwordHash: testHash('carol-pw'), subscribe: ['*'] },
}
const required = { auth: { required: true, users } }

async function start (t: { teardown: (fn: () => unknown) => void }, dir: string, extra: ConfigOverrides = {}): Promise<LoggedBroker> {
  return startLoggedBroker(t, { ...required, logDir: dir, ...extra })
}

async function login (tb: LoggedBroker, user: 'alice' | 'bob' | 'carol', name?: string): Promise<LineClient> {
  const c = await tb.client()
  if ((await c.request(`auth ${user} ${user}-pw`)) !== `OK authenticated as ${user}`) throw new Error(`auth ${user} failed`)
  if (name !== undefined && (await c.request(`name ${name}`)) !== `OK named ${name}`) throw new Error(`name ${name} failed`)
  return c
}

/** A kill -9 stand-in: copies the log dir as it is now (no final batch, no journal close) into a fresh directory. */
function crashCopy (dir: string): string {
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  return copy
}

/** A topic's subscription state as stored (its snapshot and state logs), read with the broker's own reader. */
function storedState (dir: string, topic: string): TopicState {
  return StateLog.open(join(dir, 'topics', topicDirName(topic)), topic, { fsync: 'off', log: silentLogger }).state
}

t.test('issue 9.6: a revoke after a restart ends the durable subscription; a re-grant does not deliver what was published meanwhile', async t => {
  const dir = tempDir()
  let tb = await start(t, dir)
  let alice = await login(tb, 'alice')
  let bob = await login(tb, 'bob', 'bob-worker')
  t.equal(await alice.request('pub ~alice.inbox {"id":"before","msg":"create"}'), 'OK before published to ~alice.inbox (0 subscribers)')
  t.equal(await alice.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  t.equal(await bob.request('sub ~alice.inbox'), 'OK subscribed to ~alice.inbox (max in flight 10)')
  t.equal(await alice.request('pub ~alice.inbox {"id":"e1","msg":"for bob"}'), 'OK e1 published to ~alice.inbox (1 subscriber)')
  t.match(await bob.event(), { topic: '~alice.inbox', event: { id: 'e1' } })
  t.equal(await bob.request('ack ~alice.inbox e1'), 'OK acked e1 on ~alice.inbox')
  alice.destroy()
  bob.destroy()
  await tb.broker.stop()

  const stored = storedState(dir, '~alice.inbox')
  t.same([...stored.grants], [['bob', 'sub']], 'the grant is in the topic\'s state log')
  t.equal(stored.subs.get('bob-worker')?.user, 'bob', 'so is who made the subscription')

  tb = await start(t, dir)
  alice = await login(tb, 'alice')
  t.equal(await alice.request('revoke ~alice.inbox bob'), 'OK bob may now none on ~alice.inbox (1 subscription ended)')
  t.equal(await alice.request('pub ~alice.inbox {"id":"e2","msg":"after the revoke"}'), 'OK e2 published to ~alice.inbox (0 subscribers)')
  t.equal(await alice.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  bob = await login(tb, 'bob', 'bob-worker')
  t.equal(await bob.request('sub ~alice.inbox'), 'OK subscribed to ~alice.inbox (max in flight 10)', 'a new subscription, nothing to resume')
  t.ok(await bob.quiet(150), 'e2, published while bob had no right, is not delivered')
  t.equal(await alice.request('pub ~alice.inbox {"id":"e3","msg":"after the re-grant"}'), 'OK e3 published to ~alice.inbox (1 subscriber)')
  t.match(await bob.event(), { topic: '~alice.inbox', event: { id: 'e3' } })
})

t.test('grants survive a restart, with the rights they gave; so does a grant on a topic it created', async t => {
  const dir = tempDir()
  let tb = await start(t, dir)
  let alice = await login(tb, 'alice')
  t.equal(await alice.request('pub ~alice.inbox {"msg":"create"}'), 'OK 1 published to ~alice.inbox (0 subscribers)')
  t.equal(await alice.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  t.equal(await alice.request('grant ~alice.drop bob pub'), 'OK bob may now pub on ~alice.drop')
  t.ok(tb.broker.store.topics.has('~alice.drop'), 'a grant creates the topic it names, so that the topic log can hold it')
  // User names that are also names of Object.prototype members are ordinary keys.
  for (const u of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    t.equal(await alice.request(`grant ~alice.inbox ${u} pub`), `OK ${u} may now pub on ~alice.inbox`)
  }
  t.equal(await alice.request('revoke ~alice.inbox toString'), 'OK toString may now none on ~alice.inbox')
  alice.destroy()
  await tb.broker.stop()

  t.same([...storedState(dir, '~alice.inbox').grants], [['bob', 'sub'], ['__proto__', 'pub'], ['constructor', 'pub'], ['hasOwnProperty', 'pub']])

  tb = await start(t, dir)
  const bob = await login(tb, 'bob')
  t.equal(await bob.request('sub ~alice.inbox'), 'OK subscribed to ~alice.inbox (max in flight 10)', 'bob can still subscribe')
  t.equal(await bob.request('pub ~alice.inbox {"msg":"x"}'), 'ERR FORBIDDEN user bob may not publish to ~alice.inbox', 'but still not publish')
  t.equal(await bob.request('pub ~alice.drop {"msg":"dropped off"}'), 'OK 1 published to ~alice.drop (0 subscribers)')
  t.equal(await bob.request('sub ~alice.drop'), 'ERR FORBIDDEN user bob may not subscribe to ~alice.drop')
  alice = await login(tb, 'alice')
  t.equal(await alice.request('revoke ~alice.inbox __proto__ pub'), 'OK __proto__ may now none on ~alice.inbox')
  t.equal(await alice.request('grant ~alice.inbox constructor sub'), 'OK constructor may now pub,sub on ~alice.inbox', 'the restored rights are added to')
  t.equal(await alice.request('revoke ~alice.inbox bob'), 'OK bob may now none on ~alice.inbox (1 subscription ended)', 'an anonymous subscription is ended too')
  t.equal(await bob.request('sub ~alice.inbox'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist; publish to it first')
  t.equal(await alice.request('revoke ~alice.nothing bob'), 'OK bob may now none on ~alice.nothing')
  t.notOk(tb.broker.store.topics.has('~alice.nothing'), 'a revoke creates nothing')
})

t.test('crash-style restart: the journal alone brings back grants and who subscribed; a confirmed revoke stays done', async t => {
  const dir = tempDir()
  const slow = { batchIntervalMs: 3600000 } // no batch runs: everything after start lives only in the journal
  let tb = await start(t, dir, slow)
  let alice = await login(tb, 'alice')
  let bob = await login(tb, 'bob', 'bob-worker')
  t.equal(await alice.request('grant ~alice.jobs bob sub'), 'OK bob may now sub on ~alice.jobs')
  t.equal(await bob.request('sub ~alice.jobs 5'), 'OK subscribed to ~alice.jobs (max in flight 5)')
  t.equal(await alice.request('pub ~alice.jobs {"id":"j1","msg":1}'), 'OK j1 published to ~alice.jobs (1 subscriber)')
  t.match(await bob.event(), { event: { id: 'j1' } })
  t.notOk(existsSync(join(dir, 'topics', '~alice.jobs')), 'no batch has run yet')
  let copy = crashCopy(dir)
  alice.destroy()
  bob.destroy()
  await tb.broker.stop()

  // Restart from the journal only: the grant and bob's subscription (his) are back.
  tb = await start(t, copy, slow)
  bob = await login(tb, 'bob', 'bob-worker')
  t.equal(await bob.request('sub ~alice.jobs'), 'OK subscribed to ~alice.jobs (max in flight 5, resumed with 1 pending)')
  t.match(await bob.event(), { event: { id: 'j1', deliveries: 2 } })
  bob.destroy()
  alice = await login(tb, 'alice')
  t.equal(await alice.request('revoke ~alice.jobs bob'), 'OK bob may now none on ~alice.jobs (1 subscription ended)')
  const dir2 = copy
  copy = crashCopy(dir2)
  alice.destroy()
  await tb.broker.stop()

  // Crash right after the revoke's OK: it is not undone.
  tb = await start(t, copy, slow)
  t.equal(tb.broker.store.topic('~alice.jobs')?.subscriptions.size, 0, 'the ended subscription did not come back')
  alice = await login(tb, 'alice')
  t.equal(await alice.request('pub ~alice.jobs {"id":"j2","msg":"after the revoke"}'), 'OK j2 published to ~alice.jobs (0 subscribers)')
  bob = await login(tb, 'bob', 'bob-worker')
  t.equal(await bob.request('sub ~alice.jobs'), 'ERR UNKNOWN_TOPIC topic ~alice.jobs does not exist; publish to it first', 'the grant is gone too')
  t.equal(await alice.request('grant ~alice.jobs bob'), 'OK bob may now pub,sub on ~alice.jobs')
  t.equal(await bob.request('sub ~alice.jobs'), 'OK subscribed to ~alice.jobs (max in flight 10)')
  t.ok(await bob.quiet(150), 'nothing published before the re-grant is delivered')
})

t.test('the OK to grant and revoke waits for the journal (fsync: batch and off confirm too)', async t => {
  for (const fsync of ['always', 'batch', 'off'] as const) {
    const dir = tempDir()
    let tb = await start(t, dir, { fsync })
    const alice = await login(tb, 'alice')
    t.equal(await alice.request('grant ~alice.x bob'), 'OK bob may now pub,sub on ~alice.x', fsync)
    if (fsync !== 'off') {
      const journal = readdirSync(dir).filter(f => f.startsWith('journal-')).map(f => readFileSync(join(dir, f), 'utf8')).join('')
      t.match(journal, '["R","~alice.x","bob","both"]\n', `${fsync}: the grant record is written before its OK`)
    }
    alice.destroy()
    await tb.broker.stop()
    tb = await start(t, dir, { fsync })
    const bob = await login(tb, 'bob')
    t.equal(await bob.request('sub ~alice.x'), 'OK subscribed to ~alice.x (max in flight 10)', `${fsync}: the grant came back`)
    bob.destroy()
    await tb.broker.stop()
  }
})

t.test('a grant that would create a topic counts against maxTopics, at its edge', async t => {
  const tb = await start(t, tempDir(), { maxTopics: 2 })
  const alice = await login(tb, 'alice')
  t.equal(await alice.request('grant ~alice.one bob'), 'OK bob may now pub,sub on ~alice.one')
  t.equal(await alice.request('grant ~alice.two bob sub'), 'OK bob may now sub on ~alice.two', 'the 2nd topic is created')
  t.equal(await alice.request('grant ~alice.three bob'), 'ERR TOO_MANY_TOPICS the broker is at its limit of 2 topics (maxTopics); topic ~alice.three was not created')
  t.equal(await alice.request('grant ~alice.two bob pub'), 'OK bob may now pub,sub on ~alice.two', 'existing topics take more grants')
  t.equal(tb.broker.store.topics.size, 2)
})

t.test('a named subscription resumed by another user becomes that user\'s, across a restart too', async t => {
  const dir = tempDir()
  let tb = await start(t, dir)
  let alice = await login(tb, 'alice')
  t.equal(await alice.request('grant ~alice.feed bob sub'), 'OK bob may now sub on ~alice.feed')
  t.equal(await alice.request('grant ~alice.feed carol sub'), 'OK carol may now sub on ~alice.feed')
  const bob = await login(tb, 'bob', 'shared-worker')
  t.equal(await bob.request('sub ~alice.feed'), 'OK subscribed to ~alice.feed (max in flight 10)')
  bob.destroy()
  await bob.closedByPeer().catch(() => {})
  // Durable names are not bound to users: carol resumes the same subscription, which is now hers.
  let carol = await login(tb, 'carol', 'shared-worker')
  t.equal(await carol.request('sub ~alice.feed'), 'OK subscribed to ~alice.feed (max in flight 10, resumed with 0 pending)')
  const anon = await login(tb, 'carol')
  t.equal(await anon.request('sub ~alice.feed'), 'OK subscribed to ~alice.feed (max in flight 10)')
  carol.destroy()
  anon.destroy()
  alice.destroy()
  await tb.broker.stop()

  tb = await start(t, dir)
  alice = await login(tb, 'alice')
  t.equal(await alice.request('revoke ~alice.feed bob'), 'OK bob may now none on ~alice.feed', 'no longer bob\'s to lose')
  t.equal(await alice.request('revoke ~alice.feed carol'), 'OK carol may now none on ~alice.feed (1 subscription ended)')
  t.equal(tb.broker.store.topic('~alice.feed')?.subscriptions.size, 0)
  t.equal(await alice.request('grant ~alice.feed carol'), 'OK carol may now pub,sub on ~alice.feed')
  carol = await login(tb, 'carol', 'shared-worker')
  t.equal(await carol.request('sub ~alice.feed'), 'OK subscribed to ~alice.feed (max in flight 10)')
  const carol2 = await login(tb, 'carol')
  t.equal(await carol2.request('sub ~alice.feed'), 'OK subscribed to ~alice.feed (max in flight 10)')
  t.equal(await alice.request('revoke ~alice.feed carol sub'), 'OK carol may now pub on ~alice.feed (2 subscriptions ended)', 'every subscription of the user ends')
  t.equal(await carol.request('sub ~alice.feed'), 'ERR FORBIDDEN user carol may not subscribe to ~alice.feed')
})
