import t from 'tap'
import { testHash } from '../helpers/auth'
import { startTestBroker, type TestBroker } from '../helpers/broker'

// The topic routes of the HTTP API (issue 12), each a transport over one
// command: POST /topics and POST /create (create), GET /topics (topics),
// DELETE /topics/:topic (delete), GET /topics/:topic/events (events).

async function call (tb: TestBroker, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(`http://127.0.0.1:${tb.broker.httpAddress!.port}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
  })
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.status, json }
}

t.test('POST /topics creates (201), 409 TOPIC_EXISTS; POST /create is the same; GET /topics lists; DELETE /topics/:topic deletes', async t => {
  const tb = await startTestBroker(t)
  const made = await call(tb, 'POST', '/topics', { topic: 'orders' })
  t.equal(made.status, 201)
  t.same(made.json, { topic: 'orders' })
  const again = await call(tb, 'POST', '/topics', { topic: 'orders' })
  t.equal(again.status, 409)
  t.same(again.json, { error: { code: 'TOPIC_EXISTS', message: 'topic orders exists already' } })
  t.equal((await call(tb, 'POST', '/create', { topic: 'audit' })).status, 201, 'seed 000\'s alias')
  t.equal((await call(tb, 'POST', '/create', { topic: 'audit' })).json.error.code, 'TOPIC_EXISTS')
  for (const [body, code] of [[{ topic: 'a/b' }, 'BAD_TOPIC'], [{ topic: 'a b' }, 'BAD_ARGS'], [{}, 'BAD_ARGS'], [{ topic: 'x', y: 1 }, 'BAD_ARGS'], [{ topic: 3 }, 'BAD_ARGS'], ['[]', 'BAD_ARGS'], ['nope', 'BAD_JSON']] as const) {
    const res = await call(tb, 'POST', '/topics', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.error.code, code)
  }

  const c = await tb.client()
  t.match(await c.request('sub orders'), /^OK subscribed/, 'a created topic takes subscribers before any publish')
  await call(tb, 'POST', '/topics/orders/events', { msg: 'one' })
  await c.next()
  const list = await call(tb, 'GET', '/topics')
  t.equal(list.status, 200)
  t.same(list.json.map((x: any) => x.topic), ['audit', 'orders'])
  t.match(list.json[1], { topic: 'orders', firstOffset: 1, lastOffset: 1, subscribers: 1 })

  const del = await call(tb, 'DELETE', '/topics/orders')
  t.equal(del.status, 200)
  t.same(del.json, { topic: 'orders', deleted: true })
  t.equal(await c.next(), 'END orders deleted', 'the subscriber is told')
  const gone = await call(tb, 'DELETE', '/topics/orders')
  t.equal(gone.status, 404)
  t.equal(gone.json.error.code, 'UNKNOWN_TOPIC')
  t.same((await call(tb, 'GET', '/topics')).json.map((x: any) => x.topic), ['audit'])
})

t.test('GET /topics/:topic/events pages retained events, bytes kept, from memory and segments, changing no ack state', async t => {
  const tb = await startTestBroker(t, { maxPageEvents: 5 })
  const c = await tb.client()
  await c.request('name reader')
  await c.request('create jobs')
  t.match(await c.request('sub jobs 1'), /^OK subscribed/)
  const sent: string[] = []
  for (let i = 1; i <= 8; i++) {
    const body = `{"id":"j${i}",  "msg":{"n":${i}.50, "s":"é"}}`
    sent.push(body)
    t.equal((await call(tb, 'POST', '/topics/jobs/events', body)).status, 200)
  }
  const first = await c.event()
  t.equal(first.event.id, 'j1')
  const stats = (): Promise<any> => call(tb, 'GET', '/topics/jobs').then(r => r.json)
  const before = await stats()

  const p1 = await call(tb, 'GET', '/topics/jobs/events')
  t.equal(p1.status, 200)
  t.match(p1.json, { topic: 'jobs', from: 1, next: 6, lastOffset: 8 }, 'limit defaults to maxPageEvents when it is below 100')
  t.same(p1.json.events.map((e: any) => e.id), ['j1', 'j2', 'j3', 'j4', 'j5'])
  const raw = await (await fetch(`http://127.0.0.1:${tb.broker.httpAddress!.port}/topics/jobs/events?from=2&limit=1`)).text()
  t.match(raw, /"events":\[\{"priority":0,"id":"j2",  "msg":\{"n":2\.50, "s":"é"\},"timestamp":\d+,"offset":2\}\]/, 'each event as stored, byte for byte')
  const p2 = await call(tb, 'GET', `/topics/jobs/events?from=${p1.json.next as number}&limit=5`)
  t.same(p2.json.events.map((e: any) => e.offset), [6, 7, 8])
  t.equal(p2.json.next, 9, 'past lastOffset: the last page')
  t.same((await call(tb, 'GET', '/topics/jobs/events?from=100')).json.events, [])
  t.same(await stats(), before, 'no ack state changed')
  t.equal(await c.request('ack jobs j1'), 'OK acked j1 on jobs')
  t.equal((await c.event()).event.id, 'j2', 'the subscriber goes on as before')

  // After a batch the events are read back from the segments.
  await tb.stop()
  const tb2 = await startTestBroker(t, { logDir: tb.broker.config.logDir, maxPageEvents: 5 })
  const again = await call(tb2, 'GET', '/topics/jobs/events?from=3&limit=4')
  t.same(again.json.events.map((e: any) => e.id), ['j3', 'j4', 'j5', 'j6'])

  for (const [q, code] of [['limit=0', 'BAD_OPTION'], ['limit=6', 'BAD_OPTION'], ['from=0', 'BAD_OPTION'], ['from=x', 'BAD_OPTION'], ['from=', 'BAD_OPTION'],
    ['from=1&from=2', 'BAD_OPTION'], ['other=1', 'BAD_ARGS'], ['topic=x', 'BAD_ARGS']]) {
    const res = await call(tb2, 'GET', `/topics/jobs/events?${q}`)
    t.equal(res.status, 400, q)
    t.equal(res.json.error.code, code, q)
  }
  t.equal((await call(tb2, 'GET', '/topics/nope/events')).status, 404)
})

t.test('events over TCP: the reply comes after the read, in order with the other replies', async t => {
  const tb = await startTestBroker(t)
  const c = await tb.client()
  await c.request('pub t {"id":"a","msg":1}')
  c.socket.write('events t limit=1\nping\nevents t from=1\nevents nope\n')
  t.match(await c.next(), /^OK \{"topic":"t","from":1,"next":2,"lastOffset":1,"events":\[\{"priority":0,"id":"a","msg":1,"timestamp":\d+,"offset":1\}\]\}$/)
  t.equal(await c.next(), 'OK PONG')
  t.match(await c.next(), /^OK \{"topic":"t","from":1,"next":2,/)
  t.equal(await c.next(), 'ERR UNKNOWN_TOPIC topic nope does not exist')
  t.equal(await c.request('events t limit=1001'), 'ERR BAD_OPTION option limit must be an integer from 1 to maxPageEvents, got "1001"')
})

t.test('auth: topic routes follow the publish ACL (create, delete) and visibility (topics, events)', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['orders'], subscribe: ['orders'] },
    bob: { passwordHash: testHash('bob-pw'), publish: [], subscribe: ['audit'] },
  }
  const tb = await startTestBroker(t, { auth: { required: true, users } })
  const as = (u: string): Record<string, string> => ({ authorization: 'Basic ' + Buffer.from(`${u}:${u}-pw`).toString('base64') })
  t.equal((await call(tb, 'POST', '/topics', { topic: 'orders' })).status, 401)
  t.equal((await call(tb, 'POST', '/topics', { topic: 'orders' }, as('bob'))).status, 403)
  t.equal((await call(tb, 'POST', '/topics', { topic: 'orders' }, as('alice'))).status, 201)
  t.equal((await call(tb, 'GET', '/topics')).status, 401)
  t.equal((await call(tb, 'GET', '/topics', undefined, as('bob'))).status, 200)
  t.equal((await call(tb, 'GET', '/topics/orders/events', undefined, as('bob'))).status, 403, 'bob may neither publish nor subscribe to orders')
  t.equal((await call(tb, 'GET', '/topics/orders/events', undefined, as('alice'))).status, 200)
  t.equal((await call(tb, 'DELETE', '/topics/orders', undefined, as('bob'))).status, 403)
  t.equal((await call(tb, 'DELETE', '/topics/orders', undefined, as('alice'))).status, 200)
})
