import t from 'tap'
import { waitFor } from '../helpers/broker'
import { startNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// Consumer groups in cluster mode (docs/protocol.md#consumer-groups, docs/cluster.md): one durable queue
// shared by members on different nodes, each member with its own cap, only the holder may settle.

t.test('cluster groups', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const a = await startNode(t, rc, { nodeTtlMs: 1000 })
  const b = await startNode(t, rc, { nodeTtlMs: 1000 })

  await t.test('members on two nodes share one queue, each under its own cap; leave and forget', async t => {
    const pub = await a.client()
    const m1 = await a.client()
    const m2 = await b.client()
    t.equal(await pub.request('pub jobs {"msg":"create"}'), 'OK 1 published to jobs (0 subscribers)')
    t.equal(await m1.request('sub jobs 1 group=workers'), 'OK subscribed to jobs (group workers, max in flight 1)')
    t.equal(await m2.request('sub jobs 2 group=workers'), 'OK subscribed to jobs (group workers, max in flight 2, 2 members, 0 pending)')
    for (const id of ['j1', 'j2', 'j3']) t.equal(await pub.request(`pub jobs {"id":"${id}","msg":0}`), `OK ${id} published to jobs (1 subscriber)`)
    // Three events, caps 1 + 2: each member fills its own slots, nothing goes to both.
    const events = (c: typeof m1): number => c.lines.filter(l => l.startsWith('EVENT ')).length
    await waitFor(() => events(m1) + events(m2) === 3, 'three deliveries')
    await new Promise(resolve => setTimeout(resolve, 200))
    const got1 = m1.lines.filter(l => l.startsWith('EVENT '))
    const got2 = m2.lines.filter(l => l.startsWith('EVENT '))
    t.equal(got1.length, 1, 'member 1 holds its one slot')
    t.equal(got2.length, 2, 'member 2 holds its two')
    const ids1 = got1.map(l => (JSON.parse(l.slice('EVENT jobs '.length)) as { id: string }).id)
    const ids2 = got2.map(l => (JSON.parse(l.slice('EVENT jobs '.length)) as { id: string }).id)
    t.same([...ids1, ...ids2].sort(), ['j1', 'j2', 'j3'])
    for (let i = 0; i < 3; i++) await (i < 1 ? m1 : m2).next()

    t.equal(await m2.request(`ack jobs ${ids1[0]}`), `ERR NOT_IN_FLIGHT event "${ids1[0]}" is not in flight for you on jobs`, 'only the holder settles')
    t.equal(await m1.request(`ack jobs ${ids1[0]}`), `OK acked ${ids1[0]} on jobs`)
    t.equal(await m2.request('unsub jobs'), 'OK left group workers on jobs (2 unacked events back to the group)')
    const back = await m1.event()
    t.equal(back.event.deliveries, 2, 'given back: redelivered to the other member')
    t.ok(ids2.includes(back.event.id as string))
    t.equal(await m1.request(`ack jobs ${String(back.event.id)}`), `OK acked ${String(back.event.id)} on jobs`)
    const last = await m1.event()
    t.equal(last.event.deliveries, 2)
    t.equal(await pub.request('unsub jobs forget group=workers'), 'OK forgot group workers on jobs (1 unacked event dropped)')
    t.equal(await m1.next(), 'END jobs forgotten')
    t.equal(await pub.request('unsub jobs forget group=workers'), 'ERR NOT_SUBSCRIBED not subscribed to jobs (group workers)')
  })

  await t.test('a member whose node dies: what it held goes to the other members', async t => {
    const c = await startNode(t, rc, { nodeTtlMs: 1000 })
    const pub = await a.client()
    await pub.request('create tasks')
    const doomed = await c.client()
    t.equal(await doomed.request('sub tasks 1 60000 group=g'), 'OK subscribed to tasks (group g, max in flight 1)')
    await pub.request('pub tasks {"id":"t1","msg":0}')
    t.equal((await doomed.event()).event.id, 't1')
    const other = await b.client()
    t.equal(await other.request('sub tasks group=g'), 'OK subscribed to tasks (group g, max in flight 10, 2 members, 0 pending)')
    await c.crash()
    // The ack timeout is a minute; the reaper gives t1 back once node c's heartbeat has expired.
    const again = await other.event(8000)
    t.same([again.event.id, again.event.deliveries], ['t1', 2])
  })
})
