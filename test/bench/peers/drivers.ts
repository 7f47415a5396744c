/** One driver per peer: runs a workload against a started server with the shared Meter rules. */
import * as net from 'node:net'
import Redis from 'ioredis'
import { connect as natsConnect } from 'nats'
import * as mqtt from 'mqtt'
import * as amqp from 'amqplib'
import { runBench } from '../../../src/bench/run'
import { Body, Meter, nextBatch, pipelined, RunResult, rssKb, Settings, sleep, Workload } from './common'
import type { Server } from './servers'

const PRIO = { min: 0, max: 9 }
const id = (): string => Math.random().toString(36).slice(2, 8)

/** Measure RSS growth of the broker for `count` pending events. */
async function m1(srv: Server, count: number, r: RunResult, fill: () => Promise<void>, baseline: () => Promise<void>): Promise<RunResult> {
  await baseline()
  await sleep(500)
  const before = rssKb(srv.pid)
  await fill()
  await sleep(1000)
  const after = rssKb(srv.pid)
  r.rssBaselineKb = before
  r.rssAfterKb = after
  r.bytesPerEvent = ((after - before) * 1024) / count
  return r
}

// ---------------------------------------------------------------- Ackline
export async function ackline(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  const base = { host: '127.0.0.1', port: srv.port, size: s.size, window: s.window, rate: s.rate, durationLimitMs: s.runTimeoutMs, progress: false }
  if (w === 'M1') {
    let before = 0
    let after = 0
    const r = await runBench({
      ...base, rate: 0, messages: s.m1Count, subscribers: 1, inFlight: 1, ack: false,
      onReady: async () => {
        await sleep(500)
        before = rssKb(srv.pid)
      },
      onSettled: async () => {
        await sleep(1000)
        after = rssKb(srv.pid)
      },
    })
    return {
      ...fromBench(r, w, '1 sub, in-flight 1, no ack', 'pending in broker queue'),
      rssBaselineKb: before, rssAfterKb: after, bytesPerEvent: ((after - before) * 1024) / s.m1Count,
    }
  }
  if (w === 'W1') {
    const r = await runBench({ ...base, messages: s.w1Messages, subscribers: subs, inFlight: s.ackline.w1InFlight, ack: true })
    return fromBench(r, w, `${subs} sub`, `no ack-free mode: subscribers ack, in-flight ${s.ackline.w1InFlight}`)
  }
  // W3: a named subscriber, so every pub, delivery and ack is journaled (anonymous subscribers never are).
  const named = w === 'W3' ? { subscriberName: `w3-${id()}` } : {}
  const r = await runBench({ ...base, ...named, messages: s.w2Messages, subscribers: 1, inFlight: s.inFlight, ack: true, priorities: PRIO })
  return fromBench(r, w, w === 'W3' ? '1 named sub' : '1 sub', w === 'W3' ? `named subscriber, prio 0-9, in-flight ${s.inFlight}, start args: ${s.ackline.durableArgs?.join(' ') || '(default fsync always)'}` : `prio 0-9, in-flight ${s.inFlight}`)
}

function fromBench(r: Awaited<ReturnType<typeof runBench>>, w: Workload, variant: string, note: string): RunResult {
  return {
    peer: 'ackline', workload: w, variant, messages: r.config.messages, published: r.published, expected: r.expectedDeliveries,
    delivered: r.delivered, acked: r.acked, complete: r.complete, elapsedMs: r.elapsedMs, pubRate: r.rates.published,
    delRate: r.rates.delivered, p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max,
    confirmP50: r.confirmLatencyMs.p50, confirmP99: r.confirmLatencyMs.p99,
    note: note + (r.fatal ? `; FATAL ${r.fatal}` : '') + (Object.keys(r.errors).length ? `; errors ${JSON.stringify(r.errors)}` : ''),
  }
}

// ---------------------------------------------------------------- Redis
export async function redis(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  const opts = { host: '127.0.0.1', port: srv.port, enableAutoPipelining: true, lazyConnect: false }
  const conns: Redis[] = []
  const mk = (): Redis => {
    const c = new Redis(opts)
    conns.push(c)
    return c
  }
  const m = new Meter()
  try {
    if (w === 'W1') {
      const ch = `bench-${id()}`
      const pub = mk()
      for (let i = 0; i < subs; i++) {
        const c = mk()
        c.on('message', (_ch: string, msg: string) => m.deliver(msg))
        await c.subscribe(ch)
      }
      const body = new Body(s.size, null)
      m.start(s.w1Messages * subs)
      await pipelined(s.w1Messages, s.window, () => pub.publish(ch, body.next()[1]), (ms) => m.pub(ms), s.rate)
      await m.wait(s)
      return m.result('redis', w, `${subs} sub`, s.w1Messages, 'PUBLISH/SUBSCRIBE, no acks')
    }
    // W2 / M1: Streams with a consumer group
    const stream = `bench-${id()}`
    const pub = mk()
    const con = mk()
    await pub.call('XGROUP', 'CREATE', stream, 'g', '$', 'MKSTREAM')
    const body = new Body(s.size, PRIO)
    if (w === 'M1') {
      const r = m.result('redis', w, '1 consumer, COUNT 1, no XACK', s.m1Count, 'Streams: entries kept in stream + 1 in PEL')
      return await m1(srv, s.m1Count, r, async () => {
        m.start(1)
        await pipelined(s.m1Count, s.window, () => pub.call('XADD', stream, '*', 'd', body.next()[1]), (ms) => m.pub(ms))
        await con.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', stream, '>')
        r.published = m.published
        r.complete = m.published === s.m1Count
      }, async () => undefined)
    }
    const total = s.w2Messages
    m.start(total)
    let stop = false
    const consumer = (async () => {
      while (!stop && m.delivered < total) {
        // at most in-flight entries read but not yet XACKed: XACKs are queued before the next read
        const res = (await con.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', String(s.inFlight), 'BLOCK', '500', 'STREAMS', stream, '>')) as unknown[] | null
        if (!res || res.length === 0) continue
        // RESP2 shape is [[stream, entries]]; ioredis 6 may flatten a single stream to [stream, entries].
        const entries = (typeof res[0] === 'string' ? res[1] : (res[0] as unknown[])[1]) as Array<[string, string[]]>
        for (const [eid, fields] of entries) {
          m.deliver(fields[1]!)
          con.call('XACK', stream, 'g', eid).then(() => m.acked++, () => undefined)
        }
      }
    })()
    await pipelined(total, s.window, () => pub.call('XADD', stream, '*', 'd', body.next()[1]), (ms) => m.pub(ms), s.rate)
    await m.wait(s)
    stop = true
    await consumer
    await m.waitAcks(5000)
    return m.result('redis', w, '1 consumer', total, `Streams XADD/XREADGROUP COUNT ${s.inFlight}/XACK; no priorities (FIFO)`)
  } finally {
    for (const c of conns) c.disconnect()
  }
}

// ---------------------------------------------------------------- NATS core
export async function nats(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w !== 'W1') throw new Error('n/a')
  const subj = `bench.${id()}`
  const pub = await natsConnect({ servers: `127.0.0.1:${srv.port}` })
  const subConns = []
  const m = new Meter()
  try {
    for (let i = 0; i < subs; i++) {
      const c = await natsConnect({ servers: `127.0.0.1:${srv.port}` })
      subConns.push(c)
      c.subscribe(subj, { callback: (_e, msg) => m.deliver(msg.data) })
      await c.flush()
    }
    const body = new Body(s.size, null)
    const enc = new TextEncoder()
    m.start(s.w1Messages * subs)
    // No per-message reply in NATS core: bound the window with a PING/PONG (flush) every `window` messages.
    const t0 = performance.now() + performance.timeOrigin
    for (let sent = 0; sent < s.w1Messages; ) {
      const n = nextBatch(sent, s.w1Messages, s.window, t0, s.rate)
      if (n === 0) {
        await sleep(1)
        continue
      }
      for (let i = 0; i < n; i++) pub.publish(subj, enc.encode(body.next()[1]))
      await pub.flush()
      for (let i = 0; i < n; i++) m.pub()
      sent += n
    }
    await m.wait(s)
    return m.result('nats', w, `${subs} sub`, s.w1Messages, `core pub/sub, no acks; flush every ${s.window}`)
  } finally {
    await pub.close()
    for (const c of subConns) await c.close()
  }
}

// ---------------------------------------------------------------- Mosquitto
export async function mosquitto(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w !== 'W1') throw new Error('n/a')
  const url = `mqtt://127.0.0.1:${srv.port}`
  const topic = `bench/${id()}`
  const m = new Meter()
  const clients: mqtt.MqttClient[] = []
  try {
    const pub = await mqtt.connectAsync(url, { clean: true })
    clients.push(pub)
    for (let i = 0; i < subs; i++) {
      const c = await mqtt.connectAsync(url, { clean: true })
      clients.push(c)
      c.on('message', (_t, payload) => m.deliver(payload))
      await c.subscribeAsync(topic, { qos: 0 })
    }
    const body = new Body(s.size, null)
    m.start(s.w1Messages * subs)
    // QoS 0 has no broker reply: bound the window with one QoS 1 publish (PUBACK) on a control topic every `window` messages.
    const t0 = performance.now() + performance.timeOrigin
    for (let sent = 0; sent < s.w1Messages; ) {
      const n = nextBatch(sent, s.w1Messages, s.window, t0, s.rate)
      if (n === 0) {
        await sleep(1)
        continue
      }
      for (let i = 0; i < n; i++) pub.publish(topic, body.next()[1], { qos: 0 })
      await pub.publishAsync(`${topic}/ctl`, '', { qos: 1 })
      for (let i = 0; i < n; i++) m.pub()
      sent += n
    }
    await m.wait(s)
    return m.result('mosquitto', w, `${subs} sub`, s.w1Messages, `MQTT QoS 0; QoS 1 round trip every ${s.window}`)
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined)
  }
}

// ---------------------------------------------------------------- RabbitMQ
export async function rabbitmq(srv: Server, w: Workload, _subs: number, s: Settings): Promise<RunResult> {
  if (w === 'W1') throw new Error('n/a')
  const url = `amqp://guest:guest@127.0.0.1:${srv.port}`
  const durable = w === 'W3'
  const pc = await amqp.connect(url)
  const cc = await amqp.connect(url)
  const m = new Meter()
  try {
    const q = `bench-${id()}`
    const pch = await pc.createConfirmChannel()
    await pch.assertQueue(q, { durable, arguments: { 'x-max-priority': 10 } })
    const cch = await cc.createChannel()
    const body = new Body(s.size, PRIO)
    const publish = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const [p, b] = body.next()
        pch.publish('', q, Buffer.from(b), { priority: p, persistent: durable }, (err) => (err ? reject(err) : resolve()))
      })
    if (w === 'M1') {
      const r = m.result('rabbitmq', w, '1 consumer, prefetch 1, no ack', s.m1Count, 'priority queue, transient')
      return await m1(srv, s.m1Count, r, async () => {
        m.start(1)
        await pipelined(s.m1Count, s.window, publish, (ms) => m.pub(ms))
        r.published = m.published
        r.complete = m.published === s.m1Count
      }, async () => {
        await cch.prefetch(1)
        await cch.consume(q, () => undefined, { noAck: false })
      })
    }
    const total = s.w2Messages
    await cch.prefetch(s.inFlight)
    await cch.consume(q, (msg) => {
      if (!msg) return
      m.deliver(msg.content)
      cch.ack(msg)
      m.acked++
    }, { noAck: false })
    m.start(total)
    await pipelined(total, s.window, publish, (ms) => m.pub(ms), s.rate)
    await m.wait(s)
    await m.waitAcks(5000)
    return m.result('rabbitmq', w, '1 consumer', total,
      `x-max-priority 10, prefetch ${s.inFlight}, publisher confirms${durable ? ', durable queue + persistent msgs' : ''}`)
  } finally {
    await pc.close().catch(() => undefined)
    await cc.close().catch(() => undefined)
  }
}

// ---------------------------------------------------------------- beanstalkd
/** Tiny pipelining beanstalkd client (the npm clients wait per command). */
class Bean {
  private sock: net.Socket
  private buf: Buffer = Buffer.alloc(0)
  private q: Array<(line: string, data?: Buffer) => void> = []
  private out: string[] = []
  private scheduled = false
  constructor(port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port })
    this.sock.setNoDelay(true)
    this.sock.on('data', (c: Buffer) => this.onData(c))
  }
  ready(): Promise<void> {
    return new Promise((res, rej) => {
      this.sock.once('connect', () => res())
      this.sock.once('error', rej)
    })
  }
  private onData(c: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c
    let pos = 0
    for (;;) {
      const nl = this.buf.indexOf('\r\n', pos)
      if (nl === -1) break
      const line = this.buf.toString('latin1', pos, nl)
      if (line.startsWith('RESERVED ')) {
        const bytes = Number(line.slice(line.lastIndexOf(' ') + 1))
        if (this.buf.length < nl + 2 + bytes + 2) break
        const data = this.buf.subarray(nl + 2, nl + 2 + bytes)
        pos = nl + 2 + bytes + 2
        this.q.shift()!(line, data)
      } else {
        pos = nl + 2
        this.q.shift()!(line)
      }
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(pos))
  }
  cmd(text: string, cb: (line: string, data?: Buffer) => void): void {
    this.q.push(cb)
    this.out.push(text)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        const d = this.out.join('')
        this.out = []
        this.sock.write(d)
      })
    }
  }
  call(text: string): Promise<string> {
    return new Promise((res) => this.cmd(text, (l) => res(l)))
  }
  close(): void {
    this.sock.destroy()
  }
}

export async function beanstalkd(srv: Server, w: Workload, _subs: number, s: Settings): Promise<RunResult> {
  if (w === 'W1') throw new Error('n/a')
  const tube = `bench-${id()}`
  const pub = new Bean(srv.port)
  const con = new Bean(srv.port)
  const m = new Meter()
  try {
    await Promise.all([pub.ready(), con.ready()])
    await pub.call(`use ${tube}\r\n`)
    await con.call(`watch ${tube}\r\n`)
    await con.call('ignore default\r\n')
    const body = new Body(s.size, PRIO)
    // beanstalkd: lower number = more urgent; Ackline: 9 = most urgent.
    const put = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const [p, b] = body.next()
        pub.cmd(`put ${9 - p} 0 120 ${Buffer.byteLength(b)}\r\n${b}\r\n`, (l) => (l.startsWith('INSERTED') ? resolve() : reject(new Error(l))))
      })
    if (w === 'M1') {
      const r = m.result('beanstalkd', w, '1 consumer, 1 reserved, no delete', s.m1Count, 'ready jobs in tube')
      return await m1(srv, s.m1Count, r, async () => {
        m.start(1)
        await pipelined(s.m1Count, s.window, put, (ms) => m.pub(ms))
        r.published = m.published
        r.complete = m.published === s.m1Count
      }, async () => {
        con.cmd('reserve\r\n', () => undefined)
      })
    }
    const total = s.w2Messages
    m.start(total)
    // Consumer: up to in-flight non-blocking reserves outstanding; each reserved job is deleted at once
    // (so reserved-not-deleted <= in-flight). When the tube is empty, wait with one blocking reserve.
    let outstanding = 0
    let blocking = false
    const onJob = (line: string, data?: Buffer): void => {
      if (line.startsWith('RESERVED ') && data) {
        m.deliver(data)
        con.cmd(`delete ${line.split(' ')[1]}\r\n`, () => m.acked++)
      }
    }
    const fill = (): void => {
      while (m.delivered < total && !blocking && outstanding < s.inFlight) {
        outstanding++
        con.cmd('reserve-with-timeout 0\r\n', (line, data) => {
          outstanding--
          onJob(line, data)
          if (line.startsWith('RESERVED ')) fill()
          else if (outstanding === 0 && !blocking && m.delivered < total) {
            blocking = true
            con.cmd('reserve-with-timeout 1\r\n', (l2, d2) => {
              blocking = false
              onJob(l2, d2)
              fill()
            })
          }
        })
      }
    }
    fill()
    await pipelined(total, s.window, put, (ms) => m.pub(ms), s.rate)
    await m.wait(s)
    await m.waitAcks(5000)
    return m.result('beanstalkd', w, '1 consumer', total,
      `put/reserve/delete, ${s.inFlight} reserves pipelined${w === 'W3' ? ', -b binlog -f0 (fsync every write)' : ''}`)
  } finally {
    pub.close()
    con.close()
  }
}

// ---------------------------------------------------------------- W3 kill -9 check
export interface DurableCheck {
  peer: string
  confirmed: number
  recovered: number
  note: string
}

/**
 * Publish `n` confirmed durable events with nobody consuming, kill -9 the broker,
 * restart it on the same data dir and count what is still there.
 */
/** A minimal Ackline line client for the durability check: send a line, await the next reply line. */
class AckLines {
  private sock: net.Socket
  private buf = ''
  private q: Array<(line: string) => void> = []
  constructor(port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port })
    this.sock.setNoDelay(true)
    this.sock.setEncoding('utf8')
    this.sock.on('data', (c: string) => {
      this.buf += c
      let nl: number
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        const line = this.buf.slice(0, nl)
        this.buf = this.buf.slice(nl + 1)
        if (line.startsWith('EVENT ')) continue
        this.q.shift()?.(line)
      }
    })
  }
  ready(): Promise<void> {
    return new Promise((res, rej) => {
      this.sock.once('connect', () => res())
      this.sock.once('error', rej)
    })
  }
  cmd(line: string, cb: (reply: string) => void): void {
    this.q.push(cb)
    this.sock.write(line + '\n')
  }
  call(line: string): Promise<string> {
    return new Promise((res) => this.cmd(line, res))
  }
  close(): Promise<void> {
    return new Promise((res) => {
      this.sock.once('close', () => res())
      this.sock.end()
    })
  }
}

export const durableChecks: Partial<Record<string, (srv: Server, n: number, s: Settings) => Promise<DurableCheck>>> = {
  async ackline(srv, n, s) {
    // A named subscriber subscribes and goes away; its subscription (and what is published to it) is durable.
    const topic = `durable-${id()}`
    const who = `verify-${id()}`
    const setup = new AckLines(srv.port)
    await setup.ready()
    await setup.call(`pub ${topic} {"msg":"create"}`)
    await setup.call(`name ${who}`)
    const subReply = await setup.call(`sub ${topic} 1`)
    if (!subReply.startsWith('OK')) throw new Error(`ackline verify: sub refused: ${subReply}`)
    await setup.close()
    const pub = new AckLines(srv.port)
    await pub.ready()
    const body = new Body(s.size, PRIO)
    let confirmed = 0
    await pipelined(n, s.window, () => new Promise<void>((resolve, reject) => {
      const [, b] = body.next()
      pub.cmd(`pub ${topic} ${b}`, (l) => (l.startsWith('OK ') ? resolve() : reject(new Error(l))))
    }), () => confirmed++)
    await srv.crashRestart!()
    const con = new AckLines(srv.port)
    await con.ready()
    await con.call(`name ${who}`)
    const resumed = await con.call(`sub ${topic} 1`)
    const m = /resumed with (\d+) pending/.exec(resumed)
    // The reply counts every event the subscription holds (computed before the first delivery).
    const recovered = m === null ? -1 : Number(m[1])
    await con.close()
    return { peer: 'ackline', confirmed, recovered, note: `named subscriber, confirmed pubs (OK), kill -9, restart, resume: "${resumed}"` }
  },
  async beanstalkd(srv, n, s) {
    const tube = `durable-${id()}`
    const pub = new Bean(srv.port)
    await pub.ready()
    await pub.call(`use ${tube}\r\n`)
    const body = new Body(s.size, PRIO)
    let confirmed = 0
    await pipelined(n, s.window, () => new Promise<void>((resolve, reject) => {
      const [p, b] = body.next()
      pub.cmd(`put ${9 - p} 0 120 ${Buffer.byteLength(b)}\r\n${b}\r\n`, (l) => (l.startsWith('INSERTED') ? resolve() : reject(new Error(l))))
    }), () => confirmed++)
    pub.close()
    await srv.crashRestart!()
    const con = new Bean(srv.port)
    await con.ready()
    await con.call(`watch ${tube}\r\n`)
    await con.call('ignore default\r\n')
    let recovered = 0
    for (;;) {
      const line = await new Promise<string>((resolve) => con.cmd('reserve-with-timeout 0\r\n', (l) => resolve(l)))
      if (!line.startsWith('RESERVED ')) break
      recovered++
      await con.call(`delete ${line.split(' ')[1]}\r\n`)
    }
    con.close()
    return { peer: 'beanstalkd', confirmed, recovered, note: 'put (INSERTED) with -b -f0, kill -9, restart, reserve all' }
  },
  async rabbitmq(srv, n, s) {
    const url = `amqp://guest:guest@127.0.0.1:${srv.port}`
    const q = `durable-${id()}`
    const pc = await amqp.connect(url)
    const ch = await pc.createConfirmChannel()
    await ch.assertQueue(q, { durable: true, arguments: { 'x-max-priority': 10 } })
    const body = new Body(s.size, PRIO)
    let confirmed = 0
    await pipelined(n, s.window, () => new Promise<void>((resolve, reject) => {
      const [p, b] = body.next()
      ch.publish('', q, Buffer.from(b), { priority: p, persistent: true }, (err) => (err ? reject(err) : resolve()))
    }), () => confirmed++)
    await pc.close()
    await srv.crashRestart!()
    let recovered = -1
    for (let i = 0; i < 50 && recovered < 0; i++) {
      try {
        const c = await amqp.connect(url)
        const ch2 = await c.createChannel()
        recovered = (await ch2.checkQueue(q)).messageCount
        await c.close()
      } catch {
        await sleep(200)
      }
    }
    return { peer: 'rabbitmq', confirmed, recovered, note: 'confirmed persistent publishes to a durable queue, kill -9 beam.smp, restart, queue depth' }
  },
}
