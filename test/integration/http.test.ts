import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import t from 'tap'
import { ERROR_CODES, HTTP_STATUS } from '../../src/errors'
import { startTestBroker, type TestBroker } from '../helpers/broker'
import { makeCert, startLoggedBroker, testHash } from '../helpers/auth'

/** The HTTP API over real HTTP (node's fetch) against a broker on ephemeral ports. */

function base (tb: { broker: TestBroker['broker'] }): string {
  return `http://127.0.0.1:${tb.broker.httpAddress!.port}`
}

async function call (url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number, json: any, text: string }> {
  const res = await fetch(url, { method, body, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } })
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, json, text }
}

function basic (user: string, password: string): Record<string, string> {
  return { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') }
}

t.test('every error code has an HTTP status in the documented set', async t => {
  for (const code of ERROR_CODES) {
    t.ok([400, 401, 403, 404, 408, 409, 413, 429, 500, 501, 503].includes(HTTP_STATUS[code]), `${code} → ${HTTP_STATUS[code]}`)
  }
  t.equal(Object.keys(HTTP_STATUS).length, ERROR_CODES.length, 'no status for a code that does not exist')
})

t.test('POST /topics/:topic/events publishes one event; a TCP subscriber receives it byte for byte', async t => {
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  t.equal(await sub.request('pub orders {"msg":"first"}'), 'OK 1 published to orders (0 subscribers)')
  t.match(await sub.request('sub orders'), /^OK subscribed to orders/)
  const body = '{"id":"a-1", "msg":"héllo", "n":1.50, "nested":{"k":[1, 2]}}'
  const res = await call(`${base(tb)}/topics/orders/events`, 'POST', body)
  t.equal(res.status, 200)
  t.same(res.json, { id: 'a-1', topic: 'orders', subscribers: 1 })
  const line = await sub.next()
  t.ok(line.startsWith('EVENT orders {"priority":0,"id":"a-1", "msg":"héllo", "n":1.50, "nested":{"k":[1, 2]}'), `bytes kept: ${line}`)
})

t.test('POST /topics/:topic/events with an array publishes a batch, one result per event, bytes kept', async t => {
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  await sub.request('name batcher') // a named subscriber: each OK waits for the journal, and so does the response
  await sub.request('pub jobs {"msg":"x"}')
  await sub.request('sub jobs 10')
  const res = await call(`${base(tb)}/topics/jobs/events`, 'POST', ' [ {"id":"b1","msg":1.0} ,{"id":"b2","msg":"a,]\\"}"}, {"id":"b3","msg":[]}\n] ')
  t.equal(res.status, 200)
  t.same(res.json, [{ id: 'b1', topic: 'jobs', subscribers: 1 }, { id: 'b2', topic: 'jobs', subscribers: 1 }, { id: 'b3', topic: 'jobs', subscribers: 1 }])
  t.match(await sub.next(), /^EVENT jobs \{"priority":0,"id":"b1","msg":1\.0,/)
  t.match(await sub.next(), /^EVENT jobs \{"priority":0,"id":"b2","msg":"a,\]\\"\}",/)
  t.match(await sub.next(), /^EVENT jobs \{"priority":0,"id":"b3",/)
})

t.test('an id published again within the dedupe window: duplicate true, not delivered twice', async t => {
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  await sub.request('create d')
  await sub.request('sub d')
  const url = `${base(tb)}/topics/d/events`
  t.same((await call(url, 'POST', '{"id":"k","msg":1}')).json, { id: 'k', topic: 'd', subscribers: 1 })
  t.same((await call(url, 'POST', '{"id":"k","msg":"resent"}')).json, { id: 'k', topic: 'd', subscribers: 0, duplicate: true })
  t.same((await call(url, 'POST', '[{"id":"k","msg":2},{"id":"j","msg":3}]')).json,
    [{ id: 'k', topic: 'd', subscribers: 0, duplicate: true }, { id: 'j', topic: 'd', subscribers: 1 }], 'in a batch too')
  t.match((await sub.event()).event, { id: 'k', msg: 1 })
  t.match((await sub.event()).event, { id: 'j', msg: 3 })
  t.ok(await sub.quiet(), 'each id delivered once')
})

t.test('one bad event rejects the whole batch, naming its index; nothing is published', async t => {
  const tb = await startTestBroker(t)
  const url = `${base(tb)}/topics/jobs/events`
  const res = await call(url, 'POST', '[{"msg":"ok"},{"msg":1,"timestamp":1},{"msg":"ok2"}]')
  t.equal(res.status, 400)
  t.equal(res.json.error.code, 'BAD_EVENT')
  t.match(res.json.error.message, /^event 1 of the batch: BAD_EVENT field "timestamp" is reserved/)
  const notObject = await call(url, 'POST', '[{"msg":"ok"},3]')
  t.equal(notObject.status, 400)
  t.match(notObject.json.error.message, /^event 1 of the batch: /)
  t.equal((await call(url, 'POST', '[]')).json.error.code, 'BAD_EVENT', 'an empty batch')
  t.equal((await call(url, 'POST', '[{"msg":1},')).json.error.code, 'BAD_JSON', 'a broken array')
  const stats = await call(`${base(tb)}/topics/jobs`, 'GET')
  t.equal(stats.status, 404, 'no event was published, so the topic was never created')
  t.equal(stats.json.error.code, 'UNKNOWN_TOPIC')
})

t.test('GET /topics/:topic gives the stats reply as JSON; errors are coded JSON with their status', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: 1024 })
  const c = await tb.client()
  await c.request('pub news {"msg":"a"}')
  const stats = await call(`${base(tb)}/topics/news`, 'GET')
  t.equal(stats.status, 200)
  const tcp = JSON.parse((await c.request('stats news')).slice(3))
  t.same(stats.json, tcp, 'the same fields as the stats command')
  const cases: Array<[string, string, string | undefined, number, string]> = [
    ['GET', '/topics/nope', undefined, 404, 'UNKNOWN_TOPIC'],
    ['GET', '/topics/bad!name', undefined, 400, 'BAD_TOPIC'],
    ['POST', '/topics/news/events', '{"msg":', 400, 'BAD_JSON'],
    ['POST', '/topics/news/events', '{"msg":1,"deliveries":1}', 400, 'BAD_EVENT'],
    ['POST', '/topics/news/events', '', 400, 'BAD_ARGS'],
    ['POST', '/topics/news/events', JSON.stringify({ msg: 'x'.repeat(2000) }), 413, 'LINE_TOO_LONG'],
    ['GET', '/nowhere', undefined, 404, 'UNKNOWN_COMMAND'],
  ]
  for (const [method, path, body, status, code] of cases) {
    const res = await call(base(tb) + path, method, body)
    t.equal(res.status, status, `${method} ${path} status`)
    t.equal(res.json?.error?.code, code, `${method} ${path} code`)
    t.type(res.json?.error?.message, 'string')
  }
  t.equal((await c.request('ping')).slice(0, 2), 'OK', 'TCP clients never notice')
})

t.test('POST /publish stores payload as msg and payloadType as a field', async t => {
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  await sub.request('pub seed {"msg":"x"}')
  await sub.request('sub seed 10')
  const res = await call(`${base(tb)}/publish`, 'POST', JSON.stringify({ topic: 'seed', payload: { a: 1 }, payloadType: 'json' }))
  t.equal(res.status, 200)
  t.equal(res.json.topic, 'seed')
  const { event } = await sub.event()
  t.same(event.msg, { a: 1 })
  t.equal(event.payloadType, 'json')
  const bad = await call(`${base(tb)}/publish`, 'POST', JSON.stringify({ topic: 'seed', payload: 1, extra: true }))
  t.equal(bad.status, 400)
  t.equal(bad.json.error.code, 'BAD_ARGS')
  t.equal((await call(`${base(tb)}/publish`, 'POST', JSON.stringify({ payload: 1 }))).json.error.code, 'BAD_ARGS')
  t.equal((await call(`${base(tb)}/publish`, 'POST', '[1]')).json.error.code, 'BAD_ARGS')
  t.equal((await call(`${base(tb)}/publish`, 'POST', 'nope')).json.error.code, 'BAD_JSON')
})

const users = {
  alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['orders.*'] },
  bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
}

t.test('auth: Basic with the same users, ACLs and private topics as TCP; verified credentials are cached', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: true, users }, http: { port: 0, credentialCacheMs: 60000 } })
  const url = `http://127.0.0.1:${tb.broker.httpAddress!.port}`
  const none = await call(`${url}/topics/orders.eu/events`, 'POST', '{"msg":1}')
  t.equal(none.status, 401)
  t.equal(none.json.error.code, 'AUTH_REQUIRED')
  const wrong = await call(`${url}/topics/orders.eu/events`, 'POST', '{"msg":1}', basic('alice', 'nope'))
  t.equal(wrong.status, 401)
  t.equal(wrong.json.error.code, 'AUTH_FAILED')
  t.equal((await call(`${url}/topics/orders.eu/events`, 'POST', '{"msg":1}', basic('alice', 'nope'))).status, 401, 'a wrong password again')
  const garbled = await call(`${url}/topics/orders.eu/events`, 'POST', '{"msg":1}', { authorization: 'Bearer x' })
  t.equal(garbled.json.error.code, 'AUTH_FAILED')
  const ok = await call(`${url}/topics/orders.eu/events`, 'POST', '{"msg":1}', basic('alice', 'alice-pw'))
  t.equal(ok.status, 200)
  const forbidden = await call(`${url}/topics/news/events`, 'POST', '{"msg":1}', basic('alice', 'alice-pw'))
  t.equal(forbidden.status, 403)
  t.equal(forbidden.json.error.code, 'FORBIDDEN')
  t.equal((await call(`${url}/topics/~bob.secret/events`, 'POST', '{"msg":1}', basic('bob', 'bob-pw'))).status, 200)
  const hidden = await call(`${url}/topics/~bob.secret`, 'GET', undefined, basic('alice', 'alice-pw'))
  t.equal(hidden.status, 404, 'a private topic alice cannot see is missing')
  t.equal(hidden.json.error.code, 'UNKNOWN_TOPIC')
  const hiddenPub = await call(`${url}/topics/~bob.secret/events`, 'POST', '{"msg":1}', basic('alice', 'alice-pw'))
  t.equal(hiddenPub.json.error.code, 'UNKNOWN_TOPIC')
  const logins = tb.logs.filter(r => r.msg === 'authenticated' && r.user === 'alice').length
  t.equal(logins, 1, 'alice\'s password was verified once; later requests used the cache')
  const failures = tb.logs.filter(r => r.msg === 'auth failed').length
  t.equal(failures, 2, 'a wrong password is not cached')
})

t.test('auth: with credentialCacheMs 0 every request verifies the password', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: true, users }, http: { port: 0, credentialCacheMs: 0 } })
  const url = `http://127.0.0.1:${tb.broker.httpAddress!.port}`
  for (let i = 0; i < 3; i++) t.equal((await call(`${url}/topics/orders.x/events`, 'POST', '{"msg":1}', basic('alice', 'alice-pw'))).status, 200)
  t.equal(tb.logs.filter(r => r.msg === 'authenticated').length, 3)
})

t.test('http: null turns the listener off', async t => {
  const tb = await startTestBroker(t, { http: null })
  t.equal(tb.broker.http, null)
  t.equal(tb.broker.httpAddress, null)
})

t.test('with tls configured the API is HTTPS, with the same certificate', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startTestBroker(t, { tls: { port: 0, certFile: cert, keyFile: key } })
  t.equal(tb.broker.http!.scheme, 'https')
  const res = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: tb.broker.httpAddress!.port, path: '/topics/tls/events', method: 'POST', ca: readFileSync(cert) }, (r) => {
      let body = ''
      r.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => resolve({ status: r.statusCode!, body }))
    })
    req.on('error', reject)
    req.end('{"id":"s1","msg":"over tls"}')
  })
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { id: 's1', topic: 'tls', subscribers: 0 })
  const plain = await fetch(`http://127.0.0.1:${tb.broker.httpAddress!.port}/topics/tls`).then(() => 'answered', () => 'refused')
  t.equal(plain, 'refused', 'plain HTTP is not served on the HTTPS port')
})
