import t from 'tap'
import { testHash } from '../helpers/auth'
import { startTestBroker, type LineClient } from '../helpers/broker'
import { startNode, type TestNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// Private topics, grant and revoke in cluster mode (docs/cluster.md#private-topics): the grants live in
// Redis, so an owner on one node, grantees on others, and the gate, the scripts and revoke agree cluster-wide,
// with the single-node replies. Three Ackline nodes on one real Redis Cluster, clients on real sockets.

const users = {
  alice: { passwordHash: testHash('alice-pw-1'), publish: ['open'], subscribe: ['open'] },
  bob: { passwordHash: testHash('bob-pw-1') },
  carol: { passwordHash: testHash('carol-pw-1') },
}
const auth = { auth: { required: true, users } }

async function login (node: { client: () => Promise<LineClient> }, user: keyof typeof users): Promise<LineClient> {
  const c = await node.client()
  const reply = await c.request(`auth ${user} ${user}-pw-1`)
  if (reply !== `OK authenticated as ${user}`) throw new Error(reply)
  return c
}

t.test('private topics in cluster mode', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const a = await startNode(t, rc, {}, auth)
  const b = await startNode(t, rc, {}, auth)
  const c = await startNode(t, rc, {}, auth)

  await t.test('the owner on one node, grantees on others: the same replies as one node', async t => {
    // One script of lines, each sent by alice, bob or carol; the cluster's replies must be the single node's.
    const steps: Array<[keyof typeof users, string]> = [
      ['alice', 'pub ~alice.inbox {"id":"m1","msg":"note"}'],
      ['bob', 'sub ~alice.inbox'],
      ['bob', 'pub ~alice.inbox {"msg":"hi"}'],
      ['bob', 'stats ~alice.inbox'],
      ['bob', 'events ~alice.inbox'],
      ['bob', 'grant ~alice.inbox carol'],
      ['alice', 'grant ~alice.inbox alice'],
      ['alice', 'grant ~alice.inbox bob sub'],
      ['bob', 'pub ~alice.inbox {"msg":"hi"}'],
      ['bob', 'create ~alice.inbox'],
      ['bob', 'delete ~alice.inbox'],
      ['carol', 'sub ~alice.inbox'],
      ['alice', 'grant ~alice.inbox carol pub'],
      ['carol', 'sub ~alice.inbox'],
      ['carol', 'pub ~alice.inbox {"id":"c1","msg":"from carol"}'],
      ['alice', 'grant ~alice.inbox carol sub'],
      ['alice', 'revoke ~alice.inbox carol pub'],
      ['carol', 'pub ~alice.inbox {"msg":"no"}'],
      ['alice', 'revoke ~alice.nothing bob'],
      ['alice', 'revoke ~bob.x bob'],
      ['alice', 'revoke ~alice.inbox dave'],
      ['alice', 'grant ~alice.inbox bob everything'],
      ['alice', 'grant ~alice.new bob sub'],
      ['bob', 'create ~bob.mine'],
      ['bob', 'pub ~bob.mine {"msg":"mine"}'],
      ['alice', 'sub ~bob.mine'],
      ['alice', 'sub open'],
    ]
    const single = await startTestBroker(t, { http: null, ...auth })
    const oneNode = { alice: await login(single, 'alice'), bob: await login(single, 'bob'), carol: await login(single, 'carol') }
    const cluster = { alice: await login(a, 'alice'), bob: await login(b, 'bob'), carol: await login(c, 'carol') }
    for (const [user, line] of steps) {
      const expected = (await oneNode[user].request(line)).replace(/"timestamp":\d+/g, '<ts>')
      t.equal((await cluster[user].request(line)).replace(/"timestamp":\d+/g, '<ts>'), expected, `${user}> ${line}`)
    }
    // What each saw listed: a private topic only to its owner and its grantees.
    const names = async (cl: LineClient): Promise<string[]> => (JSON.parse((await cl.request('topics')).slice(3)) as Array<{ topic: string }>).map(x => x.topic).filter(x => x.startsWith('~'))
    t.same(await names(cluster.bob), ['~alice.inbox', '~alice.new', '~bob.mine'])
    t.same(await names(cluster.carol), ['~alice.inbox'])
    t.same(await names(cluster.alice), ['~alice.inbox', '~alice.new'])
  })

  await t.test('a grantee on another node receives; revoke ends its subscription there quietly', async t => {
    const alice = await login(a, 'alice')
    const bob = await login(b, 'bob')
    t.equal(await alice.request('grant ~alice.box bob sub'), 'OK bob may now sub on ~alice.box', 'a grant creates the topic')
    t.equal(await bob.request('sub ~alice.box'), 'OK subscribed to ~alice.box (max in flight 10)')
    t.equal(await alice.request('pub ~alice.box {"id":"s1","msg":"shared"}'), 'OK s1 published to ~alice.box (1 subscriber)')
    t.equal((await bob.event()).event.id, 's1', 'delivered across nodes')
    t.equal(await alice.request('revoke ~alice.box bob'), 'OK bob may now none on ~alice.box (1 subscription ended)')
    t.ok(await bob.quiet(300), 'no END line: a revoked subscription is forgotten quietly, as on one node')
    t.equal(await alice.request('pub ~alice.box {"msg":"private again"}'), 'OK 1 published to ~alice.box (0 subscribers)')
    t.ok(await bob.quiet(200), 'nothing delivered after the revoke')
    t.equal(await bob.request('sub ~alice.box'), 'ERR UNKNOWN_TOPIC topic ~alice.box does not exist; publish to it first')
    t.equal(await bob.request('ack ~alice.box s1'), 'ERR UNKNOWN_TOPIC topic ~alice.box does not exist', 'hidden again for every command')
    // Granted again: bob's node has forgotten the old subscription (not ALREADY_SUBSCRIBED), the new one starts afresh.
    await alice.request('grant ~alice.box bob')
    t.equal(await bob.request('sub ~alice.box'), 'OK subscribed to ~alice.box (max in flight 10)')
    t.ok(await bob.quiet(200), 'the unacked s1 was dropped with the revoked subscription')
    t.equal(await bob.request('pub ~alice.box {"id":"s3","msg":"mine"}'), 'OK s3 published to ~alice.box (1 subscriber)')
    t.equal((await bob.event()).event.id, 's3')
  })

  await t.test('revoke pub keeps the subscription; revoke sub ends it', async t => {
    const alice = await login(a, 'alice')
    const bob = await login(c, 'bob')
    await alice.request('grant ~alice.half bob')
    await bob.request('sub ~alice.half')
    t.equal(await alice.request('revoke ~alice.half bob pub'), 'OK bob may now sub on ~alice.half')
    t.equal(await bob.request('pub ~alice.half {"msg":1}'), 'ERR FORBIDDEN user bob may not publish to ~alice.half')
    await alice.request('pub ~alice.half {"id":"h1","msg":1}')
    t.equal((await bob.event()).event.id, 'h1', 'still subscribed')
    t.equal(await alice.request('revoke ~alice.half bob sub'), 'OK bob may now none on ~alice.half (1 subscription ended)')
  })

  await t.test('revoke ends a named subscription waiting for its client, wherever it was made', async t => {
    const alice = await login(a, 'alice')
    await alice.request('grant ~alice.named bob sub')
    const bob = await login(b, 'bob')
    t.equal(await bob.request('name bob-reader'), 'OK named bob-reader')
    t.equal(await bob.request('sub ~alice.named'), 'OK subscribed to ~alice.named (max in flight 10)')
    bob.destroy()
    await alice.request('pub ~alice.named {"id":"w1","msg":"waits"}')
    t.equal(await alice.request('revoke ~alice.named bob'), 'OK bob may now none on ~alice.named (1 subscription ended)')
    await alice.request('grant ~alice.named bob sub')
    const back = await login(c, 'bob')
    let reply = await back.request('name bob-reader')
    for (let i = 0; i < 50 && reply.startsWith('ERR NAME_IN_USE'); i++) { // the old connection's lease is released as it closes
      await new Promise(resolve => setTimeout(resolve, 50))
      reply = await back.request('name bob-reader')
    }
    t.equal(reply, 'OK named bob-reader')
    t.equal(await back.request('sub ~alice.named'), 'OK subscribed to ~alice.named (max in flight 10)', 'a new subscription, not resumed')
    t.ok(await back.quiet(300), 'what the ended subscription was owed is gone with it')
  })

  await t.test('revoke takes a grantee\'s members out of a group; what they held goes to the others', async t => {
    const alice = await login(a, 'alice')
    await alice.request('grant ~alice.jobs bob sub')
    await alice.request('grant ~alice.jobs carol sub')
    const bob = await login(b, 'bob')
    const carol = await login(c, 'carol')
    t.equal(await bob.request('sub ~alice.jobs 1 group=w'), 'OK subscribed to ~alice.jobs (group w, max in flight 1)')
    t.equal(await carol.request('sub ~alice.jobs 1 group=w'), 'OK subscribed to ~alice.jobs (group w, max in flight 1, 2 members, 0 pending)')
    await alice.request('pub ~alice.jobs {"id":"j1","msg":1}')
    await alice.request('pub ~alice.jobs {"id":"j2","msg":2}')
    const first = await bob.event()
    const second = await carol.event()
    t.same([first.event.id, second.event.id].sort(), ['j1', 'j2'])
    t.equal(await alice.request('revoke ~alice.jobs bob'), 'OK bob may now none on ~alice.jobs (1 subscription ended)')
    t.equal(await carol.request(`ack ~alice.jobs ${String(second.event.id)}`), `OK acked ${String(second.event.id)} on ~alice.jobs`)
    const moved = await carol.event()
    t.equal(moved.event.id, first.event.id, 'bob\'s unacked event went back to the group')
    t.equal(moved.event.deliveries, 2)
    t.ok(await bob.quiet(300), 'bob is out, quietly')
    const stats = JSON.parse((await alice.request('stats ~alice.jobs')).slice(3)) as { subscribers: Array<{ members?: unknown[] }> }
    t.equal(stats.subscribers[0].members?.length, 1, 'one member left')
  })

  await t.test('the grant is checked in the same script as the change (a revoke between gate and script)', async t => {
    const alice = await login(a, 'alice')
    await alice.request('grant ~alice.race bob pub')
    const node = b.broker.cluster!
    const prefix = 'ackline:{~alice.race}:t:~alice.race:'
    const sub = await node.store.run('acklineSubscribeGranted', '~alice.race', ['a:x:1', 'x/1', '', '', 0, 10, 30000, 'next', 0, 0, 'bob', 'sub'], false)
    t.same(sub, [-4], 'a grant without the right: refused')
    const none = await node.store.run('acklinePublishGranted', '~alice.race', ['{"id":', ',"msg":1,"timestamp":1,"offset":', '', 0, 60000, 1000, 'carol', 'pub'], false)
    t.same(none, [-3], 'no grant: refused')
    t.equal(await node.store.redis.exists(prefix + 's:a:x:1:m'), 0, 'no subscription was made')
    t.match(await alice.request('events ~alice.race'), /"events":\[\]\}$/, 'nothing was published')
  })

  await t.test('delete takes the grants with the topic; grant is within maxTopics over the cluster', async t => {
    const alice = await login(a, 'alice')
    const bob = await login(b, 'bob')
    await alice.request('grant ~alice.tmp bob')
    t.equal(await bob.request('sub ~alice.tmp'), 'OK subscribed to ~alice.tmp (max in flight 10)')
    t.equal(await alice.request('delete ~alice.tmp'), 'OK deleted ~alice.tmp')
    t.equal(await bob.next(), 'END ~alice.tmp deleted')
    t.equal(await alice.request('create ~alice.tmp'), 'OK created ~alice.tmp')
    t.equal(await bob.request('sub ~alice.tmp'), 'ERR UNKNOWN_TOPIC topic ~alice.tmp does not exist; publish to it first', 'the old grant went with the topic')

    const count = (JSON.parse((await alice.request('topics')).slice(3)) as unknown[]).length + (JSON.parse((await bob.request('topics')).slice(3)) as Array<{ topic: string }>).filter(x => x.topic.startsWith('~bob.')).length
    const limited: TestNode = await startNode(t, rc, {}, { ...auth, maxTopics: count + 1 })
    const owner = await login(limited, 'alice')
    t.equal(await owner.request('grant ~alice.lim1 bob'), 'OK bob may now pub,sub on ~alice.lim1', 'up to the limit')
    t.equal(await owner.request('grant ~alice.lim2 bob'), `ERR TOO_MANY_TOPICS the broker is at its limit of ${count + 1} topics (maxTopics); topic ~alice.lim2 was not created`)
    t.equal(await owner.request('grant ~alice.lim1 carol sub'), 'OK carol may now sub on ~alice.lim1', 'an existing topic is not limited')
  })
})
