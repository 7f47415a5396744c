import t from 'tap'
import { LineClient } from '../helpers/broker'
import { startRedisCluster } from '../helpers/redisCluster'
import { type AcklineNode, checkPayloads, CountingPublisher, FAST_EXPIRY, NamedConsumer, processTestSkip, startAcklineNode, until } from '../helpers/acklineCluster'

// Cluster mode (#16) under faults, with real processes: Ackline nodes started by `node dist/cli.js start
// --cluster …` on a 3-master + 3-replica Redis Cluster (test/helpers/redisCluster.ts), killed with kill -9.
// Each test is bounded (publishers send a fixed number of events; every wait has a deadline).
const skip = processTestSkip

t.test('kill -9 of Ackline nodes mid-stream: no confirmed event lost, the named subscriber resumes elsewhere with its unacked events', { skip }, async (t) => {
  const rc = await startRedisCluster(t)
  const nodes: AcklineNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startAcklineNode(t, rc, FAST_EXPIRY))
  const [a, b] = nodes
  const topic = 'faults'
  const consumer = new NamedConsumer(() => nodes, 'worker-1', topic, { cap: 10 })
  t.teardown(() => consumer.stop())
  // the topic exists before the subscriber's first `sub` (a publish creates it)
  const admin = await LineClient.connect(a.port)
  t.teardown(() => admin.destroy())
  t.match(await admin.request(`create ${topic}`), /^OK created/)
  await consumer.start(b.port)
  t.same(consumer.ports, [b.port], 'the subscriber starts on node B')

  // More events than the test needs (50 s at 400/s): it stops the publisher once it went on through another
  // node, so the kill of A always comes while the publisher publishes, however long the first part took.
  const pub = new CountingPublisher(() => nodes, topic, 20_000, { window: 20, ratePerSec: 400 })
  t.teardown(() => pub.stop())
  const publishing = pub.start()
  await until(() => consumer.acked.size >= 300, 'the first 300 acks', 30_000, () => `${consumer.acked.size} acked, ${pub.confirmed.size} confirmed, errors ${pub.errors.join(' | ')}`)

  // Hold the next deliveries unacked, wait until every ack sent has its OK, then kill the subscriber's node.
  consumer.pause()
  await until(() => consumer.held.length >= 5 && consumer.unansweredAcks === 0, '5 held deliveries', 15_000)
  const ackedBeforeKill = new Set(consumer.acked)
  await b.kill()
  const held = consumer.release()
  const seenBeforeKill = consumer.seen.length
  t.ok(held.length >= 5, `${held.length} events delivered and left unacked on the killed node`)

  // The subscriber reconnects to C (A, B's successor in its list, is the publisher's; B is dead).
  await until(() => consumer.ports.length === 2, 'the subscriber to resume on another node', 30_000, () => `${consumer.errors.join(' | ')}`)
  t.not(consumer.ports[1], b.port, `resumed on node ${consumer.ports[1]}`)
  t.match(consumer.subReplies[1], /resumed with \d+ pending/, 'the resumed subscription says what it holds')
  const after = (): typeof consumer.seen => consumer.seen.slice(seenBeforeKill)
  await until(() => held.every(h => after().some(s => s.id === h.id)), 'the held events to come back', 15_000)
  for (const h of held) {
    const again = after().find(s => s.id === h.id)!
    t.equal(again.deliveries, h.deliveries + 1, `${h.id}: redelivered with deliveries ${h.deliveries} → ${again.deliveries}`)
  }

  // Now kill the publisher's node while it publishes: it goes on through another node.
  await until(() => consumer.acked.size >= ackedBeforeKill.size + 300, '300 more acks', 30_000)
  t.ok(pub.sent < pub.total, `the publisher is still publishing (${pub.sent} sent) when node A is killed`)
  await a.kill()
  const confirmedAtKill = pub.confirmed.size
  await until(() => pub.ports.length >= 2 && pub.confirmed.size >= confirmedAtKill + 300, 'the publisher to go on through another node', 30_000,
    () => `${pub.confirmed.size} confirmed, ports ${pub.ports.join(',')}, errors ${pub.errors.join(' | ')}`)
  pub.stop()
  await publishing
  t.ok(pub.ports[0] === a.port && pub.ports.at(-1) !== a.port, `the publisher moved from node A to ${pub.ports.at(-1)}`)
  t.equal(pub.confirmed.size + pub.unconfirmed.size, pub.sent, 'every publish sent was answered or counted as unconfirmed')
  // Unconfirmed: at most one window when A died and one when the publisher was stopped.
  t.ok(pub.unconfirmed.size <= 40, `${pub.confirmed.size} publishes confirmed, ${pub.unconfirmed.size} unconfirmed (sent when a node died or at the stop)`)

  const lost = (): string[] => [...pub.confirmed].filter(id => !consumer.acked.has(id))
  await until(() => lost().length === 0, 'every confirmed event acked', 60_000, () => `${lost().length} confirmed and not acked, e.g. ${lost().slice(0, 5).join(' ')}`)
  t.equal(lost().length, 0, 'zero confirmed events lost')
  t.comment(`Ackline kill -9: ${pub.confirmed.size} confirmed, ${pub.unconfirmed.size} unconfirmed, ${consumer.seen.length} deliveries, ${held.length} held and redelivered, 0 confirmed lost`)

  // An event acked with OK before the kill is not delivered again.
  const again = consumer.seen.slice(seenBeforeKill).filter(s => ackedBeforeKill.has(s.id))
  t.same(again.map(s => s.id), [], 'no event acked before the kill came back')
  checkPayloads(t, pub, consumer)
  t.same(consumer.errors, [], 'no ack refused')
})
