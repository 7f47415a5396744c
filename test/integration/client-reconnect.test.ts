import t from 'tap'
import { Broker, startBroker } from '../../src/broker'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { LineClient, tempDir, waitFor } from '../helpers/broker'
import { testHash } from '../helpers/auth'
import { LineProxy } from '../helpers/proxy'
import { connect, type AcklineClient, type AcklineError, type ConnectOptions } from '../../src/client'

type Teardown = { teardown: (fn: () => unknown) => void }

/** A broker that can be stopped and started again on the same port and log dir, as after a crash or a deploy. */
class RestartableBroker {
  broker: Broker | null = null
  port = 0
  constructor (private readonly overrides: ConfigOverrides, readonly logDir = tempDir()) {}

  async start (overrides: ConfigOverrides = {}): Promise<void> {
    this.broker = await startBroker({ overrides: { host: '127.0.0.1', port: this.port, http: null, ...this.overrides, ...overrides, logDir: this.logDir } })
    this.port = this.broker.address!.port
  }

  async stop (): Promise<void> {
    await this.broker?.stop()
    this.broker = null
  }
}

async function restartable (t: Teardown, overrides: ConfigOverrides = {}): Promise<RestartableBroker> {
  const rb = new RestartableBroker(overrides)
  await rb.start()
  t.teardown(() => rb.stop())
  return rb
}

async function client (t: Teardown, port: number, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = await connect({ port, ...opts })
  t.teardown(() => c.close())
  return c
}

const fast = { initialDelayMs: 20, maxDelayMs: 200 }

t.test('a named subscriber across a broker restart: no event lost, none acked twice', async t => {
  const rb = await restartable(t)
  const N = 300
  const worker = await client(t, rb.port, { name: 'worker', reconnect: fast })
  const publisher = await client(t, rb.port, { reconnect: fast })
  await publisher.publish('jobs', { msg: 'create the topic' })
  const sub = worker.subscribe('jobs', { maxInFlight: 10 })
  await sub.ready
  const published = await publisher.publishMany('jobs', Array.from({ length: N }, (_, i) => ({ id: `e-${i}`, msg: i })))
  t.ok(published.every(o => o.ok), 'all published before the restart')

  const events: string[] = []
  worker.on('disconnect', (err) => events.push(`disconnect ${err.code}`))
  worker.on('reconnect', () => events.push('reconnect'))
  worker.on('resubscribed', ({ topic, resumed }) => events.push(`resubscribed ${topic} ${String(resumed)}`))
  const acked = new Map<string, number>()
  const redelivered: Array<{ id: string, deliveries: number }> = []
  let restarted = false
  let staleAck: boolean | null = null
  for await (const ev of sub) {
    if (ev.deliveries > 1) redelivered.push({ id: ev.id, deliveries: ev.deliveries })
    if (acked.size === 100 && !restarted) {
      // The broker goes away while this event (and up to 9 more) is in flight and unacked.
      restarted = true
      await rb.stop()
      await rb.start()
      staleAck = await ev.ack()
      continue
    }
    if (await ev.ack()) acked.set(ev.id, (acked.get(ev.id) ?? 0) + 1)
    if (acked.size === N) break
  }
  t.equal(staleAck, false, 'the ack of an event from the lost connection is not confirmed: it comes again')
  t.equal(acked.size, N, 'every event was acked')
  t.same([...acked.values()].filter(n => n !== 1), [], 'none was acked twice')
  t.ok(redelivered.length >= 1, 'the events in flight at the restart came again')
  t.ok(redelivered.every(r => r.deliveries === 2), 'marked as a second delivery')
  t.same(events, ['disconnect DISCONNECTED', 'reconnect', 'resubscribed jobs true'])
  t.match(await publisher.stats('jobs'), { pending: 0, inFlight: 0, subscriptions: 0 }, 'the loop was left with break: unsubscribed')
})

t.test('an anonymous subscription is made again at "now", and the app is told it was not resumed', async t => {
  const rb = await restartable(t)
  const c = await client(t, rb.port, { reconnect: fast })
  await c.publish('ticks', { msg: 'create' })
  const sub = c.subscribe('ticks')
  await sub.ready
  await c.publish('ticks', { id: 'before', msg: 1 })
  const first = await sub.next()
  t.equal(first.value?.id, 'before')
  const resubscribed = new Promise<{ topic: string, resumed: boolean, from: string }>(resolve => c.once('resubscribed', resolve))
  await rb.stop()
  await rb.start()
  t.same(await resubscribed, { topic: 'ticks', resumed: false, from: 'latest' })
  t.equal(await first.value!.ack(), false, 'its subscription ended with the connection')
  await c.publish('ticks', { id: 'after', msg: 2 })
  const next = await sub.next()
  t.equal(next.value?.id, 'after', 'nothing from before the restart comes again')
  t.equal(next.value?.deliveries, 1)
})

t.test('events received but not handed out when the connection drops: a named subscription drops them (they come again), an anonymous one keeps them', async t => {
  const tb = await restartable(t)
  const proxy = await LineProxy.start(t, tb.port)
  const p = await client(t, tb.port)
  await p.publish('a', { msg: 'create' })
  await p.publish('b', { msg: 'create' })
  const named = await client(t, proxy.port, { name: 'n', reconnect: fast })
  const anon = await client(t, proxy.port, { reconnect: fast })
  const ns = named.subscribe('a')
  const as = anon.subscribe('b')
  await Promise.all([ns.ready, as.ready])
  await p.publish('a', { id: 'a1', msg: 1 })
  await p.publish('b', { id: 'b1', msg: 1 })
  await waitFor(() => ns.buffered === 1 && as.buffered === 1, 'both delivered, not yet taken')
  const back = new Promise(resolve => named.once('resubscribed', resolve))
  proxy.cut()
  await back
  const a1 = await ns.next()
  t.match(a1.value, { id: 'a1', deliveries: 2 }, 'the named one: the redelivery, not the stale copy')
  t.equal(await a1.value!.ack(), true)
  const b1 = await as.next()
  t.match(b1.value, { id: 'b1', deliveries: 1 }, 'the anonymous one: the copy received before the cut')
  t.equal(await b1.value!.ack(), false, 'which can no longer be acked')
})

t.test('a named subscription left while reconnecting is ended on the broker once connected again', async t => {
  const tb = await restartable(t)
  const proxy = await LineProxy.start(t, tb.port)
  const p = await client(t, tb.port)
  await p.publish('feed', { msg: 'create' })
  const c = await client(t, proxy.port, { name: 'leaver', reconnect: { initialDelayMs: 300, maxDelayMs: 300, jitter: 0 } })
  const sub = c.subscribe('feed')
  await sub.ready
  const left = new Promise<void>(resolve => c.once('disconnect', () => { void sub.unsubscribe().then(resolve) }))
  proxy.cut()
  await left
  t.match((await p.stats('feed')).subscribers, [{ name: 'leaver', connected: false }], 'the broker still holds it')
  await new Promise(resolve => c.once('reconnect', resolve))
  await c.ping() // sent after the sub and unsub the reconnect sends: once answered, they are done
  t.match(await p.stats('feed'), { subscriptions: 0 }, 'ended for good')
  t.match(await p.publish('feed', { msg: 'nobody' }), { subscribers: 0 })
})

t.test('a name still held by the lost connection: the reconnect tries again until it is free', async t => {
  const tb = await restartable(t)
  const proxy = await LineProxy.start(t, tb.port)
  const c = await client(t, proxy.port, { name: 'sticky', reconnect: { initialDelayMs: 300, maxDelayMs: 300, jitter: 0 } })
  const reconnected = new Promise<{ attempts: number }>(resolve => c.once('reconnect', resolve))
  proxy.cut()
  // Someone else holds the name while the client reconnects (as the broker would until it notices a dead socket).
  const squatter = await LineClient.connect(tb.port)
  let named = ''
  for (let i = 0; i < 100 && named !== 'OK named sticky'; i++) named = await squatter.request('name sticky') // once the broker saw the cut
  t.equal(named, 'OK named sticky')
  const nameLines = (): number => proxy.sent.filter(l => l === 'name sticky').length
  await waitFor(() => nameLines() === 2 && proxy.connections === 0, 'the first attempt refused and dropped')
  squatter.destroy()
  const { attempts } = await reconnected
  t.ok(attempts >= 2, `NAME_IN_USE was retried (${attempts} attempts)`)
  t.type(await c.ping(), 'number')
})

t.test('reconnecting gives up after maxAttempts: error, close, the loop throws, queued publishes reject', async t => {
  const rb = await restartable(t)
  const c = await connect({ port: rb.port, reconnect: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 3 } })
  await c.publish('gone', { msg: 'create' })
  const sub = c.subscribe('gone')
  await sub.ready
  const errors: AcklineError[] = []
  c.on('error', (err) => errors.push(err))
  const closed = new Promise(resolve => c.once('close', resolve))
  let queued: Promise<unknown> | null = null
  c.once('disconnect', () => {
    t.equal(c.connected, false, 'not connected from the disconnect event on')
    queued = c.publish('gone', { msg: 'never sent' })
    queued.catch(() => {}) // it may fail before the test gets to it (the broker takes longer to stop than the client to give up)
  })
  await rb.stop()
  await closed
  t.equal(errors.length, 1)
  t.equal(errors[0].code, 'CONNECT_FAILED')
  t.match(errors[0].message, /^gave up reconnecting to 127\.0\.0\.1:\d+ after 3 attempt\(s\): cannot connect/)
  await t.rejects(queued!, { code: 'CONNECT_FAILED' }, 'a publish waiting for the reconnect')
  await t.rejects(sub.next(), { code: 'CONNECT_FAILED' })
  await t.rejects(c.ping(), { code: 'CLOSED' })
})

t.test('a refusal that retrying cannot cure ends the client: auth after a restart with another password', async t => {
  const users = (pw: string): ConfigOverrides => ({ auth: { required: true, users: { alice: { passwordHash: testHash(pw), publish: ['*'], subscribe: ['*'] } } } })
  const rb = await restartable(t, users('old pw'))
  const c = await connect({ port: rb.port, user: 'alice', password: 'old pw', reconnect: fast })
  t.teardown(() => c.close())
  const errors: AcklineError[] = []
  c.on('error', (err) => errors.push(err))
  const closed = new Promise(resolve => c.once('close', resolve))
  await rb.stop()
  await rb.start(users('new pw'))
  await closed
  t.equal(errors.length, 1)
  t.equal(errors[0].code, 'AUTH_FAILED')
  t.match(errors[0].message, /after 1 attempt\(s\): wrong user or password/)
})

t.test('a subscription the broker refuses after a reconnect: error event, and the loop throws it', async t => {
  const alice = (subscribe: string[]): ConfigOverrides => ({ auth: { required: true, users: { alice: { passwordHash: testHash('pw'), publish: ['*'], subscribe } } } })
  const rb = await restartable(t, alice(['*']))
  const c = await client(t, rb.port, { user: 'alice', password: 'pw', reconnect: fast })
  await c.publish('news', { msg: 'create' })
  const sub = c.subscribe('news')
  await sub.ready
  const error = new Promise<AcklineError>(resolve => c.once('error', resolve))
  await rb.stop()
  await rb.start(alice([]))
  const err = await error
  t.equal(err.code, 'FORBIDDEN')
  await t.rejects(sub.next(), { code: 'FORBIDDEN', message: 'user alice may not subscribe to news' })
  t.type(await c.ping(), 'number', 'the client itself carries on')
})
