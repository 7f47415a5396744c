import t from 'tap'
import { ackRecords, ackedRecord, batchMarker, committedRecord, deliveredRecord, hookRecord, hookStateRecord, parseStateLine, snapshotLines, subscribedRecord, unsubscribedRecord } from '../../src/persistence/stateCodec'
import { TopicState } from '../../src/persistence/topicState'

/** Everything a subscription holds, comparable with t.same. */
function view (state: TopicState): Record<string, unknown> {
  const out: Record<string, unknown> = { gen: state.gen, nextOffset: state.nextOffset, nextAutoId: state.nextAutoId }
  for (const s of state.subs.values()) {
    const runs: number[][] = []
    s.waiting.forEachRun((p, a, b) => runs.push([p, a, b]))
    const delivered: number[][] = []
    s.forEachDelivered((o, p, n) => delivered.push([o, p, n]))
    delivered.sort((a, b) => a[0] - b[0])
    out[s.name] = { maxInFlight: s.maxInFlight, ackTimeoutMs: s.ackTimeoutMs, start: s.start, to: s.to, runs, delivered }
  }
  return out
}

function applyAll (state: TopicState, lines: string[]): void {
  for (const l of lines) state.apply(parseStateLine(l))
}

t.test('records encode as JSON arrays and parse back', async t => {
  const lines = [
    subscribedRecord('alice', 10, 30000, 1, 0),
    unsubscribedRecord('bob'),
    deliveredRecord('alice', 5, 3, 2),
    ackedRecord('alice', 5, 9),
    committedRecord('alice', 12),
    batchMarker(7, 43, 12),
  ]
  t.same(lines, ['["S","alice",10,30000,1,0]', '["U","bob"]', '["D","alice",5,3,2]', '["A","alice",5,9]', '["C","alice",12]', '["G",7,43,12]'])
  for (const l of lines) t.same(parseStateLine(l), JSON.parse(l))
  t.same(subscribedRecord('we"ird', 1, 2, 3, 4), '["S","we\\"ird",1,2,3,4]', 'names are JSON strings')
})

t.test('acks coalesce into ranges', async t => {
  t.same(ackRecords('a', [5, 3, 4, 9, 10, 1, 4]), ['["A","a",1,1]', '["A","a",3,5]', '["A","a",9,10]'])
  t.same(ackRecords('a', []), [])
})

t.test('malformed lines are refused with a reason', async t => {
  const bad: Array<[string, RegExp | typeof SyntaxError]> = [
    ['{"S":1}', /not a state record/],
    ['[]', /not a state record/],
    ['[1]', /not a state record/],
    ['["Z","a"]', /unknown record kind "Z"/],
    ['["__proto__","a"]', /unknown record kind/],
    ['["S","a",1,2,3]', /malformed S/],
    ['["S","",1,2,3,4]', /malformed S/],
    ['["S","a",1,2,3,4,-1]', /malformed S/],
    ['["U"]', /malformed U/],
    ['["D","a",1,10,1]', /malformed D/],
    ['["D","a",[1,2]]', /malformed D/],
    ['["D","a",[1,12,1]]', /malformed D/],
    ['["A","a",5,4]', /malformed A/],
    ['["A","a",1.5,4]', /malformed A/],
    ['["C","a"]', /malformed C/],
    ['["G",1,2]', /malformed G/],
    ['["W","a",0,[5,4]]', /malformed W/],
    ['["W","a",0,[1]]', /malformed W/],
    ['["END"]', /malformed END/],
    ['["A","a",1,2', SyntaxError],
  ]
  for (const [line, re] of bad) t.throws(() => parseStateLine(line), re, line)
})

t.test('a state is rebuilt from records, then the tail of events after the last snapshot', async t => {
  const st = new TopicState('orders')
  applyAll(st, [
    subscribedRecord('alice', 2, 1000, 1, 0),
    deliveredRecord('alice', 1, 0, 1),
    deliveredRecord('alice', 3, 9, 1),
    ackedRecord('alice', 1, 1), // delivered then acked before the tail is listed
    deliveredRecord('alice', 3, 9, 2),
    subscribedRecord('bob', 5, 1000, 4, 6), // a range subscription: offsets 4-6
    subscribedRecord('alice', 3, 2000, 99, 99), // settings change: start and to stay
    deliveredRecord('ghost', 1, 0, 1), // an unknown subscription: ignored
    batchMarker(4, 9, 3),
  ])
  t.equal(st.tailFrom(), 1)
  const priorities = [0, 0, 9, 5, 0, 5, 0, 0]
  for (let o = 1; o <= 8; o++) st.addTail(o, priorities[o - 1])
  st.finishTail(9)
  t.same(view(st), {
    gen: 4,
    nextOffset: 9,
    nextAutoId: 3,
    alice: { maxInFlight: 3, ackTimeoutMs: 2000, start: 1, to: 0, runs: [[5, 4, 4], [5, 6, 6], [0, 2, 2], [0, 5, 5], [0, 7, 8]], delivered: [[3, 9, 2]] },
    bob: { maxInFlight: 5, ackTimeoutMs: 1000, start: 4, to: 6, runs: [[5, 4, 4], [5, 6, 6], [0, 5, 5]], delivered: [] },
  })
  t.equal(st.lowestOwed(), 2)
  applyAll(st, [
    deliveredRecord('alice', 2, 0, 1),
    deliveredRecord('alice', 4, 5, 1),
    committedRecord('alice', 3), // acks delivered 2 and 3, not waiting ones, not 4
    ackedRecord('bob', 4, 6),
    unsubscribedRecord('bob'),
    deliveredRecord('alice', 9, 0, 1), // after the tail was listed: a new event delivered
    ackedRecord('alice', 9, 9),
  ])
  t.same((view(st).alice as { delivered: unknown }).delivered, [[4, 5, 1]])
  t.notOk(st.subs.has('bob'))
  t.equal(st.lowestOwed(), 4)
  t.equal(st.liveEntries(), 1 + 3 + 1, 'one subscription, three runs, one delivery')
  t.throws(() => st.apply(['END', 3]), /"END" does not belong/)
})

t.test('the tail: offsets taken before the listing are not owed again; a fresh subscription starts where it says', async t => {
  const st = new TopicState('t')
  st.applyHeader({ snapshot: 3, topic: 't', gen: 2, nextOffset: 101, nextAutoId: 1 })
  applyAll(st, [
    '["S","a",1,1,1,0,101]', // from a snapshot: offsets < 101 listed below it
    '["W","a",0,[50,100]]',
    subscribedRecord('late', 1, 1, 103, 0), // created after the snapshot: owed from 103
    deliveredRecord('a', 101, 0, 1),
    ackedRecord('a', 101, 102), // 102 acked straight from the tail (a drop)
  ])
  t.equal(st.tailFrom(), 101)
  for (let o = 101; o <= 105; o++) st.addTail(o, 0)
  st.finishTail(106)
  const v = view(st)
  t.same((v.a as { runs: unknown }).runs, [[0, 50, 100], [0, 103, 105]])
  t.same((v.late as { runs: unknown }).runs, [[0, 103, 105]])
  t.equal(st.tailFrom(), 106)
  t.throws(() => st.applyHeader({ snapshot: 1, topic: 'other', gen: 0, nextOffset: 1, nextAutoId: 1 }), /not "t"/)
})

t.test('snapshot lines: one per subscription plus its runs and deliveries, read back to the same state', async t => {
  const st = new TopicState('orders')
  applyAll(st, [subscribedRecord('alice', 10, 30000, 1, 0), subscribedRecord('bob', 1, 5, 1, 0)])
  for (let o = 1; o <= 3000; o++) st.addTail(o, o % 3 === 0 ? 7 : 0)
  st.finishTail(3001)
  applyAll(st, [deliveredRecord('alice', 3, 7, 4), deliveredRecord('bob', 1, 0, 1)])
  const lines = [...snapshotLines({ snapshot: 2, topic: 'orders', gen: 5, nextOffset: 3001, nextAutoId: 9 }, st.images())]
  t.equal(JSON.parse(lines[0]).snapshot, 2)
  t.same(JSON.parse(lines[lines.length - 1]), ['END', lines.length])
  const wLines = lines.filter(l => l.startsWith('["W","alice"'))
  t.ok(wLines.length >= 3, 'runs are spread over lines of at most 512')
  for (const l of wLines) t.ok((JSON.parse(l)[3] as number[]).length <= 1024)
  const back = new TopicState('orders')
  back.applyHeader(JSON.parse(lines[0]))
  applyAll(back, lines.slice(1, -1))
  back.finishTail(3001)
  t.same(view(back), { ...view(st), gen: 5, nextAutoId: 9 })
})

t.test('a snapshot is as big as the live state, not the backlog: 1,000,000 pending in one run is a few lines', async t => {
  const st = new TopicState('big')
  applyAll(st, [subscribedRecord('offline', 10, 30000, 1, 0)])
  for (let o = 1; o <= 1_000_000; o++) st.addTail(o, 0)
  st.finishTail(1_000_001)
  t.equal(st.subs.get('offline')!.waiting.size, 1_000_000)
  const text = [...snapshotLines({ snapshot: 2, topic: 'big', gen: 1, nextOffset: 1_000_001, nextAutoId: 1 }, st.images())].join('\n')
  t.ok(text.length < 200, `${text.length} characters: ${text}`)
  t.equal(st.liveEntries(), 2)
})

t.test('webhook subscribers: H and F records, in the log and in a snapshot, read back to the same settings and retry state', async t => {
  const h = hookRecord('webhook:billing', 'https://example.com/in?a="b"', 'whsec_AAAA', null)
  const f = hookStateRecord('webhook:billing', 3, 1700000000000, null)
  const gone = hookStateRecord('webhook:billing', 4, null, 'https://example.com answered 410 Gone')
  t.equal(h, '["H","webhook:billing","https://example.com/in?a=\\"b\\"","whsec_AAAA",null]')
  t.equal(hookRecord('x', 'http://a/', 's', 5), '["H","x","http://a/","s",5]')
  t.equal(f, '["F","webhook:billing",3,1700000000000,null]')
  for (const l of [h, f, gone]) t.same(parseStateLine(l), JSON.parse(l))
  for (const bad of ['["H","x","http://a/","s",0]', '["H","x","","s",null]', '["H","x","u","s"]', '["F","x",-1,null,null]', '["F","x",1,"soon",null]', '["F","x",1,null,""]']) {
    t.throws(() => parseStateLine(bad), /malformed/, bad)
  }

  const st = new TopicState('orders')
  applyAll(st, [subscribedRecord('webhook:billing', 10, 21000, 1, 0), f, h])
  t.same(st.subs.get('webhook:billing')!.hook, { url: 'https://example.com/in?a="b"', secret: 'whsec_AAAA', maxDeliveries: null, failures: 0, nextAttemptAt: null, disabledReason: null },
    'H starts a clear retry state (an F before it, for a subscription not yet a webhook, is ignored)')
  applyAll(st, [f, gone])
  const hook = st.subs.get('webhook:billing')!.hook
  t.same(hook, { url: 'https://example.com/in?a="b"', secret: 'whsec_AAAA', maxDeliveries: null, failures: 4, nextAttemptAt: null, disabledReason: 'https://example.com answered 410 Gone' })
  applyAll(st, [hookStateRecord('nobody', 1, null, null), hookRecord('nobody', 'http://a/', 's', 1)])
  t.notOk(st.subs.has('nobody'), 'records of an unknown subscription are ignored')

  st.finishTail(1)
  const lines = [...snapshotLines({ snapshot: 1, topic: 'orders', gen: 1, nextOffset: 1, nextAutoId: 1 }, st.images())]
  t.same(lines.slice(1, -1).map(l => JSON.parse(l)[0]), ['S', 'H', 'F'])
  t.same(JSON.parse(lines[lines.length - 1]), ['END', lines.length], 'the line count includes them')
  const back = new TopicState('orders')
  back.applyHeader(JSON.parse(lines[0]))
  applyAll(back, lines.slice(1, -1))
  t.same(back.subs.get('webhook:billing')!.hook, hook)
  applyAll(back, [unsubscribedRecord('webhook:billing')])
  t.equal(back.subs.size, 0, 'U ends a webhook like any subscription')
})
