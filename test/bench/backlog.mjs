#!/usr/bin/env node
// Backlog benchmark (issue 10): a big backlog for one offline named
// subscriber, then a trickle of publishes; then restarts.
//
//   npm run build
//   node test/bench/backlog.mjs [--events 1000000] [--rate 10] [--seconds 30] [--priorities 1]
//                               [--cli dist/cli.js] [--fsync always] [--restarts 1] [--keep] [--limit 900]
//
// 1. Spawns `node <cli> start --port 0 --log-dir <tmp> --config <tmp>/cfg.json`
//    (maxPendingPerSubscriber and maxPendingBytes raised to fit the backlog).
// 2. `name offline`, `sub bench 10`, disconnect: a named subscriber that is away.
// 3. Publishes --events events of ~100 bytes (stored line, offset included) to
//    `bench` over one connection, pipelined (at most 1000 unconfirmed), with
//    --priorities distinct priorities (1: all 0; 10: i % 10).
// 4. Waits 3 s (batches settle), then reads the broker's VmRSS, write_bytes
//    (/proc/<pid>/io) and CPU time (/proc/<pid>/stat).
// 5. Publishes --rate events/s for --seconds s, each waiting for its OK, and
//    reports the bytes the broker wrote per second against the bytes of the
//    new events and of their journal records, and the broker's CPU %.
// 6. --restarts times: stops the broker (SIGTERM, then for the next one
//    kill -9), starts a new one on the same dir, and measures the time to the
//    listening line, then to the first EVENT of `sub bench 10` by `offline`
//    (the restart serves sub), and VmRSS / VmHWM (peak) after.
// Everything it spawns is killed on exit; a watchdog ends the run after
// --limit seconds. The temporary directory is removed unless --keep.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { flag, noHttpArgs, option, root, spawnListening, tempDirs, watchdog } from './lib.mjs'

const N = Number(option('events', '1000000'))
const RATE = Number(option('rate', '10'))
const SECONDS = Number(option('seconds', '30'))
const PRIORITIES = Number(option('priorities', '1'))
const CLI = resolve(option('cli', join(root, 'dist', 'cli.js')))
const FSYNC = option('fsync', 'always')
const RESTARTS = Number(option('restarts', '1'))
const LIMIT = Number(option('limit', '900'))
const KEEP = flag('keep')
const DIR = mkdtempSync(join(tmpdir(), 'ackline-backlog-'))
const LOGS = join(DIR, 'logs')
if (!KEEP) tempDirs.add(DIR)
watchdog(LIMIT)

writeFileSync(join(DIR, 'cfg.json'), JSON.stringify({ fsync: FSYNC, maxPendingPerSubscriber: 2 * N + 100000, maxPendingBytes: Math.max(1 << 30, N * 400), logLevel: 'warn', ...(option('cache', null) !== null ? { eventCacheBytes: Number(option('cache', '0')) } : {}) }))

const NO_HTTP = noHttpArgs(CLI)
function start () {
  return spawnListening([CLI, 'start', '--port', '0', '--log-dir', LOGS, '--config', join(DIR, 'cfg.json'), ...NO_HTTP])
}

function client (port) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(c))
    s.setNoDelay(true)
    s.once('error', reject)
    const c = { s, buf: '', lines: [], waiters: [] }
    s.setEncoding('utf8')
    s.on('data', d => {
      c.buf += d
      let nl
      while ((nl = c.buf.indexOf('\n')) !== -1) {
        c.lines.push(c.buf.slice(0, nl))
        c.buf = c.buf.slice(nl + 1)
      }
      const w = c.waiters
      c.waiters = []
      for (const f of w) f()
    })
  })
}
async function next (c) {
  while (c.lines.length === 0) await new Promise(resolve => c.waiters.push(resolve))
  return c.lines.shift()
}
async function request (c, line) {
  c.s.write(line + '\n')
  return next(c)
}

const proc = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)[1]) * 1024
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), writeBytes: Number(/write_bytes: (\d+)/.exec(io)[1]), wchar: Number(/wchar: (\d+)/.exec(io)[1]), cpuTicks: Number(stat[11]) + Number(stat[12]) }
}
const mib = (b) => (b / 1048576).toFixed(1) + ' MiB'
const TICK = 100 // USER_HZ

/** ~100 bytes as stored: {"id":N,"priority":P,"msg":{"n":i,"p":"xxx"},"timestamp":…,"offset":…} */
function event (i) {
  const p = PRIORITIES > 1 ? i % PRIORITIES : 0
  return `{"priority":${p},"msg":{"n":${i},"p":"${'x'.repeat(22)}"}}`
}

const b = start()
const { port } = await b.listening
const idle = proc(b.child.pid)
console.log(`ackline backlog bench: ${N} events, priorities ${PRIORITIES}, fsync ${FSYNC}, then ${RATE} pubs/s for ${SECONDS} s; ${CLI}`)
const sub = await client(port)
await request(sub, 'name offline')
const subbed = await request(sub, 'sub bench 10')
if (!subbed.startsWith('OK') && !subbed.startsWith('ERR UNKNOWN_TOPIC')) throw new Error(subbed)
const pub = await client(port)
if (subbed.startsWith('ERR')) {
  await request(pub, 'pub bench {"msg":"create"}')
  const again = await request(sub, 'sub bench 10')
  if (!again.startsWith('OK')) throw new Error(again)
}
sub.s.destroy()
await new Promise(resolve => setTimeout(resolve, 100))

let t0 = performance.now()
const WINDOW = 1000
let sent = 0
let confirmed = 0
await new Promise((resolve, reject) => {
  const pump = () => {
    let batch = ''
    while (sent < N && sent - confirmed < WINDOW) batch += `pub bench ${event(sent++)}\n`
    if (batch !== '') pub.s.write(batch)
  }
  pub.s.on('data', () => {
    const had = confirmed
    while (pub.lines.length > 0) {
      const line = pub.lines.shift()
      if (!line.startsWith('OK ')) { reject(new Error(line)); return }
      confirmed++
    }
    if (confirmed === N) resolve()
    else pump()
    if (Math.floor(confirmed / 1000000) !== Math.floor(had / 1000000)) console.log(`  ${confirmed} published (${(confirmed / ((performance.now() - t0) / 1000)).toFixed(0)} ev/s)`)
  })
  pump()
})
pub.s.removeAllListeners('data')
pub.s.on('data', d => {
  pub.buf += d
  let nl
  while ((nl = pub.buf.indexOf('\n')) !== -1) { pub.lines.push(pub.buf.slice(0, nl)); pub.buf = pub.buf.slice(nl + 1) }
  const w = pub.waiters; pub.waiters = []; for (const f of w) f()
})
const fillS = (performance.now() - t0) / 1000
console.log(`filled: ${N} events in ${fillS.toFixed(1)} s (${(N / fillS).toFixed(0)} ev/s)`)
await new Promise(resolve => setTimeout(resolve, 3000))
const before = proc(b.child.pid)
const stats = JSON.parse((await request(pub, 'stats')).slice(3))
console.log(`with ${N} pending: broker VmRSS ${mib(before.rss)} (${mib(idle.rss)} when idle before the fill: ${((before.rss - idle.rss) / N).toFixed(1)} B per pending event), VmHWM ${mib(before.hwm)}, V8 heap used ${mib(stats.memory.heapUsed)}`)

// The trickle.
let eventBytes = 0
let journalBytes = 0
t0 = performance.now()
for (let k = 0; k < RATE * SECONDS; k++) {
  const due = t0 + (k * 1000) / RATE
  const wait = due - performance.now()
  if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
  const text = event(N + k)
  const reply = await request(pub, `pub bench ${text}`)
  if (!reply.startsWith('OK ')) throw new Error(reply)
  const id = reply.split(' ')[1]
  // The stored line: {"id":<id>,<text without its braces>,"timestamp":<13 digits>,"offset":<n>} plus a newline.
  const stored = `{"id":${id},${text.slice(1, -1)},"timestamp":1795000000000,"offset":${N + 2 + k}}`.length + 1
  eventBytes += stored
  journalBytes += '["P","bench",]'.length + stored
}
await new Promise(resolve => setTimeout(resolve, 1500)) // the last batch
const elapsed = (performance.now() - t0) / 1000
const after = proc(b.child.pid)
const wrote = after.writeBytes - before.writeBytes
const asked = after.wchar - before.wchar
const cpu = (after.cpuTicks - before.cpuTicks) / TICK / elapsed
const kibs = (n) => (n / elapsed / 1024).toFixed(2) + ' KiB/s'
console.log(`trickle: ${RATE * SECONDS} pubs in ${elapsed.toFixed(1)} s; the new events are ${kibs(eventBytes)} and their journal records ${kibs(journalBytes)}: target at most 2x their sum, ${kibs(2 * (eventBytes + journalBytes))}`)
console.log(`  the broker wrote ${kibs(asked)} (write(2) bytes, /proc/<pid>/io wchar, replies to the publisher included), ${kibs(wrote)} reached the block layer (write_bytes: whole 4 KiB pages and file-system metadata, so each small synced append counts as a page or more)`)
console.log(`  broker CPU ${(cpu * 100).toFixed(2)} % of one core`)
pub.s.destroy()

let current = b
for (let r = 0; r < RESTARTS; r++) {
  const kill = r % 2 === 1
  if (kill) current.child.kill('SIGKILL'); else current.child.kill('SIGTERM')
  await current.exited
  const n = start()
  const { port: p2, ms } = await n.listening
  const t1 = performance.now()
  const c = await client(p2)
  await request(c, 'name offline')
  const reply = await request(c, 'sub bench 10')
  const first = await next(c)
  const served = performance.now() - t1
  const m = proc(n.child.pid)
  console.log(`restart after ${kill ? 'kill -9' : 'a clean stop'}: listening in ${(ms / 1000).toFixed(2)} s, ${reply.replace(/^OK /, '')}, first EVENT ${served.toFixed(0)} ms later (${((ms + served) / 1000).toFixed(2)} s in all); VmRSS ${mib(m.rss)}, VmHWM ${mib(m.hwm)}${first.startsWith('EVENT ') ? '' : ` (got ${first.slice(0, 60)})`}`)
  c.s.destroy()
  current = n
}
current.child.kill('SIGTERM')
await current.exited
process.exit(0)
