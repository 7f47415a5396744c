import t from 'tap'
import { startTestBroker, waitFor, type TestBroker } from '../helpers/broker'
import { testHash } from '../helpers/auth'
import { parsePrometheusText, sampleValue, type Family } from '../helpers/promText'

/** GET /metrics over real HTTP, parsed with the strict text-format parser. */
async function scrape (tb: TestBroker, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${tb.broker.httpAddress!.port}/metrics`, { headers })
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`)
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error(`content type ${res.headers.get('content-type')}`)
  return parsePrometheusText(await res.text())
}

function basic (user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}

t.test('GET /metrics: the counters, gauges and histograms the test caused, with their types', async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 2, batchIntervalMs: 20 })
  const reader = await tb.client()
  const pub = await tb.client()
  t.equal(await pub.request('pub orders {"id":"seed","msg":0}'), 'OK seed published to orders (0 subscribers)')
  t.equal(await reader.request('name r1'), 'OK named r1')
  t.equal(await reader.request('sub orders 10'), 'OK subscribed to orders (max in flight 10)')
  for (const id of ['a', 'b', 'c']) t.equal(await pub.request(`pub orders {"id":"${id}","msg":1}`), `OK ${id} published to orders (1 subscriber)`)
  for (let i = 0; i < 3; i++) await reader.event()
  t.equal(await reader.request('ack orders a'), 'OK acked a on orders')
  t.equal(await reader.request('ack orders b'), 'OK acked b on orders')
  t.match(await reader.request('nack orders c'), /^OK nacked c on orders/)
  t.match((await reader.event()).event, { id: 'c', deliveries: 2 })
  t.match(await reader.request('nack orders c'), /^OK nacked c on orders: moved to orders\.dlq/)
  t.match(await pub.request('pub orders {not json'), /^ERR BAD_JSON /)
  t.match(await pub.request('pub orders {"msg":1,"offset":3}'), /^ERR BAD_EVENT /)
  const http = await fetch(`http://127.0.0.1:${tb.broker.httpAddress!.port}/topics/orders/events`, { method: 'POST', body: '{nope' })
  t.equal(http.status, 400, 'a refused HTTP publish')
  t.match(await pub.request('ack orders zzz'), /^ERR /, 'a refused ack is not a refused publish')
  await waitFor(() => tb.broker.durability.batcher.batches > 0, 'a batch')

  const m = await scrape(tb)
  const types: Record<string, string> = {
    ackline_events_published_total: 'counter',
    ackline_events_delivered_total: 'counter',
    ackline_events_acked_total: 'counter',
    ackline_events_redelivered_total: 'counter',
    ackline_events_dead_lettered_total: 'counter',
    ackline_events_dropped_total: 'counter',
    ackline_publishes_refused_total: 'counter',
    ackline_auth_failures_total: 'counter',
    ackline_connections: 'gauge',
    ackline_topics: 'gauge',
    ackline_subscriptions: 'gauge',
    ackline_events_pending: 'gauge',
    ackline_events_in_flight: 'gauge',
    ackline_pending_bytes: 'gauge',
    ackline_oldest_pending_age_seconds: 'gauge',
    ackline_log_dir_bytes: 'gauge',
    ackline_log_dir_free_bytes: 'gauge',
    ackline_journal_commit_seconds: 'histogram',
    ackline_batch_duration_seconds: 'histogram',
    ackline_publish_confirm_seconds: 'histogram',
  }
  t.same(Object.fromEntries([...m.values()].map(f => [f.name, f.type])), types, 'exactly these families, with these types (nothing from the global registry)')
  for (const f of m.values()) t.ok(f.help !== null && f.help.length > 10, `${f.name} has a help text`)
  const v = (name: string, labels?: Record<string, string>): number | undefined => sampleValue(m, name, name, labels)
  t.equal(v('ackline_events_published_total'), 4)
  t.equal(v('ackline_events_delivered_total'), 4, 'three deliveries and one redelivery')
  t.equal(v('ackline_events_acked_total'), 2)
  t.equal(v('ackline_events_redelivered_total'), 1)
  t.equal(v('ackline_events_dead_lettered_total'), 1)
  t.equal(v('ackline_events_dropped_total'), 0)
  t.equal(v('ackline_publishes_refused_total', { code: 'BAD_JSON' }), 2, 'one over TCP, one over HTTP')
  t.equal(v('ackline_publishes_refused_total', { code: 'BAD_EVENT' }), 1)
  t.equal(m.get('ackline_publishes_refused_total')!.samples.length, 2, 'no other refusals')
  t.equal(v('ackline_auth_failures_total'), 0)
  t.equal(v('ackline_connections'), 2)
  t.equal(v('ackline_topics'), 2, 'orders and orders.dlq')
  t.equal(v('ackline_subscriptions'), 2, 'r1 and the dead-letter reader')
  t.equal(v('ackline_events_pending'), 1, 'the dead letter waits in orders.dlq')
  t.equal(v('ackline_events_in_flight'), 0)
  t.ok(v('ackline_pending_bytes')! > 20, 'the dead letter\'s bytes')
  const age = v('ackline_oldest_pending_age_seconds')!
  t.ok(age >= 0 && age < 30, `the dead letter's age (${age} s)`)
  t.ok(v('ackline_log_dir_bytes')! > 100, 'segments and journal on disk')
  t.ok(v('ackline_log_dir_free_bytes')! > 0)
  const hist = (name: string): number => sampleValue(m, name, name + '_count')!
  t.ok(hist('ackline_journal_commit_seconds') > 0, 'journal groups were committed')
  t.ok(hist('ackline_publish_confirm_seconds') >= hist('ackline_journal_commit_seconds'), 'every journaled record is counted once')
  t.ok(hist('ackline_batch_duration_seconds') > 0, 'a batch ran')
  t.equal(sampleValue(m, 'ackline_journal_commit_seconds', 'ackline_journal_commit_seconds_bucket', { le: '+Inf' }), hist('ackline_journal_commit_seconds'))

  // Each scrape reads the live figures.
  t.equal(await pub.request('pub orders {"id":"d","msg":1}'), 'OK d published to orders (1 subscriber)')
  t.match((await reader.event()).event, { id: 'd' })
  const m2 = await scrape(tb)
  t.equal(sampleValue(m2, 'ackline_events_in_flight', 'ackline_events_in_flight'), 1, 'd is in flight')
  t.equal(sampleValue(m2, 'ackline_events_delivered_total', 'ackline_events_delivered_total'), 5)
  t.equal(sampleValue(m2, 'ackline_events_published_total', 'ackline_events_published_total'), 5)
})

t.test('metrics.perTopic: pending and in-flight gauges by topic', async t => {
  const tb = await startTestBroker(t, { metrics: { perTopic: true } })
  const c = await tb.client()
  const p = await tb.client()
  await p.request('pub jobs {"msg":"first"}')
  t.equal(await c.request('sub jobs 1'), 'OK subscribed to jobs (max in flight 1)')
  for (let i = 0; i < 3; i++) await p.request(`pub jobs {"msg":${i}}`)
  await p.request('pub other {"msg":1}')
  await c.event()
  const m = await scrape(tb)
  const pending = m.get('ackline_events_pending')!
  t.same(pending.samples.map(s => [s.labels, s.value]).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1), [[{ topic: 'jobs' }, 2], [{ topic: 'other' }, 0]], 'one series per topic, no unlabelled total')
  t.equal(sampleValue(m, 'ackline_events_in_flight', 'ackline_events_in_flight', { topic: 'jobs' }), 1)
  t.equal(sampleValue(m, 'ackline_topic_last_offset', 'ackline_topic_last_offset', { topic: 'jobs' }), 4)
  t.equal(sampleValue(m, 'ackline_topic_subscriptions', 'ackline_topic_subscriptions', { topic: 'jobs' }), 1)
  t.ok(sampleValue(m, 'ackline_oldest_pending_age_seconds', 'ackline_oldest_pending_age_seconds', { topic: 'jobs' })! >= 0)
  t.equal(sampleValue(m, 'ackline_events_published_total', 'ackline_events_published_total'), 5, 'counters stay broker-wide')

  const base = await startTestBroker(t)
  const plain = await scrape(base)
  t.notOk(plain.has('ackline_topic_last_offset'), 'no per-topic families by default')
  t.same(plain.get('ackline_events_pending')!.samples.map(s => s.labels), [{}], 'one unlabelled series by default')
})

t.test('metrics.perTopic leaves private topics out of the labels', async t => {
  const users = { alice: { passwordHash: testHash('pw'), publish: ['*'], subscribe: ['*'] } }
  const tb = await startTestBroker(t, { metrics: { perTopic: true }, auth: { required: false, users } })
  const c = await tb.client()
  t.equal(await c.request('auth alice pw'), 'OK authenticated as alice')
  t.match(await c.request('pub ~alice.secret {"msg":1}'), /^OK 1 published to ~alice\.secret/)
  t.match(await c.request('pub open {"msg":1}'), /^OK 1 published/)
  const m = await scrape(tb)
  t.same(m.get('ackline_topic_last_offset')!.samples.map(s => s.labels.topic), ['open'])
  t.equal(sampleValue(m, 'ackline_topics', 'ackline_topics'), 2, 'the private topic is counted, not named')
})

t.test('with auth.required, /metrics asks for Basic credentials and counts failed logins', async t => {
  const users = { prom: { passwordHash: testHash('scrape-pw'), publish: [], subscribe: [] } }
  const tb = await startTestBroker(t, { auth: { required: true, users } })
  const url = `http://127.0.0.1:${tb.broker.httpAddress!.port}/metrics`
  const anon = await fetch(url)
  t.equal(anon.status, 401)
  t.equal(anon.headers.get('www-authenticate'), 'Basic realm="ackline", charset="UTF-8"')
  t.match(await anon.json(), { error: { code: 'AUTH_REQUIRED' } })
  const wrong = await fetch(url, { headers: { authorization: basic('prom', 'nope') } })
  t.equal(wrong.status, 401)
  t.match(await wrong.json(), { error: { code: 'AUTH_FAILED' } })
  const c = await tb.client()
  t.match(await c.request('auth prom bad'), /^ERR AUTH_FAILED/)
  const m = await scrape(tb, { authorization: basic('prom', 'scrape-pw') })
  t.equal(sampleValue(m, 'ackline_auth_failures_total', 'ackline_auth_failures_total'), 2, 'one over HTTP, one over TCP')
})
