import t from 'tap'
import { startTestBroker, type LineClient } from '../helpers/broker'
import { startLoggedBroker, testHash } from '../helpers/auth'

/** The events a client got, as `topic id` strings, until it is quiet. */
async function drained (c: LineClient): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    let line: string
    try {
      line = await c.next(200)
    } catch {
      return out
    }
    const m = /^EVENT (\S+) (.*)$/.exec(line)
    if (m === null) throw new Error(`expected an EVENT, got ${line}`)
    out.push(`${m[1]} ${String(JSON.parse(m[2]).msg)}`)
  }
}

t.test('fanout: every bound topic gets the event once, with one id', async t => {
  const b = await startTestBroker(t)
  const admin = await b.client()
  const reader = await b.client()
  for (const topic of ['a', 'b']) t.match(await admin.request(`pub ${topic} {"msg":"create"}`), /^OK /)
  t.equal(await reader.request('sub a 10'), 'OK subscribed to a (max in flight 10)')
  t.equal(await reader.request('sub b 10'), 'OK subscribed to b (max in flight 10)')
  t.equal(await admin.request('exchange fan fanout'), 'OK exchange fan (fanout) declared')
  t.equal(await admin.request('exchange fan fanout'), 'OK exchange fan (fanout) exists')
  t.equal(await admin.request('exchange fan direct'), 'ERR EXCHANGE_TYPE exchange fan is a fanout exchange already; an exchange keeps its type')
  t.equal(await admin.request('bind fan a'), 'OK bound a to fan')
  t.equal(await admin.request('bind fan b'), 'OK bound b to fan')
  t.equal(await admin.request('bind fan b'), 'OK b already bound to fan')
  t.equal(await admin.request('bind fan b extra'), 'OK bound b to fan with key extra', 'a second binding of b')
  t.equal(await admin.request('route fan any.key {"id":"f1","msg":"hello"}'), 'OK f1 routed to 2 topics')
  const got = await drained(reader)
  t.same(got.sort(), ['a hello', 'b hello'], 'each topic once, though b has two bindings')
  const reply = await admin.request('route fan k {"msg":"no id"}')
  const m = /^OK ([0-9a-f-]{36}) routed to 2 topics$/.exec(reply)
  t.ok(m, `a broker-made id: ${reply}`)
  const evs = [await reader.event(), await reader.event()]
  t.same(evs.map(e => e.event.id), [m![1], m![1]], 'the same id in both topics')
  t.equal(await reader.request(`ack a ${m![1]}`), `OK acked ${m![1]} on a`)
})

t.test('direct: equal keys only; 0 topics, or ERR UNROUTABLE under mandatory=1', async t => {
  const b = await startTestBroker(t)
  const c = await b.client()
  t.equal(await c.request('exchange logs direct'), 'OK exchange logs (direct) declared')
  t.equal(await c.request('bind logs errors'), 'ERR BAD_KEY a direct exchange needs a binding key: bind <exchange> <topic> <binding-key>')
  t.equal(await c.request('bind logs errors error.*'), 'ERR BAD_KEY invalid binding key "error.*": a direct exchange matches keys exactly: "*" and "#" are for topic exchanges')
  t.equal(await c.request('bind logs errors error'), 'OK bound errors to logs with key error')
  t.equal(await c.request('bind logs all error'), 'OK bound all to logs with key error')
  t.equal(await c.request('bind logs all info'), 'OK bound all to logs with key info')
  t.equal(await c.request('route logs error {"id":1,"msg":"disk"}'), 'OK 1 routed to 2 topics', 'topics are created by the route')
  t.equal(await c.request('route logs info {"id":2,"msg":"boot"}'), 'OK 2 routed to 1 topic')
  t.equal(await c.request('route logs debug {"id":3,"msg":"noise"}'), 'OK 3 routed to 0 topics')
  t.equal(await c.request('route logs debug {"id":4,"msg":"noise"} mandatory=1'), 'ERR UNROUTABLE no binding of exchange logs matches routing key "debug"; nothing was published (mandatory=1)')
  t.equal(await c.request('route logs info {"id":5,"msg":"x"} mandatory=1'), 'OK 5 routed to 1 topic')
  t.equal(await c.request('route logs info {"id":6,"msg":"x"} mandatory=0'), 'OK 6 routed to 1 topic')
  const stats = (name: string): number => b.broker.store.topic(name)!.nextOffset - 1
  t.equal(stats('errors'), 1)
  t.equal(stats('all'), 4)
  t.equal(await c.request('unbind logs all info'), 'OK unbound all from logs with key info')
  t.equal(await c.request('unbind logs all info'), 'ERR NOT_BOUND exchange logs has no binding of all with key info')
  t.match(await c.request('route logs info {"msg":"x"}'), /^OK \S+ routed to 0 topics$/)
  t.equal(await c.request('route nope k {"msg":"x"}'), 'ERR UNKNOWN_EXCHANGE exchange nope does not exist; declare it with exchange <name> fanout|direct|topic')
  t.equal(await c.request('route logs k {"msg":1'), 'ERR BAD_JSON event is not valid JSON (error at character 9)')
  t.equal(await c.request('route logs bad/key {"msg":1}'), 'ERR BAD_KEY invalid routing key "bad/key": use 1-200 characters of A-Z a-z 0-9 . _ -')
  t.equal(await c.request('exchange bad/name fanout'), 'ERR BAD_EXCHANGE invalid exchange name "bad/name": use 1-200 characters of A-Z a-z 0-9 . _ -')
  t.equal(await c.request('exchange x headers'), 'ERR BAD_ARGS exchange type must be fanout, direct or topic, got "headers"')
  t.equal(await c.request('route logs'), 'ERR BAD_ARGS missing routing key; usage: route <exchange> <routing-key> <event-json> [mandatory=1]')
})

t.test('topic: RabbitMQ * and # matching, overlapping bindings deliver once', async t => {
  const b = await startTestBroker(t)
  const c = await b.client()
  const r = await b.client()
  t.equal(await c.request('exchange market topic'), 'OK exchange market (topic) declared')
  t.equal(await c.request('bind market eu orders.eu.*'), 'OK bound eu to market with key orders.eu.*')
  t.equal(await c.request('bind market eu orders.#'), 'OK bound eu to market with key orders.#')
  t.equal(await c.request('bind market paid #.paid'), 'OK bound paid to market with key #.paid')
  t.equal(await c.request('bind market x orders.eu*'), 'ERR BAD_KEY invalid binding key "orders.eu*": "*" and "#" must be whole words, got "eu*"')
  for (const topic of ['eu', 'paid']) t.match(await c.request(`pub ${topic} {"msg":"create"}`), /^OK /)
  t.match(await r.request('sub eu 100'), /^OK/)
  t.match(await r.request('sub paid 100'), /^OK/)
  t.equal(await c.request('route market orders.eu.paid {"msg":"m1"}').then(l => l.replace(/^OK \S+/, 'OK id')), 'OK id routed to 2 topics')
  t.equal(await c.request('route market orders {"msg":"m2"}').then(l => l.replace(/^OK \S+/, 'OK id')), 'OK id routed to 1 topic', '# matches zero words')
  t.equal(await c.request('route market refunds.paid {"msg":"m3"}').then(l => l.replace(/^OK \S+/, 'OK id')), 'OK id routed to 1 topic')
  t.equal(await c.request('route market stock.nyse {"msg":"m4"}').then(l => l.replace(/^OK \S+/, 'OK id')), 'OK id routed to 0 topics')
  t.same((await drained(r)).sort(), ['eu m1', 'eu m2', 'paid m1', 'paid m3'], 'eu gets m1 once though two bindings match it')
  const list = await c.request('exchanges')
  t.same(JSON.parse(list.slice(3)), [{ name: 'market', type: 'topic', bindings: [{ topic: 'eu', key: 'orders.eu.*' }, { topic: 'eu', key: 'orders.#' }, { topic: 'paid', key: '#.paid' }] }])
})

t.test('route is all or nothing: a full queue on one topic refuses the event for every topic', async t => {
  const b = await startTestBroker(t, { maxPendingPerSubscriber: 1 })
  const c = await b.client()
  const r = await b.client()
  t.equal(await c.request('exchange f fanout'), 'OK exchange f (fanout) declared')
  t.equal(await c.request('bind f one'), 'OK bound one to f')
  t.equal(await c.request('bind f two'), 'OK bound two to f')
  t.match(await c.request('route f k {"id":"e1","msg":1}'), /^OK e1 routed to 2 topics$/)
  t.match(await r.request('sub two 1'), /^OK/)
  t.match(await c.request('pub two {"id":"e2","msg":2}'), /^OK e2 published to two \(1 subscriber\)$/)
  t.match(await c.request('route f k {"id":"e3","msg":3}'), /^ERR QUEUE_FULL /)
  t.equal(b.broker.store.topic('one')!.nextOffset, 2, 'topic one did not get e3 either')
})

t.test('limits: maxExchanges and maxBindingsPerExchange at their edge', async t => {
  const b = await startTestBroker(t, { maxExchanges: 2, maxBindingsPerExchange: 2 })
  const c = await b.client()
  t.match(await c.request('exchange x1 fanout'), /^OK/)
  t.match(await c.request('exchange x2 fanout'), /^OK/)
  t.equal(await c.request('exchange x3 fanout'), 'ERR TOO_MANY_EXCHANGES the broker is at its limit of 2 exchanges (maxExchanges); exchange x3 was not declared')
  t.match(await c.request('exchange x2 fanout'), /^OK exchange x2 \(fanout\) exists$/, 'declaring an existing one is no new exchange')
  t.match(await c.request('bind x1 a'), /^OK/)
  t.match(await c.request('bind x1 b'), /^OK/)
  t.equal(await c.request('bind x1 c'), 'ERR TOO_MANY_BINDINGS exchange x1 is at its limit of 2 bindings (maxBindingsPerExchange); unbind one first')
  t.match(await c.request('unbind x1 a'), /^OK/)
  t.match(await c.request('bind x1 c'), /^OK/)
})

t.test('maxTopics: a route that would create more topics than allowed publishes nothing', async t => {
  const b = await startTestBroker(t, { maxTopics: 2 })
  const c = await b.client()
  t.match(await c.request('pub t1 {"msg":1}'), /^OK/)
  t.match(await c.request('exchange f fanout'), /^OK/)
  t.match(await c.request('bind f t1'), /^OK/)
  t.match(await c.request('bind f t2'), /^OK/)
  t.match(await c.request('route f k {"msg":1}'), /^OK \S+ routed to 2 topics$/, 'one new topic: at the limit')
  t.match(await c.request('bind f t3'), /^OK/)
  t.equal(await c.request('route f k {"msg":2}'), 'ERR TOO_MANY_TOPICS the broker is at its limit of 2 topics (maxTopics); topic t3 was not created')
  t.equal(b.broker.store.topic('t1')!.nextOffset, 3, 'nothing published to t1 by the refused route')
})

t.test('ACL: bind needs the publish right on the topic; route publishes under the publish ACL of every topic, all or nothing', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['*'] },
    bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const alice = await tb.client()
  const bob = await tb.client()
  t.equal(await alice.request('exchange x fanout'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.match(await alice.request('auth alice alice-pw'), /^OK/)
  t.match(await bob.request('auth bob bob-pw'), /^OK/)
  t.equal(await alice.request('exchange x fanout'), 'OK exchange x (fanout) declared')
  t.equal(await alice.request('bind x orders.eu'), 'OK bound orders.eu to x')
  t.equal(await alice.request('bind x audit'), 'ERR FORBIDDEN user alice may not publish to audit')
  t.equal(await bob.request('bind x audit'), 'OK bound audit to x')
  t.equal(await alice.request('route x k {"id":"r1","msg":1}'), 'ERR FORBIDDEN user alice may not publish to audit')
  t.notOk(tb.broker.store.topic('orders.eu'), 'nothing was published, not even to the topic alice may publish to')
  t.equal(await bob.request('route x k {"id":"r2","msg":2}'), 'OK r2 routed to 2 topics')
  t.equal(await bob.request('bind x ~alice.private'), 'ERR UNKNOWN_TOPIC topic ~alice.private does not exist', 'a private topic bob cannot see')
  t.equal(await alice.request('bind x ~alice.private'), 'OK bound ~alice.private to x')
  t.equal(await bob.request('route x k {"id":"r3","msg":3}'), 'ERR FORBIDDEN user bob may not publish to every topic exchange x routes "k" to; nothing was published')
  const seen = JSON.parse((await bob.request('exchanges')).slice(3))
  t.same(seen[0].bindings.map((b: { topic: string }) => b.topic), ['orders.eu', 'audit'], 'exchanges hides the private topic from bob')
  const own = JSON.parse((await alice.request('exchanges')).slice(3))
  t.same(own[0].bindings.map((b: { topic: string }) => b.topic), ['orders.eu', 'audit', '~alice.private'])
})

t.test('HTTP: PUT /exchanges/:name, POST bindings, POST events (bytes kept), GET /exchanges, coded errors', async t => {
  const tb = await startTestBroker(t)
  const base = `http://127.0.0.1:${tb.broker.httpAddress!.port}`
  const call = async (method: string, path: string, body?: string): Promise<{ status: number, json: any }> => {
    const res = await fetch(base + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } })
    return { status: res.status, json: JSON.parse(await res.text()) }
  }
  t.same(await call('PUT', '/exchanges/shop', '{"type":"topic"}'), { status: 200, json: { exchange: 'shop', type: 'topic', created: true } })
  t.same(await call('PUT', '/exchanges/shop', '{"type":"topic"}'), { status: 200, json: { exchange: 'shop', type: 'topic', created: false } })
  t.same((await call('PUT', '/exchanges/shop', '{"type":"direct"}')).json.error.code, 'EXCHANGE_TYPE')
  t.equal((await call('PUT', '/exchanges/shop', '{"type":"direct","x":1}')).status, 400)
  t.same((await call('PUT', '/exchanges/shop', '{"type":')).json.error, { code: 'BAD_JSON', message: 'event is not valid JSON: the body must be a JSON object' })
  t.same((await call('PUT', '/exchanges/shop', '["topic"]')).json.error.code, 'BAD_ARGS')
  t.same(await call('POST', '/exchanges/shop/bindings', '{"topic":"eu","key":"orders.eu.#"}'), { status: 200, json: { exchange: 'shop', topic: 'eu', key: 'orders.eu.#', created: true } })
  t.same(await call('POST', '/exchanges/shop/bindings', '{"topic":"eu","key":"orders.eu.#"}'), { status: 200, json: { exchange: 'shop', topic: 'eu', key: 'orders.eu.#', created: false } })
  t.same(await call('POST', '/exchanges/nope/bindings', '{"topic":"eu","key":"k"}'), { status: 404, json: { error: { code: 'UNKNOWN_EXCHANGE', message: 'exchange nope does not exist; declare it with exchange <name> fanout|direct|topic' } } })
  const c = await tb.client()
  t.match(await c.request('pub eu {"msg":"create"}'), /^OK/)
  t.match(await c.request('sub eu'), /^OK/)
  const body = '{"id":"h1", "msg":"héllo",  "n":1.50}'
  t.same(await call('POST', '/exchanges/shop/events?key=orders.eu.paid', body), { status: 200, json: { id: 'h1', exchange: 'shop', routed: 1 } })
  const line = await c.next()
  t.ok(line.startsWith('EVENT eu {"priority":0,"id":"h1", "msg":"héllo",  "n":1.50,"timestamp":'), `bytes kept: ${line}`)
  t.same(await call('POST', '/exchanges/shop/events?key=stock', '{"id":"h2","msg":1}'), { status: 200, json: { id: 'h2', exchange: 'shop', routed: 0 } })
  const un = await call('POST', '/exchanges/shop/events?key=stock&mandatory=1', '{"id":"h3","msg":1}')
  t.same([un.status, un.json.error.code], [404, 'UNROUTABLE'])
  t.same((await call('POST', '/exchanges/shop/events?key=stock&mandatory=2', '{"msg":1}')).json.error.code, 'BAD_ARGS')
  t.same((await call('POST', '/exchanges/shop/events', '{"msg":1}')).json.error.message, 'missing routing key; usage: route <exchange> <routing-key> <event-json> [mandatory=1]')
  t.same((await call('GET', '/exchanges')).json, [{ name: 'shop', type: 'topic', bindings: [{ topic: 'eu', key: 'orders.eu.#' }] }])
})
