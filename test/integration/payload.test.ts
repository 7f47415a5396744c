import t, { type Test } from 'tap'
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestBroker, tempDir, type LineClient } from '../helpers/broker'
import { startLoggedBroker } from '../helpers/auth'

/**
 * The payload is sacred: what a publisher sends comes out byte for byte, in
 * the order sent, to a live subscriber, after a clean restart (topic log) and
 * after a crash (journal replay).
 */

/** Payloads JSON.parse + JSON.stringify would change: key order, number and string spellings, whitespace, the log's old `#seq`. */
const PAYLOADS = [
  String.raw`{"id":"p1","msg":"mine","#seq":"the publisher's own"}`,
  String.raw`{"msg":{"a":1.0,"b":1e2,"c":-0.0,"d":1E-7,"e":10.50},"id":"p2","2":"two","1":"one"}`,
  String.raw`{"id":"p3","msg":"caf\u00e9 \/ \ud83d\ude00 \"q\" \\ \n","é":"é","\u0041":"A","url":"http:\/\/x"}`,
  '  {  "id" : "p4" ,\t"priority" : 5 , "msg" : [ 1 , { "x" : null } ] ,"#seq":1 }',
  String.raw`{"msg":{"nested":{"deep":[true,false,null,{"#seq":1,"deliveries":2,"timestamp":3}]}},"id":"p5","__proto__":{"x":1},"constructor":"c"}`,
  String.raw`{"msg":"no id: the broker assigns one","#seq":12,"priority":3}`,
]
const ASSIGNED_ID = 2 // the warm-up pub took 1

/** The delivery the protocol promises for `text`: broker id/priority only when absent, the members verbatim, the timestamp and offset. */
function promised (topic: string, text: string, timestamp: string, offset: number): string {
  const obj = JSON.parse(text) as Record<string, unknown>
  const inner = text.trim().slice(1, -1)
  const head = (obj.id === undefined ? `"id":${ASSIGNED_ID},` : '') + (obj.priority === undefined ? '"priority":0,' : '')
  return `EVENT ${topic} {${head}${inner},"timestamp":${timestamp},"offset":${offset}}`
}

function idOf (line: string): string {
  return String((JSON.parse(line.slice(line.indexOf('{'))) as { id: unknown }).id)
}

/** Publishes every payload to `topic` (which has the subscribers `live` (anonymous), `keeper` and `waiter`). */
async function publishAll (t: Test, p: LineClient, live: LineClient, keeper: LineClient): Promise<Map<string, string>> {
  const delivered = new Map<string, string>()
  for (const [i, text] of PAYLOADS.entries()) {
    const reply = await p.request(`pub fidelity ${text}`)
    t.match(reply, /^OK \S+ published to fidelity \(3 subscribers\)$/)
    const line = await live.next()
    const ts = /,"timestamp":(\d+),"offset":\d+\}$/.exec(line)?.[1] ?? 'missing'
    t.equal(line, promised('fidelity', text, ts, i + 2), `live delivery of ${text.trim().slice(0, 40)}`) // the warm-up pub took offset 1
    t.equal(await keeper.next(), line, 'a named subscriber gets the same text')
    delivered.set(idOf(line), line)
  }
  return delivered
}

/** Subscribes `keeper` (gets everything) and `waiter` (cap 1: one delivered, the rest waiting) and an anonymous `live`. */
async function subscribeAll (tb: { client: () => Promise<LineClient> }): Promise<{ p: LineClient, live: LineClient, keeper: LineClient, waiter: LineClient }> {
  const p = await tb.client()
  await p.request('pub fidelity {"msg":"create the topic"}')
  const live = await tb.client()
  await live.request('sub fidelity 100')
  const keeper = await tb.client()
  await keeper.request('name keeper')
  await keeper.request('sub fidelity 100')
  const waiter = await tb.client()
  await waiter.request('name waiter')
  await waiter.request('sub fidelity 1')
  return { p, live, keeper, waiter }
}

/** After a restart: both named subscribers get every event again, each text exactly as first delivered (plus the count). */
async function checkResumed (t: Test, tb: { client: () => Promise<LineClient> }, delivered: Map<string, string>, waiterFirst: string): Promise<void> {
  const keeper = await tb.client()
  await keeper.request('name keeper')
  t.equal(await keeper.request('sub fidelity 100'), `OK subscribed to fidelity (max in flight 100, resumed with ${PAYLOADS.length} pending)`)
  const seen = new Set<string>()
  for (let i = 0; i < PAYLOADS.length; i++) {
    const line = await keeper.next()
    const id = idOf(line)
    seen.add(id)
    t.equal(line, delivered.get(id)!.slice(0, -1) + ',"deliveries":2}', `keeper gets ${id} byte for byte`)
  }
  t.equal(seen.size, PAYLOADS.length)
  const waiter = await tb.client()
  await waiter.request('name waiter')
  t.equal(await waiter.request('sub fidelity 1'), `OK subscribed to fidelity (max in flight 1, resumed with ${PAYLOADS.length} pending)`)
  let line = await waiter.next()
  t.equal(line, waiterFirst.slice(0, -1) + ',"deliveries":2}', 'the event the waiter had in flight comes back first')
  for (let i = 1; i < PAYLOADS.length; i++) {
    t.match(await waiter.request(`ack fidelity ${idOf(line)}`), /^OK acked/)
    line = await waiter.next()
    t.equal(line, delivered.get(idOf(line)), `waiter gets never-delivered ${idOf(line)} byte for byte, as a first delivery`)
  }
}

t.test('a live subscriber gets every publisher field byte for byte, in the order sent', async t => {
  const tb = await startTestBroker(t)
  const { p, live, keeper, waiter } = await subscribeAll(tb)
  const delivered = await publishAll(t, p, live, keeper)
  t.equal(await waiter.next(), delivered.get('p1'))
  // The exact text, for one payload, spelt out.
  t.match(delivered.get('p2'), /^EVENT fidelity \{"priority":0,"msg":\{"a":1\.0,"b":1e2,"c":-0\.0,"d":1E-7,"e":10\.50\},"id":"p2","2":"two","1":"one","timestamp":\d+,"offset":3\}$/)
  t.match(delivered.get(String(ASSIGNED_ID)), /^EVENT fidelity \{"id":2,"msg":"no id: the broker assigns one","#seq":12,"priority":3,"timestamp":\d+,"offset":7\}$/)
})

t.test('after a clean restart, named subscribers get the same bytes from the topic\'s segments', async t => {
  const dir = tempDir()
  let tb = await startTestBroker(t, { logDir: dir })
  const { p, live, keeper, waiter } = await subscribeAll(tb)
  const delivered = await publishAll(t, p, live, keeper)
  const waiterFirst = await waiter.next()
  await tb.stop()

  // The segment holds each event's text exactly as delivered, one per line, each line valid JSON.
  const lines = readFileSync(join(dir, 'topics', 'fidelity', '00000000000000000001.jsonl'), 'utf8').split('\n').slice(1, -1)
  t.same(lines, [...delivered.values()].map(l => l.slice('EVENT fidelity '.length)), 'the event texts are stored verbatim, in offset order')
  const events = lines.map(l => JSON.parse(l) as Record<string, unknown>)
  const publisherSeq = Object.fromEntries(events.filter(e => '#seq' in e).map(e => [String(e.id), e['#seq']]))
  t.same(publisherSeq, { p1: 'the publisher\'s own', p4: 1, [ASSIGNED_ID]: 12 }, 'a "#seq" in an event is the publisher\'s own')

  tb = await startTestBroker(t, { logDir: dir })
  await checkResumed(t, tb, delivered, waiterFirst)
})

t.test('after a crash, the journal replay gives back the same bytes', async t => {
  const dir = tempDir()
  // No batch runs: the events live only in the journal.
  const tb = await startTestBroker(t, { logDir: dir, batchIntervalMs: 3600000 })
  const { p, live, keeper, waiter } = await subscribeAll(tb)
  const delivered = await publishAll(t, p, live, keeper)
  const waiterFirst = await waiter.next()
  // A confirmed pub after the deliveries: every record before it is on disk.
  t.equal(await p.request('pub other {"msg":"barrier"}'), 'OK 1 published to other (0 subscribers)')
  t.equal(await keeper.request('ping'), 'OK PONG')
  // kill -9, as durability.test.ts does it: copy the directory as it is, without a final batch.
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  t.notOk(existsSync(join(copy, 'topics', 'fidelity')), 'no topic files: everything comes from the journal')
  await tb.stop()

  const tb2 = await startTestBroker(t, { logDir: copy })
  await checkResumed(t, tb2, delivered, waiterFirst)
})

t.test('a dead letter keeps the event\'s fields byte for byte', async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 1 })
  const p = await tb.client()
  await p.request('pub jobs {"msg":"create the topic"}')
  const s = await tb.client()
  await s.request('sub jobs')
  await p.request(String.raw`pub jobs { "id":"j1", "msg" : 1.0, "2":"\u00e9", "priority":4 }`)
  await s.next()
  t.equal(await s.request('nack jobs j1'), 'OK nacked j1 on jobs: moved to jobs.dlq after 1 deliveries')
  const d = await tb.client()
  await d.request('name dead-letters')
  await d.request('sub jobs.dlq')
  t.match(await d.next(), /^EVENT jobs\.dlq \{"id":1,"msg" : 1\.0,"2":"\\u00e9","priority":4,"deadLetter":\{"topic":"jobs","subscriber":null,"id":"j1","reason":"nack","deliveries":1,"at":\d+\},"timestamp":\d+,"offset":1\}$/)
})

t.test('a v1 topic log of format 1 (before the event text was kept apart) is migrated and read', async t => {
  // test/fixtures/topic-log-format1/orders.json was written by the broker of commit 32fd12f:
  // alice (cap 2, ack timeout 60 s) holds o-4 and o-2 in flight, event 2 waiting; o-1 was acked.
  // The migration gives the held events offsets in publish order: o-2 (seq 3) 1, event 2 (seq 4) 2, o-4 (seq 5) 3.
  const dir = tempDir()
  cpSync(join(__dirname, '..', 'fixtures', 'topic-log-format1', 'orders.json'), join(dir, 'orders.json'))
  let tb = await startTestBroker(t, { logDir: dir })
  const a = await tb.client()
  await a.request('name alice')
  t.equal(await a.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 3 pending)')
  t.equal(await a.next(), 'EVENT orders {"id":"o-4","priority":9,"msg":"urgent","source":"web","timestamp":1795490585191,"offset":3,"deliveries":2}')
  t.equal(await a.next(), 'EVENT orders {"1":"one","2":"two","id":"o-2","priority":5,"msg":"café","timestamp":1795490585190,"offset":1,"deliveries":2}')
  t.equal(await a.request('ack orders o-4'), 'OK acked o-4 on orders')
  t.equal(await a.next(), 'EVENT orders {"id":2,"priority":0,"msg":"no id given","price":1,"timestamp":1795490585191,"offset":2}')
  const p = await tb.client()
  t.equal(await p.request('pub orders {"msg":"next"}'), 'OK 3 published to orders (1 subscriber)', 'ids continue from the old nextAutoId')
  await tb.stop()

  // The v1 file is kept in the backup directory; the topic's events are in its v2 segment, with their offsets.
  const backup = readdirSync(dir).filter(f => f.startsWith('v1-backup-'))
  t.equal(backup.length, 1)
  t.same(readdirSync(join(dir, backup[0])), ['orders.json'])
  t.notOk(existsSync(join(dir, 'orders.json')))
  const segment = readFileSync(join(dir, 'topics', 'orders', '00000000000000000001.jsonl'), 'utf8')
  t.ok(segment.startsWith('{"1":"one","2":"two","id":"o-2","priority":5,"msg":"café","timestamp":1795490585190,"offset":1}\n'))
  tb = await startTestBroker(t, { logDir: dir })
  const a2 = await tb.client()
  await a2.request('name alice')
  t.equal(await a2.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 3 pending)')
  t.equal(await a2.next(), 'EVENT orders {"1":"one","2":"two","id":"o-2","priority":5,"msg":"café","timestamp":1795490585190,"offset":1,"deliveries":3}')
  t.equal(await a2.next(), 'EVENT orders {"id":2,"priority":0,"msg":"no id given","price":1,"timestamp":1795490585191,"offset":2,"deliveries":2}')
})

t.test('a topic log of format 2 that is not in the broker\'s layout is moved aside, saying why', async t => {
  const head = '{\n  "#meta": {"format":2,"topic":"t","seq":1,"nextAutoId":2,"journalGen":0,"subscribers":{"s":{"maxInFlight":1}}},\n'
  const entry = '{"seq":1,"deliveries":0,"event":{"id":1,"priority":0,"msg":1,"timestamp":5}}'
  const meta = '"topic":"t","seq":1,"nextAutoId":2,"journalGen":0,"subscribers":{}'
  const cases: Array<[string, RegExp | null]> = [
    [`${head}  "s": [\n    ${entry}\n  ]\n}\n`, null],
    [`${head}  "s": [\n  ],\n  "u": []\n}\n`, null],
    [`${head}  "s": [\n    ${entry},\n  ]\n}\n`, /^line 4: "," after the last entry of "s"$/],
    [`${head}  "s": [\n    ${entry}\n    ${entry}\n  ]\n}\n`, /^line 5: missing "," after the previous entry$/],
    [`${head}  "s": [\n    {"seq":1,"deliveries":0,"event":{"id":1,"priority":0,"msg":1} }\n  ]\n}\n`, /^line 4: s\[0\] event is not an object text from \{ to \}$/],
    [`${head}  "s": [\n    {"seq":x,"deliveries":0,"event":{}}\n  ]\n}\n`, /no valid "seq"$/],
    [`${head}  "s": [\n    {"seq":1,"deliveries":-1,"event":{"id":1,"priority":0,"msg":1}}\n  ]\n}\n`, /no valid "deliveries"$/],
    [`${head}  "s": [\n    {"seq":1,"deliveries":0,"event":{"msg":1}}\n  ]\n}\n`, /event has no id or priority$/],
    [`${head}  "s": [\n    {"seq":1,"deliveries":0,"event":{"id":1,"priority":0,"msg":1,}}\n  ]\n}\n`, /event is not valid JSON/],
    [`${head}  "s": [\n    ${entry} \n  ]\n}\n`, /does not end with \}$/],
    [`${head}  "s": [\n     ${entry}\n  ]\n}\n`, /does not start with \{"seq":$/],
    [`${head}  "s": [\n${entry}\n  ]\n}\n`, /expected an entry of "s"$/],
    [`${head}  "s": [\n    ${entry}\n  ]\n}\nmore\n`, /^line 7: text after the closing "}"$/],
    [`${head}  "s": []\n`, /^line 4: expected the closing "}"$/],
    [`${head}  "s": [\n    ${entry}`, /^line 5: the file ends inside "s"$/],
    [`${head}  "s": [\n    ${entry}\n`, /^line 5: expected an entry of "s"$/],
    [`${head}  "s": [],\n  "s": []\n}\n`, /^line 4: subscriber "s" appears twice$/],
    [`${head}  s: []\n}\n`, /^line 3: expected a subscriber's array$/],
    [`${head}  "s\\x": []\n}\n`, /^line 3: expected a subscriber name$/],
    [`${head}  "#meta": []\n}\n`, /^line 3: expected a subscriber name$/],
    [`{\n  "#meta": {"format":2,${meta},},\n  "s": []\n}\n`, /^line 2: "#meta" is not valid JSON/],
    [`{\n  "#meta": {"format":2,${meta},"format":3}\n}\n`, /^"#meta.format" is 3, expected 2$/],
    [`{\n  "#meta": {"format":2,${meta}},`, /^line 3: the file ends inside the object$/],
    [`{\n  "#meta": {"format":2,${meta.replace('"t"', '"u"')}}\n}\n`, /^"#meta.topic" is "u", expected "t"$/],
    [`{"#meta": {"format":3,${meta}}}`, /^"#meta.format" is 3: this broker reads formats 1 and 2$/],
  ]
  for (const [text, problem] of cases) {
    const dir = tempDir({ 't.json': text })
    const lb = await startLoggedBroker(t, { logDir: dir })
    // The migration reads v1 logs as v1 brokers did; then every v1 file, a damaged one too, goes to the backup directory.
    const backup = readdirSync(dir).find(f => f.startsWith('v1-backup-'))!
    const moved = readdirSync(join(dir, backup)).some(f => f.startsWith('t.json.damaged-'))
    const logged = lb.logs.find(l => l.msg === 'damaged topic log moved aside; recovering that topic from the journal only')
    if (problem === null) {
      t.notOk(moved || logged !== undefined, 'the layout the broker writes is read')
      t.match(JSON.parse((await (await lb.client()).request('stats t')).slice(3)), { topic: 't' })
    } else {
      t.ok(moved, `moved aside: ${String(problem)}`)
      t.match(logged?.error, problem)
    }
  }
})

t.test('a v1 journal\'s publish record must be in the v1 broker\'s layout; others are skipped as damaged', async t => {
  const dir = tempDir({
    'journal-1.ndjson': [
      '["T","j"]',
      '["S","j","s",10,30000]',
      '["P","j",1,{"id":"a","priority":0,"msg":1.0,"timestamp":5},["s"]]',
      '["P", "j",2,{"id":"b","priority":0,"msg":2,"timestamp":5},["s"]]',
      '["P","j",3,{"id":"c","priority":0,"msg":3,"timestamp":5} ,["s"]]',
      '["P","j",4,{"id":"d","priority":0,"msg":4,"timestamp":5},["s"],"extra"]',
      '["P","j",5,[],["s"]]',
    ].join('\n') + '\n',
  })
  const tb = await startTestBroker(t, { logDir: dir })
  const s = await tb.client()
  await s.request('name s')
  t.equal(await s.request('sub j'), 'OK subscribed to j (max in flight 10, resumed with 1 pending)')
  t.equal(await s.next(), 'EVENT j {"id":"a","priority":0,"msg":1.0,"timestamp":5,"offset":1}')
  t.ok(await s.quiet())
  const backup = readdirSync(dir).find(f => f.startsWith('v1-backup-'))!
  t.equal(readdirSync(join(dir, backup)).filter(f => f.startsWith('journal-1.ndjson.damaged-')).length, 1, 'a copy of the journal is kept')
})

t.test('the journal\'s publish record must be in the broker\'s layout; others are skipped as damaged', async t => {
  const dir = tempDir({
    'format.json': '{"format":2}\n',
    'journal-1.ndjson': [
      '["T","j"]',
      '["S","j","s",10,30000,1,0]',
      '["P","j",{"id":"a","priority":0,"msg":1.0,"timestamp":5,"offset":1}]',
      '["P", "j",{"id":"b","priority":0,"msg":2,"timestamp":5,"offset":2}]',
      '["P","j",{"id":"c","priority":0,"msg":3,"timestamp":5,"offset":3} ]',
      '["P","j",{"id":"d","priority":0,"msg":4,"timestamp":5,"offset":4},"extra"]',
      '["P","j",{"id":"e","priority":0,"msg":5,"timestamp":5}]',
      '["P","j",[]]',
    ].join('\n') + '\n',
  })
  const tb = await startTestBroker(t, { logDir: dir })
  const s = await tb.client()
  await s.request('name s')
  t.equal(await s.request('sub j'), 'OK subscribed to j (max in flight 10, resumed with 1 pending)')
  t.equal(await s.next(), 'EVENT j {"id":"a","priority":0,"msg":1.0,"timestamp":5,"offset":1}')
  t.ok(await s.quiet())
  t.equal(readdirSync(dir).filter(f => f.startsWith('journal-1.ndjson.damaged-')).length, 1, 'a copy of the journal is kept')
})
