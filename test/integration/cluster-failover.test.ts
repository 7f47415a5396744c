import t from 'tap'
import { LineClient } from '../helpers/broker'
import { startRedisCluster } from '../helpers/redisCluster'
import { type AcklineNode, checkPayloads, CountingPublisher, FAST_EXPIRY, masterOfTag, NamedConsumer, processTestSkip, startAcklineNode, until } from '../helpers/acklineCluster'

// Cluster mode (#16) when a Redis master dies, with real processes: Ackline nodes started by `node dist/cli.js
// start --cluster …` on a 3-master + 3-replica Redis Cluster (test/helpers/redisCluster.ts); the master of the
// topic's slot is killed with kill -9 while a publisher publishes.
// Each test is bounded (publishers send a fixed number of events; every wait has a deadline).
const skip = processTestSkip

t.test('kill -9 of the Redis master of a topic during publishing: failover, confirmed events lost counted (0 with WAIT 1)', { skip }, async (t) => {
  const rc = await startRedisCluster(t)
  const nodes: AcklineNode[] = []
  for (let i = 0; i < 2; i++) nodes.push(await startAcklineNode(t, rc, { ...FAST_EXPIRY, waitReplicas: 1 }))
  const [a, b] = nodes
  const topic = 'failover'
  const master = await masterOfTag(rc, topic)
  const admin = await LineClient.connect(a.port)
  t.teardown(() => admin.destroy())
  t.match(await admin.request(`create ${topic}`), /^OK created/)
  // ack timeout 3 s: an ack lost with the master comes back as a redelivery within the test's time
  const consumer = new NamedConsumer(() => nodes, 'fo-worker', topic, { cap: 20, ackTimeoutMs: 3000 })
  t.teardown(() => consumer.stop())
  await consumer.start(b.port)

  const pub = new CountingPublisher(() => [a], topic, 4000, { window: 20, ratePerSec: 400 })
  t.teardown(() => pub.stop())
  const publishing = pub.start()
  await until(() => pub.confirmed.size >= 1000, '1000 confirmed publishes', 30_000, () => `${pub.confirmed.size} confirmed, errors ${pub.errors.join(' | ')}`)
  const sentAtKill = pub.sent
  await rc.killMaster(master)
  const killedAt = Date.now()
  await rc.waitHealthy(30_000)
  t.comment(`Redis failover of ${master} done in ${Date.now() - killedAt} ms`)
  t.notOk(rc.masterPorts().includes(master), 'a replica was promoted')
  // The promoted master has no replica left, so WAIT 1 cannot succeed (NOT_REPLICATED) until the old
  // master comes back, as a replica of the new one: what an operator does after a failover.
  await rc.startNode(master)
  await rc.waitHealthy(30_000)
  t.comment(`old master ${master} back as a replica ${Date.now() - killedAt} ms after the kill`)
  await publishing
  t.equal(pub.confirmed.size + pub.unconfirmed.size, 4000, 'every publish answered (or lost with its connection)')
  const confirmedAfter = [...pub.confirmed].filter(id => Number(id.slice(1)) >= sentAtKill + 500)
  t.ok(confirmedAfter.length > 0, `publishing goes on after the failover (${confirmedAfter.length} confirmed among the last ones)`)
  t.ok(nodes.every(n => n.running()), 'both Ackline nodes survived the failover')

  // Loss: a publish confirmed with OK that the subscriber never received.
  const lost = (): string[] => { const seen = new Set(consumer.seen.map(s => s.id)); return [...pub.confirmed].filter(id => !seen.has(id)) }
  await until(() => lost().length === 0, 'every confirmed event delivered', 30_000, () => `${lost().length} never delivered, e.g. ${lost().slice(0, 5).join(' ')}`)
  t.comment(`Redis master kill -9 (WAIT 1): ${pub.confirmed.size} confirmed, ${pub.unconfirmed.size} refused (${[...new Set(pub.errors.map(e => e.split(' ').slice(0, 2).join(' ')))].join(', ')}), confirmed lost: ${lost().length}`)
  t.equal(lost().length, 0, 'no confirmed event lost')

  // And the stream settles: every confirmed event acked (acks refused during the failover are retried),
  // and the subscription ends up holding nothing.
  const open = (): string[] => [...pub.confirmed].filter(id => !consumer.acked.has(id) && !consumer.settled.has(id))
  await until(() => open().length === 0, 'every confirmed event acked', 60_000, () =>
    `${open().length} confirmed not acked (${open().slice(0, 5).map(id => `${id}: deliveries ${consumer.seen.filter(s => s.id === id).map(s => s.deliveries).join('/')}`).join(', ')}); ack errors: ${consumer.errors.slice(-3).join(' | ')}`)
  const pending = async (): Promise<number> => (JSON.parse((await admin.request('topics')).slice(3)) as Array<{ topic: string, pending: number }>).find(x => x.topic === topic)!.pending
  let left = await pending()
  for (const deadline = Date.now() + 30_000; left !== 0 && Date.now() < deadline; left = await pending()) await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(left, 0, 'the subscription holds nothing once everything is acked')
  checkPayloads(t, pub, consumer)
})
