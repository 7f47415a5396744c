import t from 'tap'
import { AcklineClient } from '../../src/client/client'
import type { AcklineError } from '../../src/client/errors'
import { resolveOptions, type ConnectOptions } from '../../src/client/options'
import type { Transport, TransportHandlers } from '../../src/client/transport'

/**
 * The client's side of subscribe options, END lines and topic admin, with a
 * scripted broker: each connection is a fake transport that records the lines
 * sent and answers `ping` and `name`; the test plays the rest. The broker
 * commands themselves are tested against the real broker in
 * test/integration/client*.test.ts.
 */
class FakeConnection implements Transport {
  readonly sent: string[] = []
  constructor (readonly handlers: TransportHandlers) {}
  send (lines: readonly string[]): void {
    for (const line of lines) {
      this.sent.push(line)
      if (line === 'ping') queueMicrotask(() => this.handlers.line('OK PONG'))
      if (line.startsWith('name ')) queueMicrotask(() => this.handlers.line(`OK hello ${line.slice(5)}`))
    }
  }

  end (): void { queueMicrotask(() => this.handlers.closed(null)) }
  destroy (): void {}
  /** Lines sent since the connection opened, but `ping` and `name`. */
  get commands (): string[] {
    return this.sent.filter(l => l !== 'ping' && !l.startsWith('name '))
  }
}

async function fakeClient (opts: ConnectOptions = {}): Promise<{ c: AcklineClient, conns: FakeConnection[] }> {
  const conns: FakeConnection[] = []
  const c = new AcklineClient(resolveOptions({ reconnect: { initialDelayMs: 0, maxDelayMs: 0 }, closeTimeoutMs: 200, ...opts }, {}), async (handlers) => {
    const conn = new FakeConnection(handlers)
    conns.push(conn)
    return conn
  })
  await c.start()
  return { c, conns }
}

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

const event = (id: string, offset: number): string => `{"id":"${id}","priority":5,"msg":1,"timestamp":1,"offset":${offset}}`

t.test('subscribe sends its options as the sub line', async t => {
  const { c, conns } = await fakeClient()
  c.subscribe('a', { maxInFlight: 10, ackTimeoutMs: 500, from: 'beginning', to: 100, group: 'g', ack: 'none' })
  c.subscribe('b', { from: new Date(1700000000000) })
  t.throws(() => c.subscribe('c', { from: -1 }), { code: 'BAD_OPTION' }, 'a bad option throws at once, nothing sent')
  t.throws(() => c.subscribe('c', { ack: 'none', maxBuffered: 0 }), { code: 'BAD_ARGS', message: /maxBuffered must be a positive integer/ })
  await tick()
  t.same(conns[0].commands, ['sub a 10 500 from=beginning to=100 group=g ack=none', 'sub b from=time:1700000000000'])
  await c.close()
})

t.test('ack: none: ack sends nothing and resolves true; nack and touch send nothing and resolve false', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('m', { ack: 'none' })
  await tick()
  conns[0].handlers.line('OK subscribed to m (max in flight 100)')
  conns[0].handlers.line(`EVENT m ${event('e1', 1)}`)
  const { value: ev } = await sub.next()
  t.equal(await ev.ack(), true)
  t.equal(await ev.nack(), false)
  t.equal(await ev.touch(), false)
  await t.rejects(ev.nack(-1), { code: 'BAD_DELAY' }, 'a bad argument still rejects')
  t.same(conns[0].commands, ['sub m ack=none'], 'no ack, nack or touch on the wire')
  await c.close()
})

t.test('ack: none: a loop that falls behind keeps the newest maxBuffered events', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('m', { ack: 'none', maxBuffered: 3 })
  await tick()
  conns[0].handlers.line('OK subscribed to m (max in flight 100)')
  for (let i = 1; i <= 3; i++) conns[0].handlers.line(`EVENT m ${event(`e${i}`, i)}`)
  t.equal(sub.buffered, 3)
  t.equal(sub.dropped, 0, 'exactly maxBuffered: nothing dropped')
  conns[0].handlers.line(`EVENT m ${event('e4', 4)}`)
  t.equal(sub.buffered, 3)
  t.equal(sub.dropped, 1, 'one more: the oldest goes')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await sub.next()).value.id)
  t.same(ids, ['e2', 'e3', 'e4'])
  await c.close()
})

t.test('with acks, nothing is dropped: the in-flight cap bounds what waits', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('m', { maxBuffered: 1 })
  await tick()
  conns[0].handlers.line('OK subscribed to m (max in flight 5)')
  for (let i = 1; i <= 5; i++) conns[0].handlers.line(`EVENT m ${event(`e${i}`, i)}`)
  t.equal(sub.buffered, 5)
  t.equal(sub.dropped, 0)
  await c.close()
})

t.test('END <topic> <to>: the loop hands out what it holds, then ends; the client forgets the subscription', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('r', { from: 1, to: 2 })
  await tick()
  const conn = conns[0]
  conn.handlers.line('OK subscribed to r (max in flight 100)')
  conn.handlers.line(`EVENT r ${event('a', 1)}`)
  conn.handlers.line(`EVENT r ${event('b', 2)}`)
  conn.handlers.line('END r 2')
  const seen: string[] = []
  for await (const ev of sub) seen.push(`${ev.id}@${ev.offset}`)
  t.same(seen, ['a@1', 'b@2'])
  t.same(sub.endedBy, { reason: 'range', to: 2 })
  t.same(conn.commands, ['sub r from=1 to=2'], 'the loop ended by the broker sends no unsub')
  c.subscribe('r')
  await tick()
  t.equal(conn.commands.at(-1), 'sub r', 'the topic can be subscribed to again')
  await c.close()
})

t.test('END <topic> deleted: the loop throws TOPIC_DELETED after what it holds; an END for no subscription is ignored', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('d')
  await tick()
  const conn = conns[0]
  conn.handlers.line('OK subscribed to d (max in flight 100)')
  conn.handlers.line(`EVENT d ${event('a', 1)}`)
  conn.handlers.line('END d deleted')
  conn.handlers.line('END other deleted')
  conn.handlers.line('END d deleted')
  const seen: string[] = []
  let thrown: AcklineError | null = null
  try {
    for await (const ev of sub) seen.push(ev.id)
  } catch (err) {
    thrown = err as AcklineError
  }
  t.same(seen, ['a'])
  t.match(thrown, { name: 'AcklineError', code: 'TOPIC_DELETED', message: 'topic d was deleted' })
  t.same(sub.endedBy, { reason: 'deleted' })
  t.equal(c.connected, true, 'the connection carries on')
  await c.close()
})

t.test('END <topic> forgotten: the loop of a group member throws GROUP_FORGOTTEN', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('jobs', { group: 'workers' })
  await tick()
  conns[0].handlers.line('OK subscribed to jobs (group workers, max in flight 100)')
  conns[0].handlers.line('END jobs forgotten')
  await t.rejects(sub.next(), { code: 'GROUP_FORGOTTEN' })
  t.same(sub.endedBy, { reason: 'forgotten' })
  await c.close()
})

t.test('an END reason this client does not know ends the loop with SUBSCRIPTION_ENDED, also while the loop waits', async t => {
  const { c, conns } = await fakeClient()
  const sub = c.subscribe('x')
  await tick()
  conns[0].handlers.line('OK subscribed to x (max in flight 100)')
  const next = sub.next()
  conns[0].handlers.line('END x evicted by an operator')
  await t.rejects(next, { code: 'SUBSCRIPTION_ENDED', message: 'the broker ended the subscription to x: evicted by an operator' })
  t.same(await sub.next(), { value: undefined, done: true })
  await c.close()
})

t.test('after a reconnect an anonymous subscription starts at "now": its from= is not sent again, and the app is told', async t => {
  const { c, conns } = await fakeClient()
  const anon = c.subscribe('anon', { maxInFlight: 5, from: 'beginning' })
  const grouped = c.subscribe('grouped', { from: 'beginning', group: 'g' })
  const range = c.subscribe('range', { from: 1, to: 50 })
  const told: Array<{ topic: string, resumed: boolean, from: string }> = []
  c.on('resubscribed', (e) => told.push(e))
  await tick()
  conns[0].handlers.line('OK subscribed to anon (max in flight 5)')
  conns[0].handlers.line('OK subscribed to grouped (max in flight 100)')
  conns[0].handlers.line('OK subscribed to range (max in flight 100)')
  for (const topic of ['anon', 'grouped', 'range']) conns[0].handlers.line(`EVENT ${topic} ${event(`${topic}-1`, 1)}`)
  const back = new Promise(resolve => c.once('reconnect', resolve))
  conns[0].handlers.closed(null)
  t.equal(anon.buffered, 1, 'anonymous: what arrived is still handed out')
  t.equal(grouped.buffered, 0, "a group's: dropped, the group's queue has it again")
  t.equal((await range.next()).value.id, 'range-1', 'an anonymous range hands out what it holds,')
  await t.rejects(range.next(), { code: 'DISCONNECTED', message: /the anonymous range subscription to range ends with it/ }, 'then throws: made again at "now" it would skip the rest')
  await back
  await tick()
  t.same(conns[1].commands, ['sub anon 5', 'sub grouped from=beginning group=g'], 'a group is durable: its line goes again as it was')
  conns[1].handlers.line('OK subscribed to anon (max in flight 5)')
  conns[1].handlers.line('OK subscribed to grouped (max in flight 100, resumed with 0 pending)')
  await tick()
  t.same(told, [{ topic: 'anon', resumed: false, from: 'latest' }, { topic: 'grouped', resumed: true, from: 'resumed' }])
  c.subscribe('range')
  await tick()
  t.equal(conns[1].commands.at(-1), 'sub range', 'the ended range is forgotten: its topic can be subscribed to again')
  await c.close()
})

t.test('a named client sends the same sub line again: the broker resumes it and ignores from=', async t => {
  const { c, conns } = await fakeClient({ name: 'w1' })
  c.subscribe('jobs', { from: 42 })
  await tick()
  conns[0].handlers.line('OK subscribed to jobs (max in flight 100)')
  const back = new Promise(resolve => c.once('reconnect', resolve))
  conns[0].handlers.closed(null)
  await back
  await tick()
  t.same(conns[1].commands, ['sub jobs from=42'])
  await c.close()
})

t.test('topics, create and delete: their lines, replies and errors', async t => {
  const { c, conns } = await fakeClient()
  const conn = conns[0]
  const listed = c.topics()
  const created = c.create('fresh')
  const exists = c.create('fresh')
  const deleted = c.delete('fresh')
  await t.rejects(c.create('a b'), { code: 'BAD_TOPIC' }, 'refused without sending')
  await tick()
  t.same(conn.commands, ['topics', 'create fresh', 'create fresh', 'delete fresh'])
  const row = { topic: 'orders', firstOffset: 1, lastOffset: 42, retainedEvents: 42, retainedBytes: 4711, subscribers: 2, pending: 7 }
  conn.handlers.line(`OK ${JSON.stringify([row])}`)
  conn.handlers.line('OK created fresh')
  conn.handlers.line('ERR TOPIC_EXISTS topic fresh already exists')
  conn.handlers.line('OK deleted fresh')
  t.same(await listed, [row])
  t.equal(await created, undefined)
  await t.rejects(exists, { name: 'AcklineError', code: 'TOPIC_EXISTS', command: 'create fresh' })
  t.equal(await deleted, undefined)
  const bad = c.topics()
  await tick()
  conn.handlers.line('OK not json')
  await t.rejects(bad, { code: 'PROTOCOL', message: /the reply to topics is not JSON/ })
  await c.close()
})

t.test('a duplicate publish resolves with duplicate: true', async t => {
  const { c, conns } = await fakeClient()
  const first = c.publish('orders', { id: 'o-1', msg: 1 })
  const again = c.publish('orders', { id: 'o-1', msg: 1 })
  await tick()
  conns[0].handlers.line('OK o-1 published to orders (0 subscribers)')
  conns[0].handlers.line('OK o-1 duplicate, already published to orders')
  t.same(await first, { id: 'o-1', duplicate: false, subscribers: 0, dropped: 0 })
  t.same(await again, { id: 'o-1', duplicate: true, subscribers: 0, dropped: 0 })
  await c.close()
})

t.test('topic patterns: * is one word, # zero or more (RabbitMQ topic semantics)', async t => {
  const { isTopicPattern, topicMatches } = await import('../../src/client/topicPattern')
  t.equal(isTopicPattern('orders.*'), true)
  t.equal(isTopicPattern('#'), true)
  t.equal(isTopicPattern('orders.eu'), false)
  t.equal(isTopicPattern('a*b'), false, 'a * inside a word is not a wildcard')
  const cases: Array<[string, string, boolean]> = [
    ['orders.*', 'orders.eu', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.eu.x', false],
    ['orders.#', 'orders', true],
    ['orders.#', 'orders.eu.x', true],
    ['orders.#', 'order.eu', false],
    ['#', 'anything.at.all', true],
    ['*.eu', 'orders.eu', true],
    ['*.eu', 'eu', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['a.#.#.z', 'a.b.z', true],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
  ]
  for (const [pattern, topic, want] of cases) t.equal(topicMatches(pattern, topic), want, `${pattern} ~ ${topic}`)
})

t.test('a wildcard subscription takes the events of the topics it matches; acks go by the concrete topic', async t => {
  const { c, conns } = await fakeClient()
  const exact = c.subscribe('orders.us')
  const wild = c.subscribe('orders.*')
  await tick()
  const conn = conns[0]
  conn.handlers.line('OK subscribed to orders.us (max in flight 100)')
  conn.handlers.line('OK subscribed to orders.* (max in flight 100)')
  conn.handlers.line(`EVENT orders.eu ${event('e1', 1)}`)
  conn.handlers.line(`EVENT orders.us ${event('u1', 1)}`)
  conn.handlers.line(`EVENT payments.eu ${event('p1', 1)}`)
  t.equal(wild.buffered, 1)
  t.equal(exact.buffered, 1, 'an exact subscription wins')
  const ev = (await wild.next()).value
  t.equal(ev.topic, 'orders.eu')
  const acked = ev.ack()
  await tick()
  t.equal(conn.commands.at(-1), 'ack orders.eu e1')
  conn.handlers.line('OK acked orders.eu e1')
  t.equal(await acked, true)
  const left = wild.unsubscribe()
  conn.handlers.line(`EVENT orders.eu ${event('e2', 2)}`)
  await tick()
  t.equal(conn.commands.at(-1), 'unsub orders.*')
  conn.handlers.line('OK unsubscribed from orders.*')
  await left
  t.equal(wild.buffered, 0, 'after unsubscribing, nothing more')
  await c.close()
})
