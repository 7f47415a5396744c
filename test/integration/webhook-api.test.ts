import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startTestBroker, tempDir, waitFor, type TestBroker } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import { testHash } from '../helpers/auth'
import { Receiver, verifyWithStandardWebhooks, type Received } from '../helpers/webhookReceiver'

// Webhook subscribers through the broker's HTTP API (and the line protocol):
// real receivers on loopback, a real broker on a ManualClock so retries need
// no waiting, restarts on the same log dir.

function base (tb: TestBroker): string {
  return `http://127.0.0.1:${tb.broker.httpAddress!.port}`
}

async function call (tb: TestBroker, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(base(tb) + path, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  })
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.status, json }
}

/** Retries without jitter, short steps, attempts time out after 2 s: every delay is known. */
const WEBHOOKS = { allowPrivateAddresses: true, retryJitter: 0, retryScheduleMs: [1000, 5000, 30000], timeoutMs: 2000 }

async function broker (t: Test, logDir: string, clock: ManualClock, extra: Record<string, unknown> = {}): Promise<TestBroker> {
  return await startTestBroker(t, { logDir, webhooks: WEBHOOKS, ...extra }, clock)
}

async function hookState (tb: TestBroker, topic: string, name: string): Promise<any> {
  const res = await call(tb, 'GET', `/topics/${topic}/webhooks`)
  return (res.json as any[]).find(w => w.name === name)
}

async function until (tb: TestBroker, topic: string, name: string, what: string, cond: (s: any) => boolean): Promise<any> {
  const deadline = Date.now() + 5000
  for (;;) {
    const s = await hookState(tb, topic, name)
    if (s !== undefined && cond(s)) return s
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

function bodyOf (r: Received): any {
  return JSON.parse(r.body.toString('utf8'))
}

t.test('a receiver that fails every way (500, 429 + Retry-After, timeout, refused, 410) and recovers, across restarts: nothing lost, ids stable, signatures verify', async t => {
  const logDir = tempDir()
  const clock = new ManualClock(Date.now())
  let tb = await broker(t, logDir, clock)
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  t.equal((await call(tb, 'POST', '/topics/orders/events', { msg: 'before the webhook' })).status, 200)

  const created = await call(tb, 'POST', '/topics/orders/webhooks', { name: 'billing', url: rx.url('/in'), maxInFlight: 1 })
  t.equal(created.status, 201)
  const secret: string = created.json.secret
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a secret is generated and shown on creation')
  t.same({ ...created.json, secret: undefined }, { topic: 'orders', name: 'billing', url: rx.url('/in'), maxInFlight: 1, maxDeliveries: null, secret: undefined })

  rx.plan = [{ status: 500 }, { status: 429, headers: { 'retry-after': '7' } }, 'hang']
  const published: string[] = []
  for (let i = 1; i <= 5; i++) {
    const res = await call(tb, 'POST', '/topics/orders/events', { id: `o-${i}`, msg: { n: i } })
    t.same(res.json, { id: `o-${i}`, topic: 'orders', subscribers: 1 })
    published.push(`o-${i}`)
  }
  await rx.waitFor(1)
  let s = await until(tb, 'orders', 'billing', 'the 500', x => x.consecutiveFailures === 1)
  t.equal(s.lastStatus, 500)
  t.equal(s.nextAttemptAt, clock.now() + 1000, 'backs off on the schedule: 1 s')
  t.equal(s.pending, 5, 'the failed event is pending again, with the four behind it')

  clock.advance(999)
  t.ok(await new Promise(resolve => setTimeout(() => resolve(rx.received.length === 1), 50)), 'nothing before the step is over')
  clock.advance(1)
  await rx.waitFor(2)
  s = await until(tb, 'orders', 'billing', 'the 429', x => x.consecutiveFailures === 2)
  t.equal(s.lastStatus, 429)
  t.equal(s.nextAttemptAt, clock.now() + 7000, 'Retry-After: 7 replaces the 5 s step')
  clock.advance(7000)
  await rx.waitFor(3) // this one hangs
  clock.advance(2000) // webhooks.timeoutMs on the broker's clock
  s = await until(tb, 'orders', 'billing', 'the timeout', x => x.consecutiveFailures === 3)
  t.match(s.lastError, /no response within 2000 ms/)
  t.equal(s.nextAttemptAt, clock.now() + 30000)

  // The receiver goes away: connection refused.
  const port = rx.port
  const url = rx.url('/in')
  await rx.close()
  clock.advance(30000)
  s = await until(tb, 'orders', 'billing', 'connection refused', x => x.consecutiveFailures === 4)
  t.match(s.lastError, /ECONNREFUSED/)
  const pausedUntil = s.nextAttemptAt
  t.equal(pausedUntil, clock.now() + 30000, 'the last step repeats')

  // Restart: the webhook, its secret and its back-off come back from the log dir.
  await tb.stop()
  tb = await broker(t, logDir, clock)
  s = await hookState(tb, 'orders', 'billing')
  t.equal(s.consecutiveFailures, 4, 'the failure streak survived the restart')
  t.equal(s.nextAttemptAt, pausedUntil, 'and so did the back-off')
  t.equal(s.pending, 5, 'every event is still owed')
  t.equal(s.url, url)

  const back = await Receiver.start(undefined, port)
  t.teardown(() => back.close())
  clock.advance(29999)
  t.ok(await new Promise(resolve => setTimeout(() => resolve(back.received.length === 0), 50)), 'the back-off holds after the restart')
  clock.advance(1)
  await back.waitFor(5)
  s = await until(tb, 'orders', 'billing', 'everything acked', x => x.pending === 0 && x.inFlight === 0)
  t.equal(s.consecutiveFailures, 0, 'a success ends the streak')
  t.equal(s.nextAttemptAt, null)

  // Every attempt, before and after the restart: same id per event, every signature verifies with the secret.
  const all = [...rx.received, ...back.received]
  const idOf = new Map<string, string>()
  for (const r of all) {
    const ev = verifyWithStandardWebhooks(secret, r, clock.now()) as any
    t.same(ev, bodyOf(r), 'the verifier returns the body')
    const seen = idOf.get(ev.id)
    if (seen === undefined) idOf.set(ev.id, r.headers['webhook-id'] as string)
    else t.equal(r.headers['webhook-id'], seen, `webhook-id of ${String(ev.id)} is stable across attempts and restarts`)
  }
  t.same([...new Set(back.received.map(r => bodyOf(r).id))].sort(), published, 'every event was delivered once the receiver recovered: none lost')
  t.equal(new Set(idOf.values()).size, 5, 'one webhook-id per event')
  const retried = all.filter(r => r.headers['webhook-id'] === idOf.get('o-1'))
  t.ok(retried.length >= 2, 'o-1 was attempted more than once')
  t.match(bodyOf(retried[retried.length - 1]).deliveries, Number, 'a redelivery carries its count')

  // 410 Gone disables the webhook; that survives a restart too.
  back.plan = [{ status: 410 }]
  await call(tb, 'POST', '/topics/orders/events', { id: 'o-6', msg: 6 })
  s = await until(tb, 'orders', 'billing', 'the 410', x => x.disabled === true)
  t.match(s.disabledReason, /answered 410 Gone/)
  t.equal(s.pending, 1, 'the event stays pending')
  await tb.stop()
  tb = await broker(t, logDir, clock)
  s = await hookState(tb, 'orders', 'billing')
  t.equal(s.disabled, true, 'still disabled after a restart')
  clock.advance(3_600_000)
  t.ok(await new Promise(resolve => setTimeout(() => resolve(back.received.length === 6), 100)), 'nothing is sent while disabled')
})

t.test('maxDeliveries: the last failed delivery dead-letters the event to <topic>.dlq', async t => {
  const clock = new ManualClock(Date.now())
  const tb = await broker(t, tempDir(), clock)
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  rx.plan = [{ status: 500 }, { status: 500 }]
  await call(tb, 'POST', '/topics/jobs/events', { msg: 'x' })
  const res = await call(tb, 'POST', '/topics/jobs/webhooks', { name: 'w', url: rx.url(), maxDeliveries: 2, maxInFlight: 3 })
  t.equal(res.json.maxDeliveries, 2)
  t.equal(res.json.maxInFlight, 3)
  await call(tb, 'POST', '/topics/jobs/events', { id: 'j1', msg: 'poison' })
  await rx.waitFor(1)
  await until(tb, 'jobs', 'w', 'first failure', x => x.consecutiveFailures === 1)
  clock.advance(1000)
  await rx.waitFor(2)
  await until(tb, 'jobs', 'w', 'dead-lettered', x => x.pending === 0 && x.inFlight === 0)
  const c = await tb.client()
  t.equal(await c.request('name dead-letters'), 'OK named dead-letters')
  t.match(await c.request('sub jobs.dlq'), /^OK subscribed/)
  const dead = await c.event()
  t.equal(dead.event.msg, 'poison')
  t.match(dead.event.deadLetter, { topic: 'jobs', id: 'j1', subscriber: 'webhook:w', reason: /^webhook w: HTTP 500/, deliveries: 2 })
})

t.test('one slow endpoint never delays another; each has its own in-flight cap', async t => {
  const clock = new ManualClock(Date.now())
  const tb = await broker(t, tempDir(), clock)
  const slow = await Receiver.start()
  const fast = await Receiver.start()
  t.teardown(() => slow.close())
  t.teardown(() => fast.close())
  slow.plan = ['hang', 'hang']
  await call(tb, 'POST', '/topics/t/events', { msg: 0 })
  t.equal((await call(tb, 'POST', '/topics/t/webhooks', { name: 'slow', url: slow.url(), maxInFlight: 2 })).status, 201)
  t.equal((await call(tb, 'POST', '/topics/t/webhooks', { name: 'fast', url: fast.url(), maxInFlight: 2 })).status, 201)
  for (let i = 0; i < 20; i++) await call(tb, 'POST', '/topics/t/events', { msg: i })
  await fast.waitFor(20)
  const s = await until(tb, 't', 'slow', 'two hanging', x => x.inFlight === 2)
  t.equal(s.pending, 18, 'the slow one holds its cap and no more')
  t.equal(slow.received.length, 2)
  const f = await until(tb, 't', 'fast', 'all acked', x => x.pending === 0 && x.inFlight === 0)
  t.equal(f.delivered, 20)
  slow.release()
  await slow.waitFor(20)
  await until(tb, 't', 'slow', 'caught up', x => x.pending === 0 && x.inFlight === 0)
})

t.test('the API: list, errors, delete; seed 000\'s POST /subscribe; the same commands over TCP', async t => {
  const clock = new ManualClock(Date.now())
  const tb = await broker(t, tempDir(), clock)
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  const url = rx.url('/h')

  const unknown = await call(tb, 'POST', '/topics/nope/webhooks', { name: 'a', url })
  t.equal(unknown.status, 404)
  t.equal(unknown.json.error.code, 'UNKNOWN_TOPIC')
  await call(tb, 'POST', '/topics/news/events', { msg: 'hello' })

  const given = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
  const made = await call(tb, 'POST', '/topics/news/webhooks', { name: 'a', url, secret: given, maxDeliveries: null })
  t.equal(made.status, 201)
  t.equal(made.json.secret, given, 'a given secret is kept')
  t.equal(made.json.maxInFlight, 10, 'webhooks.maxInFlight by default')

  const cases: Array<[unknown, number, string, RegExp]> = [
    [{ name: 'a', url }, 409, 'WEBHOOK_EXISTS', /already has a webhook named a/],
    [{ name: 'b c', url }, 400, 'BAD_ARGS', /one word/],
    [{ name: 'b:c', url }, 400, 'BAD_NAME', /invalid webhook name/],
    [{ name: 'b', url: 'ftp://x/' }, 400, 'BAD_ARGS', /url scheme must be http or https/],
    [{ name: 'b', url: 'http://u:p@127.0.0.1/' }, 400, 'BAD_ARGS', /user name or password/],
    [{ name: 'b', url: 'not a url' }, 400, 'BAD_ARGS', /one word|absolute URL/],
    [{ name: 'b', url, secret: 'nope' }, 400, 'BAD_ARGS', /secret must start with whsec_/],
    [{ name: 'b', url, maxInFlight: 0 }, 400, 'BAD_IN_FLIGHT', /max in flight/],
    [{ name: 'b', url, maxDeliveries: 0 }, 400, 'BAD_ARGS', /max deliveries must be an integer from 1/],
    [{ name: 'b', url, extra: 1 }, 400, 'BAD_ARGS', /unknown field "extra"/],
    [{ url }, 400, 'BAD_ARGS', /missing webhook name/],
    [{ name: 'b' }, 400, 'BAD_ARGS', /missing url/],
    ['[1]', 400, 'BAD_ARGS', /must be a JSON object/],
    ['{', 400, 'BAD_JSON', /JSON/],
  ]
  for (const [body, status, code, message] of cases) {
    const res = await call(tb, 'POST', '/topics/news/webhooks', body)
    t.equal(res.status, status, `${JSON.stringify(body)} → ${status}`)
    t.equal(res.json.error?.code, code)
    t.match(res.json.error?.message, message)
  }

  const list = await call(tb, 'GET', '/topics/news/webhooks')
  t.equal(list.status, 200)
  t.equal(list.json.length, 1)
  t.match(list.json[0], { name: 'a', topic: 'news', url, maxInFlight: 10, maxDeliveries: null, pending: 0, inFlight: 0, consecutiveFailures: 0, nextAttemptAt: null, disabled: false })
  t.notOk('secret' in list.json[0], 'the secret is never listed')
  t.equal((await call(tb, 'GET', '/topics/nope/webhooks')).status, 404)

  // seed 000: POST /subscribe {topic, addr} makes (once) a webhook named after the address.
  const seed = await call(tb, 'POST', '/subscribe', { topic: 'news', addr: rx.url('/seed') })
  t.equal(seed.status, 201)
  t.match(seed.json, { topic: 'news', name: /^sub-[0-9a-f]{16}$/, url: rx.url('/seed'), secret: /^whsec_/ })
  const again = await call(tb, 'POST', '/subscribe', { topic: 'news', addr: rx.url('/seed') })
  t.equal(again.status, 200, 'the same address again: the same webhook')
  t.equal(again.json.name, seed.json.name)
  t.notOk('secret' in again.json)
  t.equal((await call(tb, 'POST', '/subscribe', { topic: 'news' })).json.error.code, 'BAD_ARGS')
  t.equal((await call(tb, 'POST', '/subscribe', { topic: 'news', addr: 'x', more: 1 })).json.error.code, 'BAD_ARGS')
  t.equal((await call(tb, 'POST', '/subscribe', { topic: 1, addr: 'x' })).json.error.code, 'BAD_ARGS')

  await call(tb, 'POST', '/topics/news/events', { id: 'n1', msg: 'to both' })
  await rx.waitFor(2)
  t.same(rx.received.map(r => r.url).sort(), ['/h', '/seed'])
  t.equal(verifyWithStandardWebhooks(seed.json.secret, rx.received.find(r => r.url === '/seed')!, clock.now()) !== undefined, true)

  // TCP: the same commands.
  const c = await tb.client()
  t.match(await c.request(`webhook news tcp ${rx.url('/tcp')} 2 3`), /^OK \{"topic":"news","name":"tcp","url":"http:\/\/127\.0\.0\.1:\d+\/tcp","maxInFlight":2,"maxDeliveries":3,"secret":"whsec_/)
  const listed = JSON.parse((await c.request('webhooks news')).slice(3))
  t.same(listed.map((w: any) => w.name).sort(), ['a', 'tcp', seed.json.name].sort())
  t.equal(await c.request('unwebhook news tcp'), 'OK deleted webhook tcp on news')
  t.equal(await c.request('unwebhook news tcp'), 'ERR UNKNOWN_WEBHOOK topic news has no webhook named "tcp"')

  // DELETE
  rx.plan = ['hang']
  await call(tb, 'POST', '/topics/news/events', { id: 'n2', msg: 'stuck' })
  await rx.waitFor(4)
  const del = await call(tb, 'DELETE', '/topics/news/webhooks/a')
  t.equal(del.status, 200)
  t.same(del.json, { topic: 'news', name: 'a', dropped: 1 })
  const gone = await call(tb, 'DELETE', '/topics/news/webhooks/a')
  t.equal(gone.status, 404)
  t.equal(gone.json.error.code, 'UNKNOWN_WEBHOOK')
  t.equal((await call(tb, 'GET', '/topics/news/webhooks')).json.length, 1)
})

t.test('SSRF: without allowPrivateAddresses, loopback and private targets are refused at creation, named or literal', async t => {
  const tb = await startTestBroker(t, { webhooks: { allowPrivateAddresses: false } })
  await call(tb, 'POST', '/topics/x/events', { msg: 1 })
  for (const url of ['http://127.0.0.1:9/', 'http://localhost:9/', 'http://169.254.169.254/latest', 'http://[::1]/', 'http://2130706433/']) {
    const res = await call(tb, 'POST', '/topics/x/webhooks', { name: 'w', url })
    t.equal(res.status, 400, url)
    t.match(res.json.error.message, /webhooks may reach only public addresses/)
  }
  const seed = await call(tb, 'POST', '/subscribe', { topic: 'x', addr: 'http://localhost:1/' })
  t.equal(seed.status, 400)
  const c = await tb.client()
  t.match(await c.request('webhook x w http://10.1.2.3/'), /^ERR BAD_ARGS address 10\.1\.2\.3 is private/)
  t.equal((await call(tb, 'GET', '/topics/x/webhooks')).json.length, 0)
})

t.test('a compaction writes the webhook into the snapshot; a restart from it keeps settings, secret and retry state', async t => {
  const logDir = tempDir()
  const clock = new ManualClock(Date.now())
  let tb = await broker(t, logDir, clock, { stateTailBytes: 1024 })
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  await call(tb, 'POST', '/topics/snap/events', { msg: 'first' })
  const made = await call(tb, 'POST', '/topics/snap/webhooks', { name: 'w', url: rx.url(), maxDeliveries: 7 })
  rx.plan = [{ status: 503, headers: { 'retry-after': '120' } }]
  await call(tb, 'POST', '/topics/snap/events', { id: 'big', msg: 'x'.repeat(2000) })
  const s = await until(tb, 'snap', 'w', 'the 503', x => x.consecutiveFailures === 1)
  t.equal(s.nextAttemptAt, clock.now() + 120000, 'Retry-After: 120 on a 503')
  // Batches: the first appends the event (the segments grow past stateTailBytes), the next that finds the topic changed compacts.
  const dir = join(logDir, 'topics', 'snap')
  const snapshotted = (): boolean => existsSync(dir) && readdirSync(dir).some(f => /^snapshot-\d+\.jsonl$/.test(f))
  for (let i = 0; i < 50 && !snapshotted(); i++) {
    await call(tb, 'POST', '/topics/snap/events', { msg: i })
    clock.advance(1000)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  await waitFor(snapshotted, 'a snapshot')
  const snapshot = readdirSync(dir).filter(f => f.startsWith('snapshot-')).map(f => readFileSync(join(dir, f), 'utf8')).join('')
  t.match(snapshot, /\["H","webhook:w","http:\/\/127\.0\.0\.1:\d+\/hook","whsec_[^"]+",7\]/)
  t.match(snapshot, /\["F","webhook:w",1,\d+,null\]/)
  const pending = (await hookState(tb, 'snap', 'w')).pending
  t.ok(pending >= 2)
  await tb.stop()
  tb = await broker(t, logDir, clock, { stateTailBytes: 1024 })
  const after = await hookState(tb, 'snap', 'w')
  t.match(after, { consecutiveFailures: 1, nextAttemptAt: s.nextAttemptAt, maxDeliveries: 7, pending })
  clock.advance(s.nextAttemptAt - clock.now())
  await rx.waitFor(1 + pending)
  t.ok(verifyWithStandardWebhooks(made.json.secret, rx.received[1], clock.now()), 'the restored secret signs')
  await until(tb, 'snap', 'w', 'delivered', x => x.pending === 0 && x.inFlight === 0)
})

t.test('auth: Basic credentials and topic rights apply to the webhook routes as to sub and stats', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['*'], subscribe: ['orders'] },
    bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: [] },
  }
  const tb = await startTestBroker(t, { auth: { required: true, users }, webhooks: WEBHOOKS })
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  const as = (user: string): Record<string, string> => ({ authorization: 'Basic ' + Buffer.from(`${user}:${user}-pw`).toString('base64'), 'content-type': 'application/json' })
  const post = async (headers: Record<string, string>): Promise<Response> =>
    await fetch(`${base(tb)}/topics/orders/webhooks`, { method: 'POST', headers, body: JSON.stringify({ name: 'w', url: rx.url() }) })
  t.equal((await fetch(`${base(tb)}/topics/orders/events`, { method: 'POST', headers: as('bob'), body: '{"msg":1}' })).status, 200)
  const anonymous = await post({ 'content-type': 'application/json' })
  t.equal(anonymous.status, 401)
  t.equal(((await anonymous.json()) as any).error.code, 'AUTH_REQUIRED')
  const bob = await post(as('bob'))
  t.equal(bob.status, 403, 'bob may publish but not subscribe')
  t.equal(((await bob.json()) as any).error.code, 'FORBIDDEN')
  t.equal((await post(as('alice'))).status, 201)
  t.equal((await fetch(`${base(tb)}/topics/orders/webhooks`, { headers: as('alice') })).status, 200)
  t.equal((await fetch(`${base(tb)}/topics/orders/webhooks/w`, { method: 'DELETE', headers: as('bob') })).status, 403)
  t.equal((await fetch(`${base(tb)}/topics/orders/webhooks/w`, { method: 'DELETE', headers: as('alice') })).status, 200)
})

t.test('deleting the topic ends its webhooks: closed, not listed, nothing sent, not back after a restart', async t => {
  const logDir = tempDir()
  const clock = new ManualClock(Date.now())
  let tb = await broker(t, logDir, clock)
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  t.equal((await call(tb, 'POST', '/topics', { topic: 'gone' })).status, 201)
  t.equal((await call(tb, 'POST', '/topics/gone/webhooks', { name: 'w', url: rx.url() })).status, 201)
  t.equal(tb.broker.manager.ctx.webhooks.size, 1)
  t.equal((await call(tb, 'DELETE', '/topics/gone')).status, 200)
  t.equal(tb.broker.manager.ctx.webhooks.size, 0, 'the webhook was closed')
  t.equal((await call(tb, 'POST', '/topics', { topic: 'gone' })).status, 201, 'a new topic of that name')
  t.same((await call(tb, 'GET', '/topics/gone/webhooks')).json, [], 'without the old webhook')
  await call(tb, 'POST', '/topics/gone/events', { msg: 'after' })
  await tb.stop()
  tb = await broker(t, logDir, clock)
  t.same((await call(tb, 'GET', '/topics/gone/webhooks')).json, [])
  t.equal(rx.received.length, 0)
})

t.test('a private topic: a grantee\'s webhook is the grantee\'s; revoke ends it (closed, gone after a restart too)', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: [], subscribe: [] },
    bob: { passwordHash: testHash('bob-pw'), publish: [], subscribe: [] },
  }
  const logDir = tempDir()
  const clock = new ManualClock(Date.now())
  let tb = await broker(t, logDir, clock, { auth: { required: true, users } })
  const rx = await Receiver.start()
  t.teardown(() => rx.close())
  const a = await tb.client()
  t.equal(await a.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.match(await a.request('pub ~alice.inbox {"msg":"mine"}'), /^OK 1 published/)
  const b = await tb.client()
  t.equal(await b.request('auth bob bob-pw'), 'OK authenticated as bob')
  t.match(await b.request(`webhook ~alice.inbox w ${rx.url()}`), /^ERR UNKNOWN_TOPIC/, 'hidden before the grant')
  t.equal(await a.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  t.match(await b.request(`webhook ~alice.inbox w ${rx.url()}`), /^OK \{/)
  t.match(await a.request('pub ~alice.inbox {"id":"m2","msg":"for bob"}'), /^OK m2 published to ~alice\.inbox \(1 subscriber\)/)
  await rx.waitFor(1)
  t.equal(await a.request('revoke ~alice.inbox bob'), 'OK bob may now none on ~alice.inbox (1 subscription ended)')
  t.equal(tb.broker.manager.ctx.webhooks.size, 0, 'the webhook stopped')
  t.equal(await a.request('webhooks ~alice.inbox'), 'OK []')
  await tb.stop()
  tb = await broker(t, logDir, clock, { auth: { required: true, users } })
  t.equal(tb.broker.manager.ctx.webhooks.size, 0, 'and stays gone after a restart')
})
