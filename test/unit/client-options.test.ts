import t from 'tap'
import { backoffDelay } from '../../src/client/backoff'
import { CLIENT_DEFAULTS, resolveOptions } from '../../src/client/options'
import { Emitter } from '../../src/client/emitter'
import { columns, formatBrokerStats, formatTopics, formatTopicStats } from '../../src/clientCli/statsTable'
import { parseFrom, subscribeOptions } from '../../src/clientCli/sub'

t.test('defaults, then the environment, then what the caller gives', async t => {
  const r = resolveOptions({}, {})
  t.match(r, { host: '127.0.0.1', port: 8000, tls: false, user: null, name: null, publishWindow: 1000, connectTimeoutMs: 10000, closeTimeoutMs: 10000 })
  t.same(r.reconnect, CLIENT_DEFAULTS.reconnect)
  t.match(resolveOptions({}, { ACKLINE_HOST: '::1', ACKLINE_PORT: '9001' }), { host: '::1', port: 9001 })
  t.match(resolveOptions({ host: 'h', port: 1 }, { ACKLINE_HOST: 'x', ACKLINE_PORT: '9001' }), { host: 'h', port: 1 }, 'options win')
  t.match(resolveOptions({}, { ACKLINE_HOST: '', ACKLINE_PORT: '' }), { host: '127.0.0.1', port: 8000 }, 'empty variables are unset')
  t.same(resolveOptions({ tls: true }, {}).tls, {})
  t.equal(resolveOptions({ reconnect: false }, {}).reconnect, null)
  t.same(resolveOptions({ reconnect: { maxAttempts: 3 } }, {}).reconnect, { ...CLIENT_DEFAULTS.reconnect, maxAttempts: 3 })
  t.match(resolveOptions({ user: 'u', password: 'p', name: 'n' }, {}), { user: 'u', password: 'p', name: 'n' })
  t.match(resolveOptions({}, {}), { url: null, maxFrameBytes: 1048576 })
  t.match(resolveOptions({ maxFrameBytes: 64 }, {}, 'wss://broker.example:8443/ws'), { url: 'wss://broker.example:8443/ws', maxFrameBytes: 64 })
  t.match(resolveOptions({}, {}, 'WS://127.0.0.1:8080/ws'), { url: 'WS://127.0.0.1:8080/ws' })
})

t.test('bad options are a TypeError naming the option', async t => {
  t.throws(() => resolveOptions({ port: 0 }, {}), { name: 'TypeError', message: /port must be an integer from 1 to 65535, got 0/ })
  t.throws(() => resolveOptions({}, { ACKLINE_PORT: '80x' }), { message: /got 80x/ })
  t.throws(() => resolveOptions({ publishWindow: 0 }, {}), { message: /publishWindow must be an integer of at least 1, got 0/ })
  t.same(resolveOptions({ publishWindow: 1 }, {}).publishWindow, 1, 'the smallest window')
  t.throws(() => resolveOptions({ maxLineBytes: 63 }, {}), { message: /maxLineBytes/ })
  t.throws(() => resolveOptions({ maxFrameBytes: 63 }, {}), { message: /maxFrameBytes must be an integer of at least 64/ })
  for (const url of ['http://h/ws', 'ws://', 'ws:///ws', 'h:8080', '']) {
    t.throws(() => resolveOptions({}, {}, url), { name: 'TypeError', message: /must start with ws:\/\/ or wss:\/\// }, JSON.stringify(url))
  }
  t.throws(() => resolveOptions({ connectTimeoutMs: 1.5 }, {}), { message: /connectTimeoutMs/ })
  t.throws(() => resolveOptions({ password: 'p' }, {}), { message: 'user and password go together' })
  t.throws(() => resolveOptions({ reconnect: { initialDelayMs: 10, maxDelayMs: 5 } }, {}), { message: /delays/ })
  t.throws(() => resolveOptions({ reconnect: { factor: 0.5 } }, {}), { message: /factor/ })
  t.throws(() => resolveOptions({ reconnect: { jitter: 2 } }, {}), { message: /jitter/ })
  t.throws(() => resolveOptions({ reconnect: { maxAttempts: 0 } }, {}), { message: /maxAttempts/ })
})

t.test('backoff: exponential, capped, with its random part', async t => {
  const opts = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5, maxAttempts: Infinity }
  const none = (): number => 0
  const most = (): number => 0.999999
  t.same([1, 2, 3, 4, 5, 6].map(a => backoffDelay(a, opts, none)), [100, 200, 400, 800, 1000, 1000])
  t.same([1, 2, 5].map(a => backoffDelay(a, opts, most)), [50, 100, 500], 'at most half of each delay is taken off')
  t.equal(backoffDelay(3, { ...opts, jitter: 0 }, most), 400)
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, opts)
    t.ok(d >= 100 && d <= 200, `${d} within [100, 200]`)
  }
})

t.test('Emitter: on, once, off; a listener that throws does not stop the others', async t => {
  class E extends Emitter<{ ping: number }> {
    fire (n: number): void { this.emit('ping', n) }
  }
  const e = new E()
  const got: string[] = []
  const a = (n: number): void => { got.push(`a${n}`) }
  e.on('ping', a)
  e.once('ping', (n) => got.push(`once${n}`))
  e.on('ping', () => { throw new Error('listener bug') })
  e.on('ping', (n) => got.push(`c${n}`))
  const rethrown: Array<() => void> = []
  const realQueueMicrotask = globalThis.queueMicrotask
  globalThis.queueMicrotask = (fn) => { rethrown.push(fn) }
  try {
    e.fire(1)
    e.off('ping', a)
    e.fire(2)
  } finally {
    globalThis.queueMicrotask = realQueueMicrotask
  }
  t.same(got, ['a1', 'once1', 'c1', 'c2'])
  t.equal(rethrown.length, 2, "the listener's error is rethrown on its own turn, once per event")
  t.throws(rethrown[0], { message: 'listener bug' })
})

t.test('stats tables', async t => {
  t.equal(columns([['a', 'bb', 'c'], ['ccc', 'd', 'e']]), 'a    bb  c\nccc  d   e\n')
  const table = formatBrokerStats({
    topics: 2, subscriptions: 3, pending: 4, inFlight: 5, connections: 6, published: 7, delivered: 8, acked: 9, redelivered: 1,
    deadLettered: 2, deadLetterBlocked: 1, dropped: 0, pendingBytes: 5 * 1024 * 1024, rates: { published: 1.25, delivered: 0, acked: 12 },
    memory: { rss: 3 * 1024 * 1024 * 1024, heapUsed: 2048 }, uptimeMs: 90061000, accepted: 10, limitHits: { maxConnections: 0, maxTopics: 2 },
  })
  t.equal(table, [
    'topics         2',
    'subscriptions  3',
    'pending        4',
    'in flight      5',
    'connections    6 open, 10 accepted since start',
    'published      7 (1.3/s)',
    'delivered      8 (0/s)',
    'acked          9 (12/s)',
    'redelivered    1',
    'dead-lettered  2, 1 blocked',
    'dropped        0',
    'pending bytes  5.0 MiB',
    'memory         rss 3.0 GiB, heap 2.0 KiB',
    'uptime         1 d 1 h',
    'limit hits     maxTopics 2',
    '',
  ].join('\n'))
  t.match(formatBrokerStats({
    topics: 0, subscriptions: 0, pending: 0, inFlight: 0, connections: 1, published: 0, delivered: 0, acked: 0, redelivered: 0,
    deadLettered: 0, deadLetterBlocked: 0, dropped: 0, pendingBytes: 10, rates: { published: 0, delivered: 0, acked: 0 },
    memory: { rss: 0, heapUsed: 0 }, uptimeMs: 3725000, accepted: 1, limitHits: {},
  }), /pending bytes {2}10 B\n.*\nuptime {9}1 h 2 min\nlimit hits {5}none\n$/s)
  t.equal(formatTopicStats({ topic: 'x', published: 0, subscriptions: 0, pending: 0, inFlight: 0, subscribers: [] }),
    'topic x: 0 published, 0 subscriptions, 0 pending, 0 in flight\n')
})

t.test('topics table', async t => {
  t.equal(formatTopics([]), 'no topics\n')
  t.equal(formatTopics([
    { topic: 'orders', firstOffset: 3, lastOffset: 42, retainedEvents: 40, retainedBytes: 4711, subscribers: 2, pending: 7 },
    { topic: 'empty', firstOffset: 0, lastOffset: 0, retainedEvents: 0, retainedBytes: 0, subscribers: 0, pending: 0 },
  ]), [
    'TOPIC   OFFSETS     RETAINED  BYTES    SUBSCRIBERS  PENDING',
    'orders  3-42        40        4.6 KiB  2            7',
    'empty   - (last 0)  0         0 B      0            0',
    '',
  ].join('\n'))
})

t.test('sub flags: --from, --to, --group, --ack, --in-flight', async t => {
  t.equal(parseFrom('beginning'), 'beginning')
  t.equal(parseFrom('latest'), 'latest')
  t.equal(parseFrom('1'), 1)
  t.equal(parseFrom('42'), 42)
  t.same(parseFrom('time:1700000000000'), { time: 1700000000000 })
  t.same(parseFrom('2026-11-24T06:00:00Z'), { time: Date.UTC(2026, 10, 24, 6) })
  for (const bad of ['start', '0', '-1', '1.5', 'time:', 'time:x', '2026-13-45', '']) {
    t.throws(() => parseFrom(bad), { message: /^--from must be beginning, latest, an offset, time:<unix-ms> or a date/ }, JSON.stringify(bad))
  }
  t.same(subscribeOptions({}), {})
  t.same(subscribeOptions({ inFlight: '5', from: 'beginning', to: '9', group: 'g', ack: 'none' }), { maxInFlight: 5, from: 'beginning', to: 9, group: 'g', ack: 'none' })
  t.same(subscribeOptions({ ack: 'each' }), { ack: 'each' })
  t.throws(() => subscribeOptions({ ack: 'some' }), { message: '--ack must be each or none, got "some"' })
  t.throws(() => subscribeOptions({ to: 'end' }), { message: '--to must be an offset (from 1), got "end"' })
  t.throws(() => subscribeOptions({ inFlight: '0' }), { message: /--in-flight must be an integer from 1/ })
})
