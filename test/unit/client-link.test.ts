import t from 'tap'
import { AcklineError } from '../../src/client/errors'
import { Link } from '../../src/client/link'
import { Publisher } from '../../src/client/publisher'
import type { Transport, TransportHandlers } from '../../src/client/transport'

/** An in-memory transport: records what is sent; the test plays the broker through `handlers`. */
class FakeTransport implements Transport {
  readonly sent: string[] = []
  handlers!: TransportHandlers
  destroyed = false
  send (lines: readonly string[]): void { this.sent.push(...lines) }
  end (): void {}
  destroy (): void { this.destroyed = true }
}

async function openLink (events: string[] = []): Promise<{ link: Link, fake: FakeTransport }> {
  const fake = new FakeTransport()
  const link = new Link(1, 'fake:1', {
    event: (_l, topic, json) => events.push(`${topic} ${json}`),
    end: (_l, topic, reason) => events.push(`end ${topic} ${reason}`),
    closed: (_l, reason) => events.push(`closed ${reason.code}`),
  })
  await link.open(async (handlers) => { fake.handlers = handlers; return fake })
  return { link, fake }
}

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('a link sends the commands of one turn in one write, routes replies and events', async t => {
  const events: string[] = []
  const { link, fake } = await openLink(events)
  const a = link.call('ping')
  const b = link.call('pub t {"msg":1}')
  t.same(fake.sent, [], 'nothing written within the turn')
  await tick()
  t.same(fake.sent, ['ping', 'pub t {"msg":1}'])
  fake.handlers.line('OK PONG')
  fake.handlers.line('EVENT t {"id":1}')
  fake.handlers.line('ERR BAD_EVENT event must be object')
  t.equal(await a, 'PONG')
  await t.rejects(b, { code: 'BAD_EVENT', message: 'event must be object', command: 'pub t {"msg":1}' })
  t.same(events, ['t {"id":1}'])
  t.equal(link.waiting, 0)
})

t.test('END lines go to the end handler, between replies, without taking a reply', async t => {
  const events: string[] = []
  const { link, fake } = await openLink(events)
  const a = link.call('ack t 1')
  await tick()
  fake.handlers.line('END t 42')
  fake.handlers.line('END u deleted')
  t.equal(link.waiting, 1, 'still waiting for its reply')
  fake.handlers.line('OK acked t 1')
  t.equal(await a, 'acked t 1')
  t.same(events, ['end t 42', 'end u deleted'])
  fake.handlers.line('END t')
  t.same(events.at(-1), 'closed PROTOCOL', 'an END without a reason is not the protocol')
})

t.test('an ERR nobody asked for ends the link as a protocol error; later requests fail at once', async t => {
  const events: string[] = []
  const { link, fake } = await openLink(events)
  fake.handlers.line('ERR BAD_ARGS what?')
  t.same(events, ['closed PROTOCOL'])
  t.equal(link.isOpen, false)
  t.ok(fake.destroyed)
  await t.rejects(link.call('auth alice secret'), { code: 'DISCONNECTED', command: 'auth alice ***' })
  t.equal((await link.closed).code, 'PROTOCOL')
})

t.test('a broker code that ends connections fails every waiting command with that code', async t => {
  const { link, fake } = await openLink()
  const a = link.call('pub t {"msg":1}')
  const b = link.call('ack t 1')
  await tick()
  fake.handlers.line('ERR STORAGE_FAILED journal write failed (ENOSPC); commands since your last OK may not be stored')
  await t.rejects(a, { code: 'STORAGE_FAILED', message: /ENOSPC/ })
  await t.rejects(b, { code: 'STORAGE_FAILED' })
  t.equal(link.isOpen, false)
})

t.test('a link destroyed while its transport opens closes the transport when it arrives', async t => {
  const fake = new FakeTransport()
  let arrive!: () => void
  const link = new Link(1, 'fake:1', { event: () => {}, end: () => {}, closed: () => {} })
  const opening = link.open(() => new Promise<Transport>(resolve => { arrive = () => resolve(fake) }))
  link.destroy(new AcklineError('CONNECT_FAILED', 'timed out'))
  arrive()
  await t.rejects(opening, { code: 'CONNECT_FAILED', message: 'cannot connect to fake:1: no connection within the connect timeout' })
  t.ok(fake.destroyed)
  const refused = new Link(2, 'fake:1', { event: () => {}, end: () => {}, closed: () => {} })
  await t.rejects(refused.open(async () => { throw new Error('connect ECONNREFUSED') }), { code: 'CONNECT_FAILED', message: 'cannot connect to fake:1: connect ECONNREFUSED' })
})

t.test('Publisher: the window, order, a queue that keeps small, replies it does not know, rejecting the queue', async t => {
  const { link, fake } = await openLink()
  let current: Link | null = null
  const publisher = new Publisher(2, () => current)
  const results = Array.from({ length: 3000 }, (_, i) => publisher.publish(`pub t {"msg":${i}}`))
  for (const r of results) r.catch(() => {}) // the last ten are rejected below; each is checked where it matters
  t.equal(publisher.queued, 3000, 'no connection: all wait')
  current = link
  publisher.pump()
  await tick()
  t.equal(fake.sent.length, 2, 'the window')
  t.equal(publisher.queued, 2998)
  for (let i = 0; i < 2990; i++) {
    fake.handlers.line(i === 0 ? 'OK 1 stored somewhere new' : `OK ${i + 1} published to t (0 subscribers)`)
    if (i % 100 === 0) await tick()
  }
  await tick()
  t.equal(fake.sent.length, 2992, 'one more sent per reply, never more than the window')
  t.same(await results[0], { id: '1', duplicate: false, subscribers: null, dropped: 0 }, 'an OK this client cannot read still means published')
  t.same(await results[2989], { id: '2990', duplicate: false, subscribers: 0, dropped: 0 })
  t.same(fake.sent.slice(0, 3), ['pub t {"msg":0}', 'pub t {"msg":1}', 'pub t {"msg":2}'])
  t.equal(publisher.queued, 8)
  current = null
  publisher.rejectQueued(new AcklineError('CLOSED', 'the client is closed'))
  t.equal(publisher.queued, 0)
  await t.rejects(results[2999], { code: 'CLOSED' })
  link.destroy(new AcklineError('DISCONNECTED', 'gone'))
  await t.rejects(results[2990], { code: 'DISCONNECTED', message: 'gone; this publish may or may not have been stored' })
})

t.test('publishMany of an array sends a window of lines in one write', async t => {
  const { AcklineClient } = await import('../../src/client/client')
  const { resolveOptions } = await import('../../src/client/options')
  const fake = new FakeTransport()
  const writes: number[] = []
  const send = fake.send.bind(fake)
  fake.send = (lines) => {
    writes.push(lines.length)
    send(lines)
    // The broker's answers, a turn later.
    setImmediate(() => { for (const l of lines) fake.handlers.line(l === 'ping' ? 'OK PONG' : `OK ${l.length} published to t (0 subscribers)`) })
  }
  const c = new AcklineClient(resolveOptions({ publishWindow: 50, reconnect: false }, {}), async (handlers) => { fake.handlers = handlers; return fake })
  await c.start()
  const outcomes = await c.publishMany('t', Array.from({ length: 120 }, (_, i) => ({ msg: i })))
  t.equal(outcomes.length, 120)
  t.ok(outcomes.every(o => o.ok))
  t.equal(writes[0], 1, 'the ping of connect()')
  t.equal(writes[1], 50, 'the first window in one write')
  t.equal(writes.slice(1).reduce((a, b) => a + b, 0), 120)
})
