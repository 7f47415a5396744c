#!/usr/bin/env node
// Hot-path CPU benchmark: the broker's own CPU time per event for W1 (`ack=none`) and W2 (ack each,
// or batch acks), without the kernel, the scheduler or a second process in the measurement.
//
//   npm run build
//   node test/bench/hotpath.mjs [--workload W2] [--ack each|none|batch=50] [--events 200000] [--subs 1]
//                               [--in-flight 100] [--repeats 5] [--dist dist] [--alloc-profile file.heapprofile] [--retention0]
//                               [--coalesce-acks]
//
// The broker runs in this process (startBroker from dist/broker.js, port 0, a temp log dir, no HTTP),
// and the clients are its real Connection objects (dist/server/connection.js) on stand-in sockets:
// input is handed to a connection's `data` listener as Buffers, in chunks of `--chunk` lines as a
// pipelining client's reads bring them, and a connection's writes are encoded to bytes
// (Buffer.from, as a socket write encodes them) and scanned: `OK` replies confirm pubs (the
// publisher keeps at most `--window` unconfirmed), each `EVENT` line's id is acked (one `ack` line per
// event, or one line per `batch=<n>` ids and whatever a write brought short of n; each line is its own read
// unless --coalesce-acks, which hands the broker all the ack lines of one write as one read, as a client that
// acks what a read brought in one write, or TCP coalescing its small writes, would). Every stand-in
// socket delivers in a later turn of the event loop (setImmediate), so the broker's own coalescing
// and flow control work as over TCP. Framing, dispatch, parse and validate, store, deliver, the
// reply and event lines, the ack and the refill all run as in the real broker; the socket's syscalls do not.
//
// Reported per repeat: process CPU (user + system, process.cpuUsage) per delivered event, for the
// broker and this harness together (the harness's share is the same for two builds, so the
// difference between builds is the broker's). Prints the median of the repeats. Loopback only:
// nothing listens but the broker's port-0 listener on 127.0.0.1, which no one connects to.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { EventEmitter } from 'node:events'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const WORKLOAD = option('workload', 'W2')
const ACK = option('ack', WORKLOAD === 'W1' ? 'none' : 'each')
const EVENTS = Number(option('events', '200000'))
const SUBS = Number(option('subs', '1'))
const IN_FLIGHT = Number(option('in-flight', WORKLOAD === 'W1' ? '1000' : '100'))
const WINDOW = Number(option('window', '1000'))
const CHUNK = Number(option('chunk', '400'))
const REPEATS = Number(option('repeats', '5'))
const DIST = resolve(root, option('dist', 'dist'))
const ALLOC_PROFILE = option('alloc-profile', '')
const BATCH = ACK.startsWith('batch=') ? Number(ACK.slice(6)) : ACK === 'each' ? 1 : 0
const COALESCE_ACKS = process.argv.includes('--coalesce-acks')
const require = createRequire(import.meta.url)
const { startBroker } = require(join(DIST, 'broker.js'))
const { Connection } = require(join(DIST, 'server', 'connection.js'))

/** A stand-in for a net.Socket: writes are encoded and handed to `onBytes` in a later turn; input goes to the `data` listener. */
class FakeSocket extends EventEmitter {
  constructor (onBytes) {
    super()
    this.onBytes = onBytes
    this.writableLength = 0
    this.remoteAddress = '127.0.0.1'
    this.queued = []
    this.scheduled = false
  }

  setNoDelay () {}
  pause () {}
  resume () {}
  end () {}
  destroy () {}
  write (data) {
    this.queued.push(typeof data === 'string' ? Buffer.from(data) : data)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        const q = this.queued
        this.queued = []
        for (const b of q) this.onBytes(b)
      })
    }
    return true
  }

  /** Client → broker: one read's worth of bytes, in a later turn. */
  input (text) {
    setImmediate(() => this.emit('data', Buffer.from(text)))
  }
}

const PAD = 'x'.repeat(40)
function body (i) {
  const t = (1732440000000 + i).toFixed(3)
  return WORKLOAD === 'W1' ? `{"msg":{"t":${t},"p":"${PAD}"}}` : `{"priority":${i % 10},"msg":{"t":${t},"p":"${PAD}"}}`
}

const OK = Buffer.from('OK ')
const EVENT = Buffer.from('EVENT ')

async function once (broker, run) {
  const topic = `hot-${run}`
  let nextId = 1
  const conn = (onBytes) => {
    const socket = new FakeSocket(onBytes)
    const c = new Connection(nextId++, socket, broker.manager, broker.config, () => {})
    return { socket, c }
  }
  let delivered = 0
  let confirmed = 0
  let sent = 0
  const expected = EVENTS * SUBS
  let finish
  const done = new Promise((resolve) => { finish = resolve })
  const check = () => { if (delivered >= expected && confirmed >= EVENTS) finish() }

  // A topic exists once published to: one warm-up pub (no subscribers yet, so delivered to no one).
  let warm = null
  const pub = conn((b) => {
    if (warm !== null) { warm(); warm = null; return }
    let i = 0
    let n = 0
    while ((i = b.indexOf(OK, i)) !== -1) { n++; i += 3 }
    confirmed += n
    pubTopUp()
    check()
  })
  await new Promise((resolve) => { warm = resolve; pub.socket.input(`pub ${topic} {"msg":"warm-up"}\n`) })

  // Subscribers: count EVENT lines, ack their ids.
  const subs = []
  for (let s = 0; s < SUBS; s++) {
    let ids = []
    let ready = null
    const sub = conn((b) => {
      if (ready !== null) {
        if (!b.toString().startsWith('OK')) throw new Error(`sub refused: ${b}`)
        ready()
        ready = null
        return
      }
      let i = 0
      let acks = ''
      const ack = (line) => { if (COALESCE_ACKS) acks += line; else sub.socket.input(line) }
      while ((i = b.indexOf(EVENT, i)) !== -1) {
        delivered++
        const from = b.indexOf(32, i + 6) + 1 // after the topic
        const idAt = b.indexOf(58, from) + 1 // {"id":<id>,
        const comma = b.indexOf(44, idAt)
        if (BATCH > 0) {
          ids.push(b.toString('latin1', idAt, comma))
          if (ids.length >= BATCH) { ack(`ack ${topic} ${ids.join(' ')}\n`); ids = [] }
        }
        i = comma
      }
      if (ids.length > 0) { ack(`ack ${topic} ${ids.join(' ')}\n`); ids = [] }
      if (acks !== '') sub.socket.input(acks)
      check()
    })
    subs.push(sub)
    const line = ACK === 'none' ? `sub ${topic} ack=none\n` : `sub ${topic} ${IN_FLIGHT}\n`
    await new Promise((resolve) => { ready = resolve; sub.socket.input(line) })
  }

  // Publisher: pipelined pubs, at most WINDOW unconfirmed, in chunks of CHUNK lines.
  const pubTopUp = () => {
    let text = ''
    let n = 0
    while (sent < EVENTS && sent - confirmed < WINDOW && n < CHUNK) {
      text += `pub ${topic} ${body(sent)}\n`
      sent++
      n++
    }
    if (n > 0) pub.socket.input(text)
  }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  pubTopUp()
  while (sent - confirmed < WINDOW && sent < EVENTS) pubTopUp()
  await done
  const cpu = process.cpuUsage(cpu0)
  const ms = performance.now() - t0
  for (const s of [...subs, pub]) s.socket.emit('close')
  return { usPerEvent: (cpu.user + cpu.system) / delivered, rate: delivered / (ms / 1000) }
}

// --alloc-profile <file>: a sampling heap profile of every allocation (collected ones too), for bytes per event by function.
let allocSession = null
if (ALLOC_PROFILE !== '') {
  allocSession = new Session()
  allocSession.connect()
  await allocSession.post('HeapProfiler.enable')
  await allocSession.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}
const dir = mkdtempSync(join(tmpdir(), 'ackline-hotpath-'))
// --retention0: the broker keeps nothing for replay (retention maxAgeMs 0): W1's events, owed to no one, are never written.
const RETENTION0 = process.argv.includes('--retention0')
const broker = await startBroker({ overrides: { port: 0, host: '127.0.0.1', logDir: dir, http: null, ...(RETENTION0 ? { retention: { maxAgeMs: 0 } } : {}) } })
const results = []
try {
  await once(broker, 'warm') // JIT warm-up
  for (let r = 0; r < REPEATS; r++) {
    const x = await once(broker, String(r))
    results.push(x)
    process.stderr.write(`#${r + 1}: ${x.usPerEvent.toFixed(2)} µs/event (broker + harness CPU), ${Math.round(x.rate)} ev/s in-process\n`)
  }
} finally {
  if (allocSession !== null) {
    const { profile } = await allocSession.post('HeapProfiler.stopSampling')
    writeFileSync(ALLOC_PROFILE, JSON.stringify(profile))
  }
  await broker.stop()
  rmSync(dir, { recursive: true, force: true })
}
const med = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(JSON.stringify({ workload: WORKLOAD, ack: ACK, ...(COALESCE_ACKS ? { coalesceAcks: true } : {}), subs: SUBS, events: EVENTS, inFlight: IN_FLIGHT, dist: DIST,
  usPerEvent: Number(med(results.map((r) => r.usPerEvent)).toFixed(3)), runs: results.map((r) => Number(r.usPerEvent.toFixed(3))) }))
