#!/usr/bin/env node
// Bounded soak test: a real broker, 200 client connections, a few minutes of
// steady load; checks that no confirmed event is lost, that every duplicate is
// one at-least-once delivery allows, and that the broker's RSS stays flat.
//
//   npm run build
//   node test/bench/soak.mjs [--duration 180] [--json]
//
// What it does:
// - Starts `node dist/cli.js start --port 0 --log-dir <tmp> --config <tmp>/soak.json`
//   (ackTimeoutMs 2000, maxDeliveries 10, fsync as given) and reads the
//   "ackline listening on host:port" line.
// - Creates --topics topics (default 10) with one warm-up pub each, then opens
//   --subscribers connections (default 100; subscriber i takes topic i % topics;
//   every --named-every-th one (default 5th) is a named, durable subscriber) and
//   --publishers connections (default 100; publisher j publishes to topic j % topics),
//   all on 127.0.0.1. Every subscription exists before the first publish, so the
//   subscribers of a topic "present at publish time" are all of that topic's.
// - Publishers send `pub <topic> {"id":"p<j>-<n>","priority":0-9,"msg":{...}}`
//   at --rate events/s in total (open loop, at most --window unconfirmed per
//   connection). An event counts as confirmed when its `OK` arrives.
// - Subscribers ack every event, except on its first delivery: subscribers
//   with i % 4 == 1 nack about 5% of events (half at once, half with a 300 ms
//   delay); subscribers with i % 4 == 2 leave about 2% unacked so their ack
//   timeout (1000 ms, set by `sub <topic> 20 1000`) redelivers them. Every
//   --churn-ms (default 5000) one named subscriber sends `quit`, and
//   reconnects 500 ms later with `name` + `sub` (its unacked events come back).
// - Every --sample-ms (default 2000) it reads VmRSS of the broker from
//   /proc/<pid>/status.
// - After --duration seconds (default 180, at most 900) publishing stops; it
//   waits until every confirmed event has been acked by every subscriber of
//   its topic, or --drain-timeout seconds (default 30) pass, reads `stats`,
//   stops the broker with SIGTERM (SIGKILL after 10 s) and prints a summary
//   (`--json`: one JSON object on stdout). A watchdog ends everything at
//   duration + drain timeout + 30 s whatever happens.
//
// Checks (exit code 0 when all pass, 1 otherwise, 2 on a setup failure):
// - lost = 0: each confirmed pub was acked (OK acked) by each subscriber of its
//   topic. (The `OK` of pub also reports the subscriber count; any pub not seeing
//   all of them is counted as a mismatch.)
// - unexplained duplicates = 0: a subscriber received an event again without the
//   `"deliveries"` mark, or after its ack of that event was confirmed. Marked
//   redeliveries (ack timeout, nack, reconnect) are allowed and counted.
// - RSS flat: after the warm-up (first 25% of the run, at least one sample),
//   last sample - first sample <= max(--rss-tolerance-pct (default 25) % of the
//   first, --rss-tolerance-mib (default 32) MiB).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const argv = process.argv.slice(2)
function option (name, fallback) {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : argv[i + 1]
}
function num (name, fallback, min, max) {
  const v = Number(option(name, String(fallback)))
  if (!Number.isFinite(v) || v < min || v > max) usage(`--${name} must be a number from ${min} to ${max}`)
  return v
}
function usage (why) {
  console.error(`soak: ${why}\nusage: node test/bench/soak.mjs [--duration 180] [--publishers 100] [--subscribers 100] [--topics 10] [--rate 1000] [--window 50] [--named-every 5] [--churn-ms 5000] [--sample-ms 2000] [--drain-timeout 30] [--fsync always|batch|off] [--rss-tolerance-pct 25] [--rss-tolerance-mib 32] [--cli dist/cli.js] [--keep] [--json]`)
  process.exit(2)
}

const DURATION_S = num('duration', 180, 1, 900)
const PUBLISHERS = num('publishers', 100, 1, 1000)
const SUBSCRIBERS = num('subscribers', 100, 1, 1000)
const TOPICS = num('topics', 10, 1, 100)
const RATE = num('rate', 1000, 1, 1e6)
const WINDOW = num('window', 50, 1, 100000)
const NAMED_EVERY = num('named-every', 5, 1, 1e6)
const CHURN_MS = num('churn-ms', 5000, 0, 1e7)
const SAMPLE_MS = num('sample-ms', 2000, 100, 600000)
const DRAIN_S = num('drain-timeout', 30, 1, 600)
const RSS_PCT = num('rss-tolerance-pct', 25, 0, 1000)
const RSS_MIB = num('rss-tolerance-mib', 32, 0, 1e6)
const FSYNC = option('fsync', 'always')
if (!['always', 'batch', 'off'].includes(FSYNC)) usage('--fsync must be always, batch or off')
const CLI = resolve(option('cli', join(root, 'dist', 'cli.js')))
const JSON_OUT = argv.includes('--json')
const KEEP = argv.includes('--keep')
const ACK_TIMEOUT_MS = 2000
const SHORT_ACK_TIMEOUT_MS = 1000
const SUB_CAP = 20
const HOST = '127.0.0.1'
if (SUBSCRIBERS / TOPICS > 16) usage('at most 16 subscribers per topic')
if (!existsSync(CLI)) usage(`${CLI} not found: run npm run build first`)

const log = (...a) => { if (!JSON_OUT) console.log(...a) }
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const mib = bytes => Math.round(bytes / 1048576 * 10) / 10

// ---------------------------------------------------------------- broker

const dir = mkdtempSync(join(tmpdir(), 'ackline-soak-'))
const logDir = join(dir, 'logs')
const configFile = join(dir, 'soak.json')
writeFileSync(configFile, JSON.stringify({
  ackTimeoutMs: ACK_TIMEOUT_MS,
  maxDeliveries: 10,
  redeliveryCheckMs: 100,
  fsync: FSYNC,
  maxConnectionsPerIp: 10000,
  maxConnections: 10000,
}))
let broker = null
let brokerExit = null
let brokerStderr = ''

function startBroker () {
  return new Promise((resolve, reject) => {
    broker = spawn(process.execPath, [CLI, 'start', '--port', '0', '--host', HOST, '--log-dir', logDir, '--config', configFile, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
    brokerExit = new Promise(res => broker.once('exit', (code, signal) => res({ code, signal })))
    let out = ''
    const timer = setTimeout(() => reject(new Error('broker did not print its listening line within 15 s')), 15000)
    broker.stdout.on('data', d => {
      out += d
      const m = /ackline listening on [^\s]+:(\d+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    broker.stderr.on('data', d => { if (brokerStderr.length < 65536) brokerStderr += d })
    broker.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`broker exited early (${code ?? signal}): ${brokerStderr.slice(0, 2000)}`)) })
  })
}

async function stopBroker () {
  if (broker === null || broker.exitCode !== null || broker.signalCode !== null) return brokerExit === null ? null : await brokerExit
  broker.kill('SIGTERM')
  const t = setTimeout(() => broker.kill('SIGKILL'), 10000)
  const r = await brokerExit
  clearTimeout(t)
  return r
}

function brokerRss () {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${broker.pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1]) * 1024
  } catch { return null }
}

// ---------------------------------------------------------------- connections

/** A line connection: `onLine` gets every line; `send` writes lines. */
function openLine (port, onLine) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port })
    socket.setNoDelay(true)
    let rest = ''
    socket.setEncoding('utf8')
    socket.on('data', chunk => {
      const parts = (rest + chunk).split('\n')
      rest = parts.pop()
      for (const p of parts) onLine(p)
    })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

// Per publisher: state of each event n (1-based): confirmed, and per
// subscriber of the topic (bit k) received / acked.
const pubs = []
for (let j = 0; j < PUBLISHERS; j++) pubs.push({ j, topic: `soak-${j % TOPICS}`, next: 1, unconfirmed: [], confirmed: [], recv: [], acked: [], refused: 0, socket: null })
const subsPerTopic = new Array(TOPICS).fill(0)
const subs = []
for (let i = 0; i < SUBSCRIBERS; i++) {
  const t = i % TOPICS
  subs.push({
    i,
    topic: `soak-${t}`,
    k: subsPerTopic[t]++,
    named: i % NAMED_EVERY === 0,
    kind: i % 4 === 1 ? 'nacker' : i % 4 === 2 ? 'sleeper' : 'acker',
    socket: null,
    fifo: [],
    quitting: false,
  })
}
const fullMask = t => (1 << subsPerTopic[t]) - 1

const c = {
  published: 0, confirmed: 0, refused: 0, refusedBy: {}, subscriberCountMismatch: 0,
  deliveries: 0, firstDeliveries: 0, markedRedeliveries: 0, firstSeenMarked: 0,
  acksConfirmed: 0, lateAcks: 0, nacks: 0, leftToTimeOut: 0,
  unmarkedDuplicates: 0, afterAckDeliveries: 0, doubleAcks: 0, otherErrors: 0, unknownEvents: 0,
  reconnects: 0,
}
const errorSamples = []
function noteError (what) {
  c.otherErrors++
  if (errorSamples.length < 10) errorSamples.push(what)
}

// Deterministic "random" per (subscriber, event) so behaviour is reproducible.
function hash (a, b, n) {
  let h = (a * 2654435761 ^ b * 40503 ^ n * 2246822519) >>> 0
  h ^= h >>> 15; h = Math.imul(h, 2246822507) >>> 0; h ^= h >>> 13
  return (h >>> 0) / 4294967296
}

function onSubLine (s, line) {
  if (line.startsWith('EVENT ')) {
    const sp = line.indexOf(' ', 6)
    const ev = JSON.parse(line.slice(sp + 1))
    const m = /^p(\d+)-(\d+)$/.exec(String(ev.id))
    const p = m === null ? undefined : pubs[Number(m[1])]
    if (p === undefined) { c.unknownEvents++; return }
    const n = Number(m[2])
    const d = ev.deliveries ?? 1
    const bit = 1 << s.k
    c.deliveries++
    if ((p.acked[n] ?? 0) & bit) c.afterAckDeliveries++
    else if ((p.recv[n] ?? 0) & bit) { if (d > 1) c.markedRedeliveries++; else c.unmarkedDuplicates++ }
    else { c.firstDeliveries++; if (d > 1) c.firstSeenMarked++ }
    p.recv[n] = (p.recv[n] ?? 0) | bit
    if (s.quitting) return // lines after quit are not run; the event comes back on reconnect
    let cmd = 'ack'
    if (d === 1 && s.kind === 'nacker' && hash(s.i, p.j, n) < 0.05) cmd = 'nack'
    if (d === 1 && s.kind === 'sleeper' && hash(s.i, p.j, n) < 0.02) { c.leftToTimeOut++; return }
    if (cmd === 'ack') {
      s.fifo.push({ kind: 'ack', p, n })
      s.socket.write(`ack ${s.topic} ${ev.id}\n`)
    } else {
      s.fifo.push({ kind: 'nack', p, n })
      s.socket.write(`nack ${s.topic} ${ev.id}${hash(n, s.i, p.j) < 0.5 ? '' : ' 300'}\n`)
    }
    return
  }
  const want = s.fifo.shift()
  if (want === undefined) { noteError(`sub ${s.i}: unexpected line ${line}`); return }
  if (want.kind === 'ack') {
    if (line.startsWith('OK acked')) {
      const bit = 1 << s.k
      if ((want.p.acked[want.n] ?? 0) & bit) c.doubleAcks++
      want.p.acked[want.n] = (want.p.acked[want.n] ?? 0) | bit
      c.acksConfirmed++
    } else if (line.startsWith('ERR NOT_IN_FLIGHT')) {
      c.lateAcks++ // its ack timeout took it back first; the redelivery gets acked
    } else noteError(`sub ${s.i}: ${line}`)
  } else if (want.kind === 'nack') {
    if (line.startsWith('OK nacked')) c.nacks++
    else if (line.startsWith('ERR NOT_IN_FLIGHT')) c.lateAcks++
    else noteError(`sub ${s.i}: ${line}`)
  } else if (want.kind === 'quit') {
    if (line !== 'OK bye') noteError(`sub ${s.i}: quit answered ${line}`)
  } else if (!line.startsWith('OK')) {
    noteError(`sub ${s.i}: ${want.kind} answered ${line}`)
  }
  if (want.resolve !== undefined) want.resolve(line)
}

function request (s, kind, text) {
  return new Promise(resolve => {
    s.fifo.push({ kind, resolve })
    s.socket.write(text + '\n')
  })
}

async function connectSubscriber (port, s) {
  s.quitting = false
  s.fifo = []
  s.socket = await openLine(port, line => onSubLine(s, line))
  s.socket.on('error', () => {})
  if (s.named) {
    const r = await request(s, 'name', `name soak-sub-${s.i}`)
    if (!r.startsWith('OK')) throw new Error(`name for subscriber ${s.i}: ${r}`)
  }
  const args = s.kind === 'sleeper' ? `${SUB_CAP} ${SHORT_ACK_TIMEOUT_MS}` : `${SUB_CAP}`
  const r = await request(s, 'sub', `sub ${s.topic} ${args}`)
  if (!r.startsWith('OK subscribed')) throw new Error(`sub for subscriber ${s.i}: ${r}`)
}

async function churn (port, s) {
  // Stop acking, and wait for the replies to the acks already sent before quitting:
  // the broker drops replies still held for the journal when `quit` follows them
  // at once (see docs/benchmarks-howto.md), which would look like lost acks here.
  s.quitting = true
  for (let waited = 0; s.fifo.length > 0 && waited < 5000; waited += 10) await sleep(10)
  const closed = new Promise(resolve => s.socket.once('close', resolve))
  s.fifo.push({ kind: 'quit' })
  s.socket.write('quit\n')
  await closed
  if (s.fifo.length > 0) noteError(`sub ${s.i}: connection closed with ${s.fifo.length} command(s) unanswered: ${s.fifo.map(f => f.kind).join(',')}`)
  await sleep(500)
  await connectSubscriber(port, s)
  c.reconnects++
}

function onPubLine (p, line) {
  const n = p.unconfirmed.shift()
  if (n === undefined) { noteError(`pub ${p.j}: unexpected line ${line}`); return }
  if (line.startsWith('OK ')) {
    p.confirmed[n] = 1
    c.confirmed++
    const m = /\((\d+) subscribers?/.exec(line)
    if (m === null || Number(m[1]) !== subsPerTopic[p.j % TOPICS]) c.subscriberCountMismatch++
  } else {
    p.refused++
    c.refused++
    const code = line.split(' ')[1] ?? '?'
    c.refusedBy[code] = (c.refusedBy[code] ?? 0) + 1
  }
}

// ---------------------------------------------------------------- run

const rss = []
let control = null
const controlFifo = []
const t0 = performance.now()
const elapsed = () => Math.round(performance.now() - t0)
let watchdog = null
let stopping = false

async function main () {
  const port = await startBroker()
  log(`soak: broker pid ${broker.pid} on ${HOST}:${port}, log dir ${logDir}, fsync ${FSYNC}`)
  watchdog = setTimeout(() => abort('watchdog: the run took too long'), (DURATION_S + DRAIN_S + 30) * 1000)
  watchdog.unref()

  control = await openLine(port, line => { const r = controlFifo.shift(); if (r !== undefined) r(line) })
  const ask = text => new Promise(resolve => { controlFifo.push(resolve); control.write(text + '\n') })
  for (let t = 0; t < TOPICS; t++) await ask(`pub soak-${t} {"msg":"create the topic"}`)

  for (const s of subs) await connectSubscriber(port, s)
  for (const p of pubs) {
    p.socket = await openLine(port, line => onPubLine(p, line))
    p.socket.on('error', () => {})
  }
  log(`soak: ${SUBSCRIBERS} subscribers (${subs.filter(s => s.named).length} named) and ${PUBLISHERS} publishers connected over ${TOPICS} topics; publishing ${RATE} ev/s for ${DURATION_S} s`)

  const sampler = setInterval(() => {
    const v = brokerRss()
    if (v !== null) rss.push({ atMs: elapsed(), rss: v })
  }, SAMPLE_MS)
  rss.push({ atMs: elapsed(), rss: brokerRss() })

  // Churn: one named subscriber at a time quits and comes back.
  const named = subs.filter(s => s.named)
  let churning = null
  let churnIndex = 0
  const churnTimer = CHURN_MS > 0 && named.length > 0
    ? setInterval(() => {
      if (churning !== null) return
      const s = named[churnIndex++ % named.length]
      churning = churn(port, s).catch(err => noteError(`churn: ${err.message}`)).finally(() => { churning = null })
    }, CHURN_MS)
    : null

  // Publishing: open loop at RATE ev/s in total, ticks of 10 ms.
  const pubStart = performance.now()
  const endAt = pubStart + DURATION_S * 1000
  let sent = 0
  let lastProgress = pubStart
  while (performance.now() < endAt && !stopping) {
    const due = Math.floor((performance.now() - pubStart) / 1000 * RATE)
    while (sent < due) {
      const p = pubs[sent % PUBLISHERS]
      sent++
      if (p.unconfirmed.length >= WINDOW) continue // window full: this slot is skipped
      const n = p.next++
      p.unconfirmed.push(n)
      c.published++
      const pri = Math.floor(hash(p.j, n, 7) * 10)
      p.socket.write(`pub ${p.topic} {"id":"p${p.j}-${n}","priority":${pri},"msg":{"n":${n},"pad":"soak-soak-soak-soak-soak-soak-soak-soak"}}\n`)
    }
    if (performance.now() - lastProgress > 10000) {
      lastProgress = performance.now()
      const last = rss[rss.length - 1]
      log(`soak: ${Math.round((lastProgress - pubStart) / 1000)} s: published ${c.published}, confirmed ${c.confirmed}, acks ${c.acksConfirmed}, rss ${last === undefined ? '?' : mib(last.rss)} MiB`)
    }
    await sleep(10)
  }
  const publishMs = performance.now() - pubStart
  if (churnTimer !== null) clearInterval(churnTimer)
  if (churning !== null) await churning

  // Drain: every confirmed event acked by every subscriber of its topic.
  const drainStart = performance.now()
  let missing = countMissing()
  while ((missing.events > 0 || pubs.some(p => p.unconfirmed.length > 0)) && performance.now() - drainStart < DRAIN_S * 1000) {
    await sleep(250)
    missing = countMissing()
  }
  const drainMs = performance.now() - drainStart
  clearInterval(sampler)
  rss.push({ atMs: elapsed(), rss: brokerRss() })
  const statsLine = await Promise.race([ask('stats'), sleep(5000).then(() => 'timeout')])
  const stats = statsLine.startsWith('OK ') ? JSON.parse(statsLine.slice(3)) : null

  for (const s of subs) s.socket.destroy()
  for (const p of pubs) p.socket.destroy()
  control.destroy()
  const exit = await stopBroker()
  clearTimeout(watchdog)
  return report({ port, publishMs, drainMs, missing, stats, exit })
}

function countMissing () {
  let events = 0
  let copies = 0
  const samples = []
  for (const p of pubs) {
    const full = fullMask(p.j % TOPICS)
    for (let n = 1; n < p.next; n++) {
      if (p.confirmed[n] !== 1) continue
      const a = p.acked[n] ?? 0
      if (a !== full) {
        events++
        let miss = full & ~a
        while (miss !== 0) { copies += miss & 1; miss >>>= 1 }
        if (samples.length < 10) samples.push({ id: `p${p.j}-${n}`, topic: p.topic, ackedMask: a, receivedMask: p.recv[n] ?? 0 })
      }
    }
  }
  return { events, copies, samples }
}

function report ({ publishMs, drainMs, missing, stats, exit }) {
  const warmupMs = DURATION_S * 1000 * 0.25
  const valid = rss.filter(r => r.rss !== null)
  let after = valid.filter(r => r.atMs >= warmupMs)
  if (after.length === 0) after = valid.slice(-1)
  const first = after[0]?.rss ?? null
  const last = after[after.length - 1]?.rss ?? null
  const max = after.reduce((m, r) => Math.max(m, r.rss), 0)
  const growth = first === null ? null : last - first
  const allowed = first === null ? 0 : Math.max(first * RSS_PCT / 100, RSS_MIB * 1048576)
  const rssFlat = growth !== null && growth <= allowed
  const unexplained = c.unmarkedDuplicates + c.afterAckDeliveries + c.doubleAcks
  const checks = {
    noLoss: missing.events === 0,
    duplicatesExplained: unexplained === 0,
    rssFlat,
    noErrors: c.otherErrors === 0 && c.unknownEvents === 0 && c.subscriberCountMismatch === 0,
    noDeadLetters: stats !== null && stats.deadLettered === 0,
    brokerExitedCleanly: exit !== null && exit.code === 0,
  }
  const ok = Object.values(checks).every(Boolean)
  const summary = {
    ok,
    checks,
    config: { durationS: DURATION_S, publishers: PUBLISHERS, subscribers: SUBSCRIBERS, namedSubscribers: subs.filter(s => s.named).length, topics: TOPICS, rate: RATE, window: WINDOW, fsync: FSYNC, ackTimeoutMs: ACK_TIMEOUT_MS, sleeperAckTimeoutMs: SHORT_ACK_TIMEOUT_MS, churnMs: CHURN_MS, sampleMs: SAMPLE_MS, connections: PUBLISHERS + SUBSCRIBERS + 1 },
    publishSeconds: Math.round(publishMs / 100) / 10,
    drainSeconds: Math.round(drainMs / 100) / 10,
    events: {
      published: c.published,
      confirmed: c.confirmed,
      refused: c.refused,
      refusedBy: c.refusedBy,
      confirmedPerSecond: Math.round(c.confirmed / (publishMs / 1000)),
      expectedAcks: pubs.reduce((sum, p) => sum + p.confirmed.filter(x => x === 1).length * subsPerTopic[p.j % TOPICS], 0),
      acksConfirmed: c.acksConfirmed,
      lostEvents: missing.events,
      lostCopies: missing.copies,
      lostSamples: missing.samples,
    },
    deliveries: {
      total: c.deliveries,
      first: c.firstDeliveries,
      markedRedeliveries: c.markedRedeliveries,
      firstSeenMarked: c.firstSeenMarked,
      nacks: c.nacks,
      leftToTimeOut: c.leftToTimeOut,
      lateAcks: c.lateAcks,
      reconnects: c.reconnects,
      unexplainedDuplicates: unexplained,
      unmarkedDuplicates: c.unmarkedDuplicates,
      deliveriesAfterConfirmedAck: c.afterAckDeliveries,
      doubleAcks: c.doubleAcks,
    },
    rss: {
      warmupSeconds: Math.round(warmupMs / 1000),
      samples: valid.length,
      firstAfterWarmupMiB: first === null ? null : mib(first),
      lastMiB: last === null ? null : mib(last),
      maxAfterWarmupMiB: mib(max),
      growthMiB: growth === null ? null : mib(growth),
      allowedGrowthMiB: mib(allowed),
      series: valid.map(r => [Math.round(r.atMs / 1000), mib(r.rss)]),
    },
    broker: {
      stats: stats === null ? null : { redelivered: stats.redelivered, deadLettered: stats.deadLettered, dropped: stats.dropped, pendingBytes: stats.pendingBytes, pending: stats.pending, inFlight: stats.inFlight, published: stats.published, delivered: stats.delivered, acked: stats.acked, limitHits: stats.limitHits },
      exit,
    },
    errors: { other: c.otherErrors, unknownEvents: c.unknownEvents, subscriberCountMismatch: c.subscriberCountMismatch, samples: errorSamples },
  }
  if (JSON_OUT) {
    console.log(JSON.stringify(summary))
  } else {
    const e = summary.events
    const d = summary.deliveries
    const r = summary.rss
    console.log(`
soak summary (${ok ? 'PASS' : 'FAIL'})
  load        ${PUBLISHERS} publishers + ${SUBSCRIBERS} subscribers (${summary.config.namedSubscribers} named) over ${TOPICS} topics, ${summary.publishSeconds} s publishing at ${RATE} ev/s target, fsync ${FSYNC}
  events      published ${e.published}, confirmed ${e.confirmed} (${e.confirmedPerSecond}/s), refused ${e.refused} ${JSON.stringify(e.refusedBy)}
  acks        expected ${e.expectedAcks}, confirmed ${e.acksConfirmed}; lost events ${e.lostEvents} (${e.lostCopies} subscriber copies) after ${summary.drainSeconds} s drain   [${checks.noLoss ? 'ok' : 'FAIL'}]
  deliveries  ${d.total} total: ${d.first} first, ${d.markedRedeliveries} marked redeliveries (nacks ${d.nacks}, left to time out ${d.leftToTimeOut}, late acks ${d.lateAcks}, reconnects ${d.reconnects})
  duplicates  unexplained ${d.unexplainedDuplicates} (unmarked ${d.unmarkedDuplicates}, after confirmed ack ${d.deliveriesAfterConfirmedAck}, double acks ${d.doubleAcks})   [${checks.duplicatesExplained ? 'ok' : 'FAIL'}]
  rss         after ${r.warmupSeconds} s warm-up: first ${r.firstAfterWarmupMiB} MiB, last ${r.lastMiB} MiB, max ${r.maxAfterWarmupMiB} MiB, growth ${r.growthMiB} MiB (allowed ${r.allowedGrowthMiB})   [${checks.rssFlat ? 'ok' : 'FAIL'}]
  broker      ${JSON.stringify(summary.broker.stats)}
  exit        ${JSON.stringify(exit)}   [${checks.brokerExitedCleanly ? 'ok' : 'FAIL'}]
  errors      ${c.otherErrors} other, ${c.unknownEvents} unknown events, ${c.subscriberCountMismatch} subscriber-count mismatches${errorSamples.length > 0 ? '\n    ' + errorSamples.join('\n    ') : ''}`)
    if (!checks.noLoss) console.log('  lost samples', JSON.stringify(missing.samples))
  }
  return ok
}

async function abort (why) {
  if (stopping) return
  stopping = true
  console.error(`soak: ${why}`)
  await stopBroker().catch(() => {})
  cleanup()
  process.exit(2)
}

function cleanup () {
  if (!KEEP) rmSync(dir, { recursive: true, force: true })
  else console.error(`soak: kept ${dir}`)
}

process.on('SIGINT', () => abort('interrupted'))
process.on('SIGTERM', () => abort('terminated'))

main().then(ok => {
  cleanup()
  process.exit(ok ? 0 : 1)
}, async err => {
  console.error(`soak: ${err.stack ?? err}`)
  await stopBroker().catch(() => {})
  cleanup()
  process.exit(2)
})
