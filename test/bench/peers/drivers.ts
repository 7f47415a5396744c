/**
 * One driver per peer: the workload in each broker's own wire protocol over a
 * raw socket, through the shared framing and counting of wire.ts (no client
 * library). What a driver adds is only its protocol's bytes: the frames it
 * sends and the markers it counts.
 */
import { resultOf, rssKb, RunResult, Settings, sleep, Workload } from './common'
import * as amqp from './amqp'
import { Bytes, Hook, Meter, Payload, Publisher, PublishPlan, readNumber, Scanner, Wire } from './wire'
import type { Server } from './servers'

const PRIO = { min: 0, max: 9 }
const id = (): string => Math.random().toString(36).slice(2, 8)

/** Run a throughput workload: start the clock, publish, wait for every delivery (or a stall/timeout). */
async function drive(m: Meter, pub: Publisher, s: Settings, expected: number, ackReplies: boolean): Promise<void> {
  m.start(expected)
  pub.start()
  await m.wait(s.runTimeoutMs, s.stallMs, () => pub.done)
  pub.stop()
  if (ackReplies) await m.waitAcks(5000)
}

/** Wire a publisher: its Scanner's hooks call confirm/refuse/synced; after each chunk it refills the window. */
function publisher(w: Wire, m: Meter, plan: PublishPlan, rules: (p: Publisher) => Array<[Bytes, Hook]>): Publisher {
  const p = new Publisher(w, m, plan)
  w.attach(new Scanner(rules(p)), () => {
    p.pump()
    m.tick()
  })
  return p
}

/** M1: broker RSS growth per pending event. `ready` sets up the consumer before the baseline; `fill` publishes. */
async function m1(srv: Server, m: Meter, count: number, ready: () => Promise<void>, fill: () => Promise<void>): Promise<Pick<RunResult, 'rssBaselineKb' | 'rssAfterKb' | 'bytesPerEvent'>> {
  await ready()
  await sleep(500)
  const before = rssKb(srv.pid)
  await fill()
  await sleep(1000)
  const after = rssKb(srv.pid)
  return { rssBaselineKb: before, rssAfterKb: after, bytesPerEvent: ((after - before) * 1024) / count }
}

/** Publish `total` events and wait until all are confirmed (M1 fill, durability checks). */
async function publishAll(m: Meter, pub: Publisher, s: Settings, expected = 0): Promise<void> {
  m.start(expected)
  pub.start()
  await m.wait(s.runTimeoutMs, s.stallMs, () => pub.done)
  pub.stop()
}

// ---------------------------------------------------------------- line protocols: Ackline and the forwarder

/** Send one line, wait for its reply line; throws unless it starts with `OK`. */
async function lineCall(w: Wire, line: string): Promise<string> {
  const r = (await w.call(line + '\n', '\n')).trimEnd()
  if (!r.startsWith('OK')) throw new Error(`${w.name}: "${line}" refused: ${r}`)
  return r
}

const ID_KEY = '{"id":'

export async function ackline(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  const m = new Meter()
  try {
    const topic = `bench-${id()}`
    const prio = w === 'W1' ? null : PRIO
    const payload = new Payload(s.size, prio)
    const pw = await m.connect(srv.port, 'publisher')
    await lineCall(pw, `pub ${topic} {"msg":"warm-up"}`) // a topic exists once published to
    const inFlight = w === 'W1' ? s.ackline.w1InFlight : w === 'M1' ? 1 : s.inFlight
    const mode = w === 'M1' ? 'each' : s.ackline.ack ?? 'each'
    const ack = w !== 'M1' && mode !== 'none'
    // batch=<n>: one `ack <topic> <id> …` line per n ids, and what a read brought short of n after it.
    const batch = mode.startsWith('batch=') ? Number(mode.slice(6)) : 0
    const subConns: Wire[] = []
    let ackLinesSent = 0 // over all subscribers: with the ids acked, how full the ack lines were
    for (let i = 0; i < subs; i++) {
      const c = await m.connect(srv.port, `subscriber ${i}`)
      subConns.push(c)
      // W3: a named subscriber, so every pub, delivery and ack is journaled (anonymous subscribers never are).
      if (w === 'W3') await lineCall(c, `name w3-${id()}-${i}`)
      // W2G: every connection joins one consumer group, each with its own in-flight cap.
      await lineCall(c, mode === 'none' ? `sub ${topic} ack=none` : w === 'W2G' ? `sub ${topic} ${inFlight} group=g` : `sub ${topic} ${inFlight}`)
      // EVENT <topic> {"id":<id>,... : the id is read to ack it; nothing else is parsed.
      const idAt = topic.length + 1 + ID_KEY.length
      let ids = ''
      let idCount = 0
      const ackLines: number[] = [] // ids per ack line sent, in order: its reply counts them
      const sendAcks = (): void => {
        c.send(`ack ${topic}${ids}\n`)
        ackLines.push(idCount)
        ackLinesSent++
        ids = ''
        idCount = 0
      }
      c.attach(new Scanner([
        ['EVENT ', (b, _at, end) => {
          const from = end + idAt
          const comma = b.indexOf(44, from)
          if (comma < 0) return -1
          m.deliver(b, comma)
          if (ack) {
            ids += ' ' + b.toString('latin1', from, comma)
            if (++idCount >= (batch || 1)) sendAcks()
          }
          return comma
        }],
        ['OK acked ', (_b, _at, end) => {
          m.acked += ackLines.shift() ?? 1
          return end
        }],
        ['ERR ', (_b, _at, end) => {
          m.error('ERR on a subscriber')
          return end
        }],
      ]), () => {
        if (idCount > 0) sendAcks()
        m.tick()
      })
    }
    const total = w === 'W1' ? s.w1Messages : w === 'M1' ? s.m1Count : s.w2Messages
    const pub = publisher(pw, m, { total, window: s.window, rate: w === 'M1' ? 0 : s.rate, frame: (_i, t) => `pub ${topic} ${payload.body(payload.priority(), t)}\n` }, (p) => [
      ['OK ', (_b, _at, end) => (p.confirm(), end)],
      ['ERR ', (_b, _at, end) => (p.refuse(), m.error('ERR to pub'), end)],
    ])
    if (w === 'M1') {
      const mem = await m1(srv, m, total, async () => undefined, () => publishAll(m, pub, s, 1))
      return { ...resultOf(m, 'ackline', w, '1 sub, in-flight 1, no ack', total, 'pending in broker queue'), ...mem }
    }
    await drive(m, pub, s, w === 'W2G' ? total : total * subs, ack) // a group gets each event once
    const variant = w === 'W3' ? '1 named sub' : w === 'W2G' ? `group of ${subs}` : `${subs} sub`
    const how = mode === 'none' ? 'sub ack=none (at most once)' : mode === 'each' ? 'ack each'
      : `acks in lines of up to ${batch} ids (${ackLinesSent > 0 ? (m.acked / ackLinesSent).toFixed(1) : '-'} ids per line on average)`
    const note =
      w === 'W1' ? (mode === 'none' ? how + (s.ackline.retention0 === true ? ', retention 0: nothing written' : '') : `subscribers ${how}, in-flight ${inFlight}`)
      : w === 'W2' ? `prio 0-9, in-flight ${inFlight}, ${how}`
      : w === 'W2G' ? `${subs} connection${subs === 1 ? '' : 's'} \`sub <topic> ${inFlight} group=g\` (a named subscription: journaled, pub OK after fsync), prio 0-9, in-flight ${inFlight} each, ${how}`
      : `named subscriber, prio 0-9, in-flight ${inFlight}, ${how}, start args: ${s.ackline.durableArgs?.join(' ') || '(default fsync always)'}`
    return resultOf(m, 'ackline', w, variant, total, note)
  } finally {
    m.closeAll()
  }
}

/**
 * The harness ceiling: the same line traffic as Ackline through a Node
 * process that only forwards lines (forwarder.mjs). W2/W3: the subscriber
 * acks each line and waits for the forwarder's `OK`, as with Ackline.
 */
export async function forwarder(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w === 'M1') throw new Error('n/a')
  const m = new Meter()
  try {
    const topic = `bench-${id()}`
    const payload = new Payload(s.size, w === 'W1' ? null : PRIO)
    const ack = w !== 'W1'
    for (let i = 0; i < subs; i++) {
      const c = await m.connect(srv.port, `subscriber ${i}`)
      await lineCall(c, `sub ${topic}`)
      c.attach(new Scanner([
        ['pub ', (b, _at, end) => {
          m.deliver(b, end)
          if (ack) c.send(`ack ${topic} ${m.delivered}\n`)
          return end
        }],
        ['OK\n', (_b, _at, end) => (m.acked++, end)],
      ]), () => m.tick())
    }
    const pw = await m.connect(srv.port, 'publisher')
    const total = w === 'W1' ? s.w1Messages : s.w2Messages
    const pub = publisher(pw, m, { total, window: s.window, rate: s.rate, frame: (_i, t) => `pub ${topic} ${payload.body(payload.priority(), t)}\n` }, (p) => [
      ['OK\n', (_b, _at, end) => (p.confirm(), end)],
    ])
    await drive(m, pub, s, total * subs, ack)
    return resultOf(m, 'forwarder', w, `${subs} sub`, total, ack ? 'forwards each line, OK per line; subscriber acks each line' : 'forwards each line, OK per line')
  } finally {
    m.closeAll()
  }
}

// ---------------------------------------------------------------- Redis (RESP)

/** A RESP command (array of bulk strings). */
function resp(...args: string[]): string {
  let out = `*${args.length}\r\n`
  for (const a of args) out += `$${a.length}\r\n${a}\r\n`
  return out
}

export async function redis(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w === 'W3') throw new Error('n/a')
  const m = new Meter()
  try {
    if (w === 'W1') {
      const ch = `bench-${id()}`
      for (let i = 0; i < subs; i++) {
        const c = await m.connect(srv.port, `subscriber ${i}`)
        await c.call(resp('SUBSCRIBE', ch), ':1\r\n')
        // push: *3 $7 message $<n> <channel> $<n> <payload>
        c.attach(new Scanner([['$7\r\nmessage\r\n', (b, _at, end) => (m.deliver(b, end), end)]]), () => m.tick())
      }
      const payload = new Payload(s.size, null)
      const head = `*3\r\n$7\r\nPUBLISH\r\n$${ch.length}\r\n${ch}\r\n`
      const pw = await m.connect(srv.port, 'publisher')
      const pub = publisher(pw, m, {
        total: s.w1Messages, window: s.window, rate: s.rate,
        frame: (_i, t) => {
          const body = payload.body(-1, t)
          return `${head}$${body.length}\r\n${body}\r\n`
        },
      }, (p) => [
        [':', (_b, _at, end) => (p.confirm(), end)],
        ['-', (_b, _at, end) => (p.refuse(), end)],
      ])
      await drive(m, pub, s, s.w1Messages * subs, false)
      return resultOf(m, 'redis', w, `${subs} sub`, s.w1Messages, 'PUBLISH/SUBSCRIBE, no acks')
    }

    // W2 / M1: a Stream with a consumer group. Entry ids are given explicitly (0-1, 0-2, ...) so
    // the consumer reads each id from a fixed marker (`\r\n0-`) to XACK it.
    const key = `bench-${id()}`
    const pw = await m.connect(srv.port, 'publisher')
    await pw.call(resp('XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM'), '+OK\r\n')
    const payload = new Payload(s.size, PRIO)
    const head = `*5\r\n$4\r\nXADD\r\n$${key.length}\r\n${key}\r\n`
    const total = w === 'M1' ? s.m1Count : s.w2Messages
    const plan: PublishPlan = {
      total, window: s.window, rate: w === 'M1' ? 0 : s.rate,
      frame: (i, t) => {
        const eid = `0-${i + 1}`
        const body = payload.body(payload.priority(), t)
        return `${head}$${eid.length}\r\n${eid}\r\n$1\r\nd\r\n$${body.length}\r\n${body}\r\n`
      },
    }
    const pubRules = (p: Publisher): Array<[Bytes, Hook]> => [
      ['$', (_b, _at, end) => (p.confirm(), end)], // bulk reply: the entry id
      ['-ERR', (_b, _at, end) => (p.refuse(), end)],
    ]
    const cw = await m.connect(srv.port, 'consumer')
    if (w === 'M1') {
      const pub = publisher(pw, m, plan, pubRules)
      const mem = await m1(srv, m, total, async () => undefined, async () => {
        await publishAll(m, pub, s)
        await cw.call(resp('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', key, '>'), '}}\r\n')
      })
      return { ...resultOf(m, 'redis', w, '1 consumer, COUNT 1, no XACK', total, 'Streams: entries kept in stream + 1 in PEL'), expected: 0, complete: m.published === total && m.failure === null, ...mem }
    }
    // Consumer: XREADGROUP COUNT in-flight; XACK each entry; the next read is queued after the batch's XACKs,
    // so at most in-flight entries are read and not acked.
    const read = resp('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', String(s.inFlight), 'BLOCK', '500', 'STREAMS', key, '>')
    const xack = `*4\r\n$4\r\nXACK\r\n$${key.length}\r\n${key}\r\n$1\r\ng\r\n`
    let remaining = 0
    const next = (): void => {
      if (m.delivered < total) cw.send(read)
    }
    cw.attach(new Scanner([
      // reply header: *1 *2 $n <key> *<entries>
      [`\r\n${key}\r\n*`, (b, _at, end) => {
        const cr = b.indexOf(13, end)
        if (cr < 0 || cr + 1 >= b.length) return -1
        remaining += readNumber(b, end)
        return cr + 2
      }],
      // entry: *2 $n 0-<k> *2 $1 d $n <body>
      ['\r\n0-', (b, _at, end) => {
        const cr = b.indexOf(13, end)
        if (cr < 0) return -1
        m.deliver(b, cr)
        const eid = b.toString('latin1', end - 2, cr)
        cw.send(`${xack}$${eid.length}\r\n${eid}\r\n`)
        if (--remaining === 0) next()
        return cr
      }],
      ['*-1\r\n', (_b, _at, end) => (next(), end)], // BLOCK timed out with nothing new
      [':1\r\n', (_b, _at, end) => (m.acked++, end)], // XACK
    ]), () => m.tick())
    next()
    const pub = publisher(pw, m, plan, pubRules)
    await drive(m, pub, s, total, true)
    return resultOf(m, 'redis', w, '1 consumer', total, `Streams XADD/XREADGROUP COUNT ${s.inFlight}/XACK each; no priorities (FIFO)`)
  } finally {
    m.closeAll()
  }
}

// ---------------------------------------------------------------- NATS core (text protocol)

async function natsConnect(m: Meter, port: number, name: string): Promise<Wire> {
  const w = await m.connect(port, name)
  await w.until('\r\n') // INFO {...}
  await w.call('CONNECT {"verbose":false,"pedantic":false,"name":"bench"}\r\nPING\r\n', 'PONG\r\n')
  return w
}

export async function nats(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w !== 'W1') throw new Error('n/a')
  const m = new Meter()
  try {
    const subj = `bench.${id()}`
    for (let i = 0; i < subs; i++) {
      const c = await natsConnect(m, srv.port, `subscriber ${i}`)
      await c.call(`SUB ${subj} 1\r\nPING\r\n`, 'PONG\r\n')
      c.attach(new Scanner([
        ['MSG ', (b, _at, end) => (m.deliver(b, end), end)],
        ['PING\r\n', (_b, _at, end) => (c.send('PONG\r\n'), end)],
        ['-ERR', (_b, _at, end) => (m.error('-ERR'), end)],
      ]), () => m.tick())
    }
    const payload = new Payload(s.size, null)
    const pw = await natsConnect(m, srv.port, 'publisher')
    const pub = publisher(pw, m, {
      total: s.w1Messages, window: s.window, rate: s.rate,
      frame: (_i, t) => {
        const body = payload.body(-1, t)
        return `PUB ${subj} ${body.length}\r\n${body}\r\n`
      },
      // no reply per PUB (verbose false): a PING every syncEvery PUBs; its PONG confirms them
      sync: { every: s.syncEvery, bytes: 'PING\r\n' },
    }, (p) => [
      ['PONG\r\n', (_b, _at, end) => (p.synced(), end)],
      ['PING\r\n', (_b, _at, end) => (pw.send('PONG\r\n'), end)],
      ['-ERR', (_b, _at, end) => (m.error('-ERR'), end)],
    ])
    await drive(m, pub, s, s.w1Messages * subs, false)
    return resultOf(m, 'nats', w, `${subs} sub`, s.w1Messages, `core PUB/SUB, no acks; PING/PONG every ${s.syncEvery} PUBs`)
  } finally {
    m.closeAll()
  }
}

// ---------------------------------------------------------------- MQTT 3.1.1 (Mosquitto)

/** MQTT "remaining length": 7 bits per byte, high bit = more. */
function varint(n: number): string {
  let out = ''
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 128
    out += String.fromCharCode(b)
  } while (n > 0)
  return out
}
const mqttStr = (s: string): string => amqp.u16(s.length) + s

async function mqttConnect(m: Meter, port: number, name: string): Promise<Wire> {
  const w = await m.connect(port, name)
  // CONNECT: protocol "MQTT" level 4, clean session, keep-alive 0 (off), client id
  const vh = mqttStr('MQTT') + '\x04\x02\x00\x00' + mqttStr(`bench-${id()}`)
  w.send('\x10' + varint(vh.length) + vh)
  const ack = await w.read((b) => (b.length >= 4 ? 4 : -1), 'CONNACK')
  if (ack[0] !== 0x20 || ack[3] !== 0) throw new Error(`${name}: CONNACK refused: ${ack.toString('hex')}`)
  return w
}

export async function mosquitto(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w !== 'W1') throw new Error('n/a')
  const m = new Meter()
  try {
    const topic = `bench/${id()}`
    for (let i = 0; i < subs; i++) {
      const c = await mqttConnect(m, srv.port, `subscriber ${i}`)
      const sub = '\x00\x01' + mqttStr(topic) + '\x00' // packet id 1, topic filter, QoS 0
      c.send('\x82' + varint(sub.length) + sub)
      const suback = await c.read((b) => (b.length >= 5 ? 5 : -1), 'SUBACK')
      if (suback[0] !== 0x90 || suback[4] !== 0) throw new Error(`subscriber ${i}: SUBACK refused: ${suback.toString('hex')}`)
      // PUBLISH QoS 0: 0x30 <len> <topic length><topic><payload>; the length-prefixed topic is the marker
      c.attach(new Scanner([[mqttStr(topic), (b, _at, end) => (m.deliver(b, end), end)]]), () => m.tick())
    }
    const payload = new Payload(s.size, null)
    const tp = mqttStr(topic)
    const pw = await mqttConnect(m, srv.port, 'publisher')
    const pub = publisher(pw, m, {
      total: s.w1Messages, window: s.window, rate: s.rate,
      frame: (_i, t) => {
        const body = payload.body(-1, t)
        return '\x30' + varint(tp.length + body.length) + tp + body
      },
      // QoS 0 has no reply: a PINGREQ every syncEvery publishes; the broker handles a client's packets in order
      sync: { every: s.syncEvery, bytes: '\xc0\x00' },
    }, (p) => [['\xd0\x00', (_b, _at, end) => (p.synced(), end)]])
    await drive(m, pub, s, s.w1Messages * subs, false)
    return resultOf(m, 'mosquitto', w, `${subs} sub`, s.w1Messages, `MQTT 3.1.1 QoS 0; PINGREQ/PINGRESP every ${s.syncEvery} publishes`)
  } finally {
    m.closeAll()
  }
}

// ---------------------------------------------------------------- beanstalkd (text protocol)

/** Send one command, wait for its reply line; throws unless it starts with `expect`. */
async function beanCall(w: Wire, cmd: string, expect: string): Promise<string> {
  const r = await w.call(cmd, '\r\n')
  if (!r.startsWith(expect)) throw new Error(`${w.name}: ${JSON.stringify(cmd)} got ${JSON.stringify(r)}`)
  return r
}

async function beanConnect(m: Meter, port: number, name: string, tube: string, role: 'use' | 'watch'): Promise<Wire> {
  const w = await m.connect(port, name)
  if (role === 'use') await beanCall(w, `use ${tube}\r\n`, 'USING')
  else {
    await beanCall(w, `watch ${tube}\r\n`, 'WATCHING')
    await beanCall(w, 'ignore default\r\n', 'WATCHING')
  }
  return w
}

/** put with the body's priority (beanstalkd: lower is more urgent; Ackline: 9 is most urgent), TTR 120 s. */
function beanPut(payload: Payload): PublishPlan['frame'] {
  return (_i, t) => {
    const p = payload.priority()
    const body = payload.body(p, t)
    return `put ${9 - p} 0 120 ${body.length}\r\n${body}\r\n`
  }
}
const beanPubRules = (p: Publisher): Array<[Bytes, Hook]> => [
  ['INSERTED ', (_b, _at, end) => (p.confirm(), end)],
  ['BURIED', (_b, _at, end) => (p.refuse(), end)],
  ['_', (_b, _at, end) => (p.refuse(), end)], // JOB_TOO_BIG, OUT_OF_MEMORY, EXPECTED_CRLF, ...
]

export async function beanstalkd(srv: Server, w: Workload, _subs: number, s: Settings): Promise<RunResult> {
  if (w === 'W1') throw new Error('n/a')
  const m = new Meter()
  try {
    const tube = `bench-${id()}`
    const pw = await beanConnect(m, srv.port, 'publisher', tube, 'use')
    const con = await beanConnect(m, srv.port, 'consumer', tube, 'watch')
    const payload = new Payload(s.size, PRIO)
    const total = w === 'M1' ? s.m1Count : s.w2Messages
    const plan: PublishPlan = { total, window: s.window, rate: w === 'M1' ? 0 : s.rate, frame: beanPut(payload) }
    if (w === 'M1') {
      const pub = publisher(pw, m, plan, beanPubRules)
      const mem = await m1(srv, m, total, async () => con.send('reserve\r\n'), () => publishAll(m, pub, s))
      return { ...resultOf(m, 'beanstalkd', w, '1 consumer, 1 reserved, no delete', total, 'ready jobs in tube'), expected: 0, complete: m.published === total && m.failure === null, ...mem }
    }
    // Consumer: up to in-flight non-blocking reserves outstanding; each reserved job is deleted at once
    // (so reserved-not-deleted <= in-flight). When the tube is empty, wait with one blocking reserve.
    let outstanding = 0
    let blocking = false
    const fill = (): void => {
      while (m.delivered < total && !blocking && outstanding < s.inFlight) {
        outstanding++
        con.send('reserve-with-timeout 0\r\n')
      }
    }
    const settled = (): void => {
      if (blocking) blocking = false
      else outstanding--
    }
    con.attach(new Scanner([
      // RESERVED <id> <bytes>\r\n<data>\r\n
      ['RESERVED ', (b, _at, end) => {
        const sp = b.indexOf(32, end)
        const cr = b.indexOf(13, end)
        if (sp < 0 || cr < 0) return -1
        settled()
        m.deliver(b, cr)
        con.send(`delete ${b.toString('latin1', end, sp)}\r\n`)
        fill()
        return cr
      }],
      ['TIMED_OUT\r\n', (_b, _at, end) => {
        settled()
        if (outstanding === 0 && !blocking && m.delivered < total) {
          blocking = true
          con.send('reserve-with-timeout 1\r\n')
        }
        return end
      }],
      ['DELETED\r\n', (_b, _at, end) => (m.acked++, end)],
      ['NOT_FOUND\r\n', (_b, _at, end) => (m.error('NOT_FOUND'), end)],
    ]), () => m.tick())
    const pub = publisher(pw, m, plan, beanPubRules)
    fill()
    await drive(m, pub, s, total, true)
    return resultOf(m, 'beanstalkd', w, '1 consumer', total,
      `put/reserve/delete, ${s.inFlight} reserves pipelined${w === 'W3' ? ', -b binlog -f0 (fsync every write)' : ''}`)
  } finally {
    m.closeAll()
  }
}

// ---------------------------------------------------------------- RabbitMQ (AMQP 0-9-1)

/** Confirmed publishes to queue `q` (default exchange) with per-event priority; persistent for W3. */
function rabbitPlan(q: string, payload: Payload, total: number, s: Settings, persistent: boolean, rate: number): PublishPlan {
  const bodyLength = payload.body(9, '0'.repeat(17)).length
  const prefixes = Array.from({ length: 10 }, (_, p) => amqp.publishPrefix(q, bodyLength, p, persistent))
  return {
    total, window: s.window, rate,
    frame: (_i, t) => {
      const p = payload.priority()
      const body = payload.body(p, t)
      if (body.length !== bodyLength) throw new Error(`body length ${body.length} != ${bodyLength}`)
      return prefixes[p]! + body + amqp.FRAME_END
    },
  }
}

function rabbitPubRules(total: number): (p: Publisher) => Array<[Bytes, Hook]> {
  return (p) => {
    const confirms = new amqp.ConfirmTracker(total)
    // basic.ack / basic.nack: delivery-tag (8 bytes, the publish's sequence number), multiple (1 bit)
    const settle = (ok: boolean): Hook => (b, _at, end) => {
      if (end + 9 > b.length) return -1
      const n = confirms.settle(b.readUInt32BE(end) * 2 ** 32 + b.readUInt32BE(end + 4), (b[end + 8]! & 1) === 1)
      if (ok) p.confirm(n)
      else for (let i = 0; i < n; i++) p.refuse()
      return end + 9
    }
    return [[amqp.MARK.ack, settle(true)], [amqp.MARK.nack, settle(false)]]
  }
}

export async function rabbitmq(srv: Server, w: Workload, subs: number, s: Settings): Promise<RunResult> {
  if (w === 'W1') throw new Error('n/a')
  const m = new Meter()
  try {
    const durable = w === 'W3' || (w === 'W2G' && s.rabbitmqW2gDurable === true)
    const q = `bench-${id()}`
    const pw = await amqp.open(m, srv.port, 'publisher')
    await amqp.declareQueue(pw, q, { durable })
    await amqp.confirmSelect(pw)
    const cw = await amqp.open(m, srv.port, 'consumer')
    const payload = new Payload(s.size, PRIO)
    const total = w === 'M1' ? s.m1Count : s.w2Messages
    const plan = rabbitPlan(q, payload, total, s, durable, w === 'M1' ? 0 : s.rate)
    const tagAt = 1 + amqp.CONSUMER_TAG.length // basic.deliver: consumer-tag shortstr, then delivery-tag (8 bytes)
    if (w === 'M1') {
      const pub = publisher(pw, m, plan, rabbitPubRules(total))
      const mem = await m1(srv, m, total, () => amqp.consume(cw, q, 1), () => publishAll(m, pub, s))
      return { ...resultOf(m, 'rabbitmq', w, '1 consumer, prefetch 1, no ack', total, 'priority queue, transient'), expected: 0, complete: m.published === total && m.failure === null, ...mem }
    }
    // W2G: more consumers on the same queue, one connection each (RabbitMQ's competing consumers).
    const consumers = [cw]
    if (w === 'W2G') for (let i = 1; i < subs; i++) consumers.push(await amqp.open(m, srv.port, `consumer ${i}`))
    for (const c of consumers) {
      await amqp.consume(c, q, s.inFlight)
      c.attach(new Scanner([
        [amqp.MARK.deliver, (b, _at, end) => {
          const tag = end + tagAt
          if (tag + 8 > b.length) return -1
          m.deliver(b, tag + 8)
          c.send(amqp.ackFrame(b.toString('latin1', tag, tag + 8)))
          m.acked++ // basic.ack has no reply: counted when sent
          return tag + 8
        }],
      ]), () => m.tick())
    }
    const pub = publisher(pw, m, plan, rabbitPubRules(total))
    await drive(m, pub, s, total, false)
    return resultOf(m, 'rabbitmq', w, w === 'W2G' ? `${subs} consumers, 1 queue` : '1 consumer', total,
      `x-max-priority 10, prefetch ${s.inFlight}${w === 'W2G' ? ' per consumer' : ''}, basic.ack each, publisher confirms${durable ? ', durable queue + persistent (delivery-mode 2)' : ''}`)
  } finally {
    m.closeAll()
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
export const durableChecks: Partial<Record<string, (srv: Server, n: number, s: Settings) => Promise<DurableCheck>>> = {
  async ackline(srv, n, s) {
    // A named subscriber subscribes and goes away; its subscription (and what is published to it) is durable.
    const topic = `durable-${id()}`
    const who = `verify-${id()}`
    const m = new Meter()
    try {
      const setup = await m.connect(srv.port, 'setup')
      await lineCall(setup, `pub ${topic} {"msg":"create"}`)
      await lineCall(setup, `name ${who}`)
      await lineCall(setup, `sub ${topic} 1`)
      const pw = await m.connect(srv.port, 'publisher')
      const payload = new Payload(s.size, PRIO)
      const pub = publisher(pw, m, { total: n, window: s.window, rate: 0, frame: (_i, t) => `pub ${topic} ${payload.body(payload.priority(), t)}\n` }, (p) => [
        ['OK ', (_b, _at, end) => (p.confirm(), end)],
        ['ERR ', (_b, _at, end) => (p.refuse(), end)],
      ])
      await publishAll(m, pub, s)
    } finally {
      m.closeAll()
    }
    await srv.crashRestart!()
    const m2 = new Meter()
    try {
      const con = await m2.connect(srv.port, 'consumer')
      await lineCall(con, `name ${who}`)
      const resumed = await lineCall(con, `sub ${topic} 1`)
      const r = /resumed with (\d+) pending/.exec(resumed)
      // The reply counts every event the subscription holds (computed before the first delivery).
      return { peer: 'ackline', confirmed: m.published, recovered: r === null ? -1 : Number(r[1]), note: `named subscriber, confirmed pubs (OK), kill -9, restart, resume: "${resumed}"` }
    } finally {
      m2.closeAll()
    }
  },
  async beanstalkd(srv, n, s) {
    const tube = `durable-${id()}`
    const m = new Meter()
    try {
      const pw = await beanConnect(m, srv.port, 'publisher', tube, 'use')
      const pub = publisher(pw, m, { total: n, window: s.window, rate: 0, frame: beanPut(new Payload(s.size, PRIO)) }, beanPubRules)
      await publishAll(m, pub, s)
    } finally {
      m.closeAll()
    }
    await srv.crashRestart!()
    const m2 = new Meter()
    let recovered = 0
    try {
      const con = await beanConnect(m2, srv.port, 'consumer', tube, 'watch')
      for (;;) {
        const line = await con.call('reserve-with-timeout 0\r\n', '\r\n')
        if (!line.startsWith('RESERVED ')) break
        await con.until('\r\n') // the job's data
        recovered++
        await beanCall(con, `delete ${line.split(' ')[1]}\r\n`, 'DELETED')
      }
    } finally {
      m2.closeAll()
    }
    return { peer: 'beanstalkd', confirmed: m.published, recovered, note: 'put (INSERTED) with -b -f0, kill -9, restart, reserve all' }
  },
  async rabbitmq(srv, n, s) {
    const q = `durable-${id()}`
    const m = new Meter()
    try {
      const pw = await amqp.open(m, srv.port, 'publisher')
      await amqp.declareQueue(pw, q, { durable: true })
      await amqp.confirmSelect(pw)
      const pub = publisher(pw, m, rabbitPlan(q, new Payload(s.size, PRIO), n, s, true, 0), rabbitPubRules(n))
      await publishAll(m, pub, s)
    } finally {
      m.closeAll()
    }
    await srv.crashRestart!()
    let recovered = -1
    for (let i = 0; i < 50 && recovered < 0; i++) {
      const m2 = new Meter()
      try {
        const c = await amqp.open(m2, srv.port, 'checker')
        recovered = await amqp.declareQueue(c, q, { durable: true, passive: true })
      } catch {
        await sleep(200)
      } finally {
        m2.closeAll()
      }
    }
    return { peer: 'rabbitmq', confirmed: m.published, recovered, note: 'confirmed persistent publishes to a durable queue, kill -9 beam.smp, restart, passive queue.declare message-count' }
  },
}
