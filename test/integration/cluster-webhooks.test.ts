import t from 'tap'
import { startBroker } from '../../src/broker'
import { testHash } from '../helpers/auth'
import { waitFor } from '../helpers/broker'
import { startNode, type TestNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'
import { Receiver, verifyWithStandardWebhooks, type Received } from '../helpers/webhookReceiver'

// Webhooks in cluster mode (docs/cluster.md#webhooks): made on one node, fed by publishers on another,
// listed and ended on any, delivered by exactly one live node to a real HTTP receiver on 127.0.0.1, and
// taken over by a surviving node when the one delivering stops or dies.

const WAIT_MS = 15000

/** The JSON of a received request's body. */
function body (r: Received): Record<string, unknown> {
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>
}

/** Waits (bounded) until the receiver has `n` requests. */
async function received (r: Receiver, n: number, what: string): Promise<void> {
  await waitFor(() => r.received.length >= n, what, WAIT_MS)
}

t.test('cluster webhooks', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const cluster = { nodeTtlMs: 1000, pullIntervalMs: 100 }
  const config = { webhooks: { allowPrivateAddresses: true, retryScheduleMs: [100, 200], retryJitter: 0 } }
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, rc, cluster, config))
  const [a, b, c] = nodes
  const ca = await a.client()
  const cb = await b.client()
  const cc = await c.client()

  await t.test('made on A, fed on B: delivered byte for byte, signed; listed on every node; ended on C', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    t.equal(await cb.request('create wh1'), 'OK created wh1')
    t.equal(await cc.request('sub wh1'), 'OK subscribed to wh1 (max in flight 10)')
    const made = await ca.request(`webhook wh1 h1 ${rx.url()} 4`)
    t.match(made, /^OK \{"topic":"wh1","name":"h1","url":"http:\/\/127\.0\.0\.1:\d+\/hook","maxInFlight":4,"maxDeliveries":null,"secret":"whsec_[A-Za-z0-9+/=]+"\}$/)
    const secret = (JSON.parse(made.slice(3)) as { secret: string }).secret
    t.equal(await ca.request(`webhook wh1 h1 ${rx.url()}`), 'ERR WEBHOOK_EXISTS topic wh1 already has a webhook named h1; delete it first or pick another name')
    const payloads = ['{"id":"e1","msg":"héllo ✓"}', '{"msg":  "spaced" ,"n":[1, 2]}', '{"id":7,"priority":5,"msg":"\\u0041"}']
    for (const p of payloads) t.match(await cb.request(`pub wh1 ${p}`), /^OK \S+ published to /)
    await received(rx, 3, 'three deliveries')
    const seen: string[] = []
    for (let i = 0; i < 3; i++) {
      const line = await cc.next()
      seen.push(line.slice(line.indexOf('{')))
    }
    t.equal(await cc.request(`ack wh1 ${seen.map(e => String((JSON.parse(e) as { id: unknown }).id)).join(' ')}`), 'OK acked 3 on wh1')
    const bodies = rx.received.map(r => r.body.toString('utf8')).sort()
    t.same(bodies, [...seen].sort(), 'each body is the event a subscriber receives, byte for byte')
    for (const r of rx.received) {
      t.equal(r.method, 'POST')
      t.same(verifyWithStandardWebhooks(secret, r, Date.now()), JSON.parse(r.body.toString('utf8')), 'a valid Standard Webhooks signature')
    }
    for (const client of [ca, cb, cc]) {
      const list = await client.request('webhooks wh1')
      t.match(list, /^OK \[\{"topic":"wh1","name":"h1","url":"http:\/\/127\.0\.0\.1:\d+\/hook","maxInFlight":4,"maxDeliveries":null,/, 'listed on every node')
      t.notMatch(list, /whsec_/, 'never its secret')
    }
    await eventually(() => ca.request('webhooks wh1'), /"inFlight":0,.*"delivered":3,.*"pending":0\}\]$/)
    t.equal(await cc.request('unwebhook wh1 nope'), 'ERR UNKNOWN_WEBHOOK topic wh1 has no webhook named "nope"')
    t.equal(await cc.request('unwebhook wh1 h1'), 'OK deleted webhook h1 on wh1')
    t.equal(await ca.request('webhooks wh1'), 'OK []')
    t.match(await cb.request('pub wh1 {"msg":"after"}'), /^OK \S+ published to /)
    t.match(await cc.next(), /"msg":"after"/, 'the subscriber gets it')
    t.ok(await cc.quiet(300), 'nothing else')
    t.equal(rx.received.length, 3, 'the ended webhook delivers no more')
    t.equal(await cc.request('unsub wh1'), 'OK unsubscribed from wh1 (1 unacked event dropped)')
  })

  await t.test('a failing receiver gets retries with deliveries counted, then the event is acked', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    rx.plan = [{ status: 500 }, { status: 503 }]
    t.equal(await cb.request('create wh2'), 'OK created wh2')
    t.match(await ca.request(`webhook wh2 h2 ${rx.url()}`), /^OK /)
    t.match(await cc.request('pub wh2 {"id":"r1","msg":"retry me"}'), /^OK \S+ published to /)
    await received(rx, 3, 'two failures and a success')
    t.same(rx.received.map(r => body(r).deliveries), [undefined, 2, 3], 'deliveries incremented on each retry')
    t.same(new Set(rx.received.map(r => r.headers['webhook-id'])).size, 1, 'one message id for every attempt')
    const listing = await eventually(() => cb.request('webhooks wh2'), /"delivered":1,.*"pending":0\}\]$/)
    t.match(listing, /"inFlight":0,"consecutiveFailures":0,.*"attempts":3,"delivered":1,"failed":2,.*"pending":0\}\]$/, 'listed on another node with its holder\'s counts')
  })

  await t.test('maxDeliveries: the last failed delivery dead-letters the event to <topic>.dlq, as on one node', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    rx.plan = [{ status: 500 }, { status: 500 }]
    t.equal(await cb.request('create wh5'), 'OK created wh5')
    t.match(await ca.request(`webhook wh5 w ${rx.url()} 3 2`), /^OK \{"topic":"wh5","name":"w","url":"[^"]+","maxInFlight":3,"maxDeliveries":2,/)
    t.match(await cc.request('pub wh5 {"id":"j1","msg":"poison"}'), /^OK \S+ published to /)
    await received(rx, 2, 'two failed deliveries')
    await eventually(() => cc.request('webhooks wh5'), /"inFlight":0,.*"pending":0\}\]$/)
    const dl = await c.client()
    t.equal(await dl.request('name dead-letters'), 'OK named dead-letters')
    t.match(await dl.request('sub wh5.dlq'), /^OK subscribed/)
    const dead = JSON.parse((await dl.next()).replace(/^EVENT \S+ /, '')) as { msg: string, deadLetter: Record<string, unknown> }
    t.equal(dead.msg, 'poison')
    t.match(dead.deadLetter, { topic: 'wh5', id: 'j1', subscriber: 'webhook:w', reason: /^webhook w: HTTP 500/, deliveries: 2 })
    t.equal(await ca.request('unwebhook wh5 w'), 'OK deleted webhook w on wh5')
  })

  await t.test('a 410 disables the webhook in Redis: another node lists it disabled, the event kept', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    rx.plan = [{ status: 410 }]
    t.equal(await cb.request('create wh4'), 'OK created wh4')
    t.match(await ca.request(`webhook wh4 h4 ${rx.url()}`), /^OK /)
    t.match(await cb.request('pub wh4 {"id":"g1","msg":"gone"}'), /^OK \S+ published to /)
    await received(rx, 1, 'the attempt answered 410')
    const want = `"disabled":true,"disabledReason":"http://127.0.0.1:${rx.port} answered 410 Gone",`
    const listing = await eventually(() => cc.request('webhooks wh4'), new RegExp(`${want.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*"pending":1\\}\\]$`))
    t.ok(listing.includes(want) && listing.endsWith('"pending":1}]'), `disabled on every node, its event pending: ${listing}`)
    t.match(await cb.request('pub wh4 {"id":"g2","msg":"gone too"}'), /^OK \S+ published to /)
    t.ok(await cc.quiet(300))
    t.equal(rx.received.length, 1, 'a disabled webhook sends nothing')
    t.equal(await ca.request('unwebhook wh4 h4'), 'OK deleted webhook h4 on wh4 (2 undelivered events dropped)')
  })

  await t.test('the delivering node dies: another takes the webhook over and redelivers what it had in flight', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    rx.plan = ['hang']
    t.equal(await cb.request('create wh3'), 'OK created wh3')
    t.match(await ca.request(`webhook wh3 h3 ${rx.url()}`), /^OK /) // A takes it as it makes it
    t.match(await cb.request('pub wh3 {"id":"k1","msg":"in flight when A dies"}'), /^OK \S+ published to /)
    await received(rx, 1, 'the first attempt, from A')
    await a.crash()
    t.match(await cb.request('pub wh3 {"id":"k2","msg":"published while nobody delivers"}'), /^OK \S+ published to /)
    await received(rx, 3, 'both events from the node that took over')
    const after = rx.received.slice(1).map(body)
    t.same(after.map(e => [e.id, e.deliveries]).sort(), [['k1', 2], ['k2', undefined]], 'the unacked event again with deliveries 2, then the next')
    t.ok(await cc.request('webhooks wh3').then(l => l.startsWith('OK [{"topic":"wh3","name":"h3"')))

    // A clean stop hands it over too: whoever holds it now stops, the last node takes it.
    const holder = await waitForHolder(rc, 'wh3', 'h3')
    const [stopping, staying] = holder.startsWith(b.broker.cluster!.id) ? [b, c] : [c, b]
    const stayingClient = staying === b ? cb : cc
    await stopping.stop()
    t.match(await stayingClient.request('pub wh3 {"id":"k3","msg":"after the stop"}'), /^OK \S+ published to /)
    await received(rx, 4, 'the event after the clean stop, from the last node')
    t.same(rx.received.slice(3).map(r => body(r).id), ['k3'], 'only the new event: k1 and k2 were acked')
    t.equal(await stayingClient.request('unwebhook wh3 h3'), 'OK deleted webhook h3 on wh3')
  })

  await t.test('on a private topic: a grantee\'s webhook, ended by revoke on every node, as on one node', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    const users = { alice: { passwordHash: testHash('alice-pw-1') }, bob: { passwordHash: testHash('bob-pw-1') } }
    const d = await startNode(t, rc, cluster, { ...config, auth: { required: true, users } })
    const alice = await d.client()
    const bob = await d.client()
    t.equal(await alice.request('auth alice alice-pw-1'), 'OK authenticated as alice')
    t.equal(await bob.request('auth bob bob-pw-1'), 'OK authenticated as bob')
    t.match(await alice.request('pub ~alice.hooks {"id":"p0","msg":"first"}'), /^OK /)
    t.match(await bob.request(`webhook ~alice.hooks bh ${rx.url()}`), /^ERR UNKNOWN_TOPIC/, 'not granted: hidden, as on one node')
    t.match(await alice.request('grant ~alice.hooks bob sub'), /^OK /)
    t.match(await bob.request(`webhook ~alice.hooks bh ${rx.url()}`), /^OK \{"topic":"~alice\.hooks","name":"bh"/)
    t.match(await alice.request('pub ~alice.hooks {"id":"p1","msg":"for bob"}'), /^OK /)
    await received(rx, 1, 'the grantee\'s webhook delivers')
    t.equal(body(rx.received[0]).id, 'p1')
    t.match(await alice.request('revoke ~alice.hooks bob'), /^OK bob may now /)
    t.equal(await alice.request('webhooks ~alice.hooks'), 'OK []', 'revoke ended it')
    t.match(await alice.request('pub ~alice.hooks {"id":"p2","msg":"not for bob"}'), /^OK /)
    t.ok(await alice.quiet(300))
    t.equal(rx.received.length, 1, 'nothing after the revoke')
  })

  await t.test('HTTP: POST, GET and DELETE /topics/:topic/webhooks on a node with HTTP run the cluster handlers', async t => {
    const rx = await Receiver.start()
    t.teardown(() => rx.close())
    const web = await startBroker({ overrides: { ...config, port: 0, host: '127.0.0.1', http: { port: 0, host: '127.0.0.1' }, cluster: { redis: rc.urls, ...cluster } } })
    t.teardown(() => web.stop())
    const base = `http://127.0.0.1:${web.httpAddress!.port}`
    const call = async (method: string, path: string, body?: string): Promise<[number, string]> => {
      const res = await fetch(base + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } })
      return [res.status, await res.text()]
    }
    // Nodes A and B were stopped above: a fresh node publishes and checks the listing.
    const d = await startNode(t, rc, cluster, config)
    const cd = await d.client()
    t.equal(await cd.request('create wh9'), 'OK created wh9')
    const [status, made] = await call('POST', '/topics/wh9/webhooks', JSON.stringify({ name: 'h9', url: rx.url(), maxInFlight: 2 }))
    t.equal(status, 201, made)
    t.match(made, /^\{"topic":"wh9","name":"h9","url":"http:\/\/127\.0\.0\.1:\d+\/hook","maxInFlight":2,"maxDeliveries":null,"secret":"whsec_/)
    const [again, exists] = await call('POST', '/topics/wh9/webhooks', JSON.stringify({ name: 'h9', url: rx.url() }))
    t.same([again, (JSON.parse(exists) as { error: { code: string } }).error.code], [409, 'WEBHOOK_EXISTS'])
    t.match(await cd.request('pub wh9 {"id":"x1","msg":"over HTTP-made webhook"}'), /^OK x1 published to wh9/)
    await received(rx, 1, 'the delivery')
    t.equal(body(rx.received[0]).msg, 'over HTTP-made webhook', 'published over TCP on another node, delivered to the HTTP-made webhook')
    const [listed, list] = await call('GET', '/topics/wh9/webhooks')
    t.equal(listed, 200)
    t.match(list, /^\[\{"topic":"wh9","name":"h9",/)
    t.notMatch(list, /whsec_/, 'never its secret')
    t.same(await call('DELETE', '/topics/wh9/webhooks/h9'), [200, '{"topic":"wh9","name":"h9","dropped":0}'])
    t.equal(await cd.request('webhooks wh9'), 'OK []', 'gone on the other node too')
    const [missing, none] = await call('DELETE', '/topics/wh9/webhooks/h9')
    t.same([missing, (JSON.parse(none) as { error: { code: string } }).error.code], [404, 'UNKNOWN_WEBHOOK'])
  })
})

/** Asks until the answer matches (bounded); returns the last answer. */
async function eventually (ask: () => Promise<string>, want: RegExp): Promise<string> {
  const deadline = Date.now() + WAIT_MS
  let last = await ask()
  while (!want.test(last) && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50))
    last = await ask()
  }
  return last
}

/** The consumer id holding a webhook's lease (`<node>/w:<name>`), once one does. */
async function waitForHolder (rc: { cli: (port: number, ...args: string[]) => Promise<string>, masterPorts: () => number[] }, topic: string, name: string): Promise<string> {
  const key = `ackline:{names}:n:w:${topic} ${name}`
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    for (const port of rc.masterPorts()) {
      const v = (await rc.cli(port, 'GET', key).catch(() => '')).trim()
      if (v !== '' && !v.startsWith('MOVED')) return v
    }
    if (Date.now() > deadline) throw new Error('no node holds the webhook')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
