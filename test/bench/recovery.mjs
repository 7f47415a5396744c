#!/usr/bin/env node
// Recovery benchmark: start-up time and memory of a broker whose log dir holds
// N pending events for one offline named subscriber on one topic, and the
// time until a resumed `sub` is served.
//
//   npm run build
//   node test/bench/recovery.mjs [--events 1000000] [--runs 3] [--cli dist/cli.js] [--source v2|v1]
//                                [--stop term|kill] [--dir DIR] [--keep] [--limit 900] [--set '{"dedupeWindowMs":1000}']
//
// --source v2 (default): the log dir is made by the broker itself: it starts on
// an empty DIR (fsync always, pending limits raised), a named subscriber
// `bench-sub` runs `sub bench 10` and disconnects, N events of ~100 bytes are
// published to `bench` over one connection (pipelined, at most 1000
// unconfirmed), and the broker is stopped (SIGTERM).
// --source v1: DIR/bench.json is written directly in the storage v1 topic-log
// format 2 (one "#meta" line, one ~100-byte event per line), so the first run
// is the one-time migration to storage v2 (docs/storage.md); it is reported
// apart and the following runs start from the migrated directory.
// Then, for each run: spawns `node <cli> start --port 0 --log-dir DIR`,
// measures the wall time from spawn to the "ackline listening" line, reads
// VmRSS and VmHWM from /proc/<pid>/status right then, checks the broker's
// "recovered from log dir" line reports N pending events (its `ms` field is
// the recovery alone), connects as `bench-sub`, sends `sub bench 10` and times
// the first EVENT (the restart serves `sub`), reads VmRSS and VmHWM again,
// disconnects, and stops the broker: SIGTERM and exit code 0 (--stop term), or
// kill -9 (--stop kill: every following start recovers after a crash, with
// the active segment's index unsaved and the journal to replay).
// Prints one line per run and the medians. Every child is killed on exit; a
// watchdog ends the run after --limit seconds.
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { flag, median, noHttpArgs, option, root, spawnListening, watchdog } from './lib.mjs'

const N = Number(option('events', '1000000'))
const RUNS = Number(option('runs', '3'))
const CLI = resolve(option('cli', join(root, 'dist', 'cli.js')))
const KEEP = flag('keep')
const SOURCE = option('source', 'v2')
const STOP = option('stop', 'term')
const LIMIT = Number(option('limit', '900'))
const FORMAT = 2
const DIR = option('dir', null) ?? mkdtempSync(join(tmpdir(), 'ackline-recovery-'))
const TOPIC = 'bench'
const SUBSCRIBER = 'bench-sub'
if (!Number.isSafeInteger(N) || N < 1 || !Number.isSafeInteger(RUNS) || RUNS < 1 || !['v1', 'v2'].includes(SOURCE) || !['term', 'kill'].includes(STOP)) {
  console.error('usage: node test/bench/recovery.mjs [--events N] [--runs R] [--cli dist/cli.js] [--source v2|v1] [--stop term|kill] [--dir DIR] [--keep]')
  process.exit(2)
}
const CONFIG = join(DIR, '..', `${DIR.split('/').pop()}-cfg.json`)
/** --set '{"dedupeWindowMs":1000}': more config for the broker (JSON, merged over the limits above). */
const EXTRA = JSON.parse(option('set', '{}'))
writeFileSync(CONFIG, JSON.stringify({ maxPendingPerSubscriber: 2 * N + 100000, maxPendingBytes: Math.max(1 << 30, N * 400), ...EXTRA }))

/** Writes <DIR>/bench.json (storage v1, topic-log format 2): N never-delivered events, ~100 bytes each, in delivery order (priority, then publish order). */
function writeLog () {
  const file = join(DIR, `${TOPIC}.json`)
  const fd = openSync(file, 'w')
  const meta = { ...(FORMAT === 2 ? { format: 2 } : {}), topic: TOPIC, seq: N, nextAutoId: 1, journalGen: 0, subscribers: { [SUBSCRIBER]: { maxInFlight: 10 } } }
  writeSync(fd, `{\n  "#meta": ${JSON.stringify(meta)},\n  ${JSON.stringify(SUBSCRIBER)}: [\n`)
  const ts = 1767225600000
  const pad = 'x'.repeat(8)
  let chunk = []
  for (let i = 0; i < N; i++) {
    // One priority for all: delivery order is then publish order, as the file must list it.
    const event = `{"id":"ev-${String(i).padStart(8, '0')}","priority":0,"msg":{"n":${i},"pad":"${pad}"},"timestamp":${ts + i}`
    const line = FORMAT === 2 ? `    {"seq":${i + 1},"deliveries":0,"event":${event}}}` : `    ${event},"#seq":${i + 1}}`
    chunk.push(line)
    if (chunk.length === 10000 || i === N - 1) {
      writeSync(fd, chunk.join(',\n') + (i === N - 1 ? '\n' : ',\n'))
      chunk = []
    }
  }
  writeSync(fd, '  ]\n}\n')
  closeSync(fd)
  return file
}


function vm (pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

watchdog(LIMIT)

const NO_HTTP = noHttpArgs(CLI)
function startBroker () {
  const b = spawnListening([CLI, 'start', '--port', '0', '--log-dir', DIR, '--config', CONFIG, ...NO_HTTP], { pattern: /ackline listening on \S*:(\d+)[, ]/ })
  return { ...b, port: b.listening.then(l => l.port) }
}

/** A line client: `send(line)` resolves with the next line received. */
function client (port) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(c))
    s.setNoDelay(true)
    s.once('error', reject)
    const c = { s, buf: '', lines: [], waiters: [], onLine: null }
    s.setEncoding('utf8')
    s.on('data', d => {
      c.buf += d
      let nl
      while ((nl = c.buf.indexOf('\n')) !== -1) {
        const line = c.buf.slice(0, nl)
        c.buf = c.buf.slice(nl + 1)
        if (c.onLine !== null) c.onLine(line); else c.lines.push(line)
      }
      const w = c.waiters; c.waiters = []; for (const f of w) f()
    })
    c.next = async () => {
      while (c.lines.length === 0) await new Promise(resolve => c.waiters.push(resolve))
      return c.lines.shift()
    }
    c.send = (line) => { s.write(line + '\n'); return c.next() }
  })
}

/** Storage v2 source: the broker itself stores N events for the offline `bench-sub`. */
async function fill () {
  const b = startBroker()
  const port = await b.port
  const sub = await client(port)
  await sub.send(`name ${SUBSCRIBER}`)
  let r = await sub.send(`sub ${TOPIC} 10`)
  const pub = await client(port)
  if (r.startsWith('ERR UNKNOWN_TOPIC')) {
    const created = await pub.send(`pub ${TOPIC} {"msg":"create"}`)
    if (!created.startsWith('OK')) throw new Error(created)
    r = await sub.send(`sub ${TOPIC} 10`)
  }
  if (!r.startsWith('OK')) throw new Error(r)
  sub.s.destroy()
  const t0 = performance.now()
  let sent = 0
  let confirmed = 0
  await new Promise((resolve, reject) => {
    const pump = () => {
      let batch = ''
      while (sent < N && sent - confirmed < 1000) { batch += `pub ${TOPIC} {"priority":0,"msg":{"n":${sent},"p":"${'x'.repeat(22)}"}}\n`; sent++ }
      if (batch !== '') pub.s.write(batch)
    }
    pub.onLine = (line) => {
      if (!line.startsWith('OK ')) { reject(new Error(line)); return }
      if (++confirmed === N) resolve(); else if (sent - confirmed < 500) pump()
    }
    pump()
  })
  const fillMs = performance.now() - t0
  pub.s.destroy()
  b.child.kill('SIGTERM')
  const code = await b.exited
  if (code !== 0) throw new Error(`broker exited with ${code} after the fill:\n${b.stderr()}`)
  return fillMs
}

async function run (i) {
  const t0 = performance.now()
  const b = startBroker()
  const port = await b.port
  const startMs = performance.now() - t0
  const rssMb = vm(b.child.pid, 'VmRSS')
  const hwmMb = vm(b.child.pid, 'VmHWM')
  // The log line goes to stderr, a different pipe than the listening line: it can arrive a little later.
  for (let waited = 0; !b.stderr().includes('recovered from log dir') && waited < 5000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20))
  const rec = b.stderr().split('\n').filter(l => l.includes('recovered from log dir')).map(l => JSON.parse(l))[0]
  const t1 = performance.now()
  const c = await client(port)
  await c.send(`name ${SUBSCRIBER}`)
  const reply = await c.send(`sub ${TOPIC} 10`)
  const first = await c.next()
  const servedMs = performance.now() - t1
  if (!first.startsWith('EVENT ')) throw new Error(`expected an EVENT after ${reply}, got ${first}`)
  const rssServedMb = vm(b.child.pid, 'VmRSS')
  const hwmServedMb = vm(b.child.pid, 'VmHWM')
  c.s.destroy()
  // The CLI prints its listening line just before it installs its SIGTERM handler: give it a moment.
  await new Promise(resolve => setTimeout(resolve, 200))
  const t2 = performance.now()
  b.child.kill(STOP === 'kill' ? 'SIGKILL' : 'SIGTERM')
  const code = await b.exited
  const stopMs = performance.now() - t2
  if (STOP === 'term' && code !== 0) throw new Error(`broker exited with ${code} on SIGTERM:\n${b.stderr()}`)
  if (rec === undefined || rec.pending < N) throw new Error(`expected ${N} pending events, the broker logged ${JSON.stringify(rec)}`)
  return { run: i, startMs, recoveryMs: rec.ms, rssMb, hwmMb, servedMs, rssServedMb, hwmServedMb, stopMs, pending: rec.pending, migrated: rec.migrated, reply }
}

const du = (dir) => { let n = 0; const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else n += statSync(p).size } }; walk(dir); return n }

try {
  const tg = performance.now()
  if (SOURCE === 'v1') {
    const file = writeLog()
    console.log(`storage v1 log dir ${DIR}: ${file} holds ${N} events, ${(statSync(file).size / 1048576).toFixed(1)} MiB, written in ${Math.round(performance.now() - tg)} ms`)
  } else {
    const fillMs = await fill()
    console.log(`storage v2 log dir ${DIR}: ${N} events published by the broker in ${(fillMs / 1000).toFixed(1)} s, ${(du(DIR) / 1048576).toFixed(1)} MiB on disk`)
  }
  console.log(`broker: node ${process.version} ${CLI}; runs stop with ${STOP === 'kill' ? 'kill -9' : 'SIGTERM'}`)
  const results = []
  for (let i = 0; i < RUNS + (SOURCE === 'v1' ? 1 : 0); i++) {
    const r = await run(i)
    const line = `listening after ${r.startMs.toFixed(0)} ms (recovery ${r.recoveryMs} ms, ${r.pending} pending), VmRSS ${r.rssMb.toFixed(0)} MiB, VmHWM ${r.hwmMb.toFixed(0)} MiB; first EVENT ${r.servedMs.toFixed(0)} ms later (${r.reply.replace(/^OK /, '')}), then VmRSS ${r.rssServedMb.toFixed(0)} MiB, VmHWM ${r.hwmServedMb.toFixed(0)} MiB; stop ${r.stopMs.toFixed(0)} ms`
    if (r.migrated) { console.log(`migration (first start): ${line}`); continue }
    results.push(r)
    console.log(`run ${results.length}: ${line}`)
  }
  const m = k => median(results.map(r => r[k]))
  console.log(`median of ${results.length}: listening after ${m('startMs').toFixed(0)} ms (recovery ${m('recoveryMs')} ms), VmRSS ${m('rssMb').toFixed(0)} MiB, VmHWM ${m('hwmMb').toFixed(0)} MiB; sub served ${m('servedMs').toFixed(0)} ms later (${(m('startMs') + m('servedMs')).toFixed(0)} ms from spawn), then VmRSS ${m('rssServedMb').toFixed(0)} MiB, VmHWM ${m('hwmServedMb').toFixed(0)} MiB; stop ${m('stopMs').toFixed(0)} ms`)
} finally {
  rmSync(CONFIG, { force: true })
  if (!KEEP && option('dir', null) === null) rmSync(DIR, { recursive: true, force: true })
}
process.exit(0)
