#!/usr/bin/env node
// What open dashboards cost the broker: W2 (issue 3's workload: 1 publisher,
// 1 anonymous subscriber, in-flight 100, priorities 0-9, every event acked,
// fsync always) with no dashboard open, then with N dashboards open, in
// alternating order, each on a fresh broker.
//
//   npm run build
//   node test/bench/dashboard-cost.mjs [--dashboards 10] [--repeats 3] [--messages 100000]
//
// A "dashboard" is what an open browser tab asks of the broker: the page and
// its assets once (GET /, /dashboard/app.js, the vendored libraries), /api/me,
// then the live feed (GET /api/live, one Server-Sent Events frame a second)
// kept open for the whole run, every frame read and parsed. Headless browsers
// are not used here: on a 2-core machine their own rendering would take the
// CPU the broker needs and measure the browsers, not the broker. Reported per
// run: delivered ev/s and the broker's CPU time per event (/proc/<pid>/stat).
import { execFile } from 'node:child_process'
import { request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cpuMsOf, flag, median, option, root, spawnListening, tempDirs } from './lib.mjs'

const DASHBOARDS = Number(option('dashboards', '10'))
const IDLE_SECONDS = Number(option('idle-seconds', '20'))
const TOPICS = Number(option('topics', '100'))
const REPEATS = Number(option('repeats', '3'))
const MESSAGES = option('messages', '100000')
const CLI = join(root, 'dist', 'cli.js')
const run = promisify(execFile)

async function broker () {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-dashcost-'))
  tempDirs.add(dir)
  const b = spawnListening([CLI, 'start', '--port', '0', '--http-port', '0', '--log-dir', join(dir, 'logs'), '--log-level', 'warn'],
    { pattern: /listening on [^:\s]+:(\d+) and http:\/\/[^:\s]+:(\d+)/, inheritStderr: true })
  const { match } = await b.listening
  return {
    port: Number(match[1]),
    httpPort: Number(match[2]),
    cpuMs: () => cpuMsOf(b.child.pid),
    stop: async () => {
      b.child.kill('SIGTERM')
      await b.exited
      rmSync(dir, { recursive: true, force: true })
      tempDirs.delete(dir)
    },
  }
}

function get (port, path) {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, res => { res.resume(); res.on('end', resolve) }).on('error', reject).end()
  })
}

/** One open dashboard: page, assets, /api/me, then the live stream, parsed frame by frame. */
async function dashboard (port) {
  for (const p of ['/', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/vendor/preact.mjs', '/dashboard/vendor/preact-hooks.mjs', '/dashboard/vendor/htm.mjs', '/dashboard/vendor/uplot.mjs', '/dashboard/vendor/uplot.css', '/api/me']) await get(port, p)
  const state = { frames: 0, close: () => {} }
  await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/live' }, res => {
      let buf = ''
      res.setEncoding('utf8').on('data', s => {
        buf += s
        let i
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (frame.startsWith('data: ')) { JSON.parse(frame.slice(6)); state.frames++ }
        }
      })
      resolve()
    })
    req.on('error', reject).end()
    state.close = () => req.destroy()
  })
  return state
}

async function w2 (port) {
  const args = [CLI, 'bench', '--port', String(port), '--messages', MESSAGES, '--priorities', '0-9', '--in-flight', '100', '--json', '--no-progress', '--duration-limit', '300s']
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 24 })
  const r = JSON.parse(stdout)
  if (!r.complete) throw new Error(`incomplete run: ${stdout.slice(0, 300)}`)
  return { delivered: r.rates.delivered, seconds: r.durationMs === undefined ? null : r.durationMs / 1000 }
}

/** Opens a TCP connection, sends the lines, waits for as many replies. */
async function tcpLines (port, lines) {
  const { connect } = await import('node:net')
  await new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(lines.map(l => l + '\n').join('')))
    let got = 0
    sock.setEncoding('utf8').on('data', s => {
      got += s.split('\n').length - 1
      if (got >= lines.length) { sock.destroy(); resolve() }
    })
    sock.on('error', reject)
  })
}

/**
 * The dashboards' own cost, independent of how busy the machine is: the
 * broker's CPU time per second with the dashboards open and no traffic, on a
 * broker holding TOPICS topics (each with a named subscriber away and a few
 * pending events, so every tick has a real topics table to build).
 */
async function idleCost (n) {
  const b = await broker()
  const lines = []
  for (let i = 0; i < TOPICS; i++) lines.push(`pub topic-${i} {"msg":"create"}`)
  await tcpLines(b.port, lines)
  const subs = ['name reader']
  for (let i = 0; i < TOPICS; i++) subs.push(`sub topic-${i} 1`)
  await tcpLines(b.port, subs)
  const more = []
  for (let i = 0; i < TOPICS; i++) for (let k = 0; k < 3; k++) more.push(`pub topic-${i} {"msg":${k}}`)
  await tcpLines(b.port, more)
  const tabs = []
  for (let i = 0; i < n; i++) tabs.push(await dashboard(b.httpPort))
  await new Promise(resolve => setTimeout(resolve, 2000))
  const c0 = b.cpuMs()
  const t0 = Date.now()
  await new Promise(resolve => setTimeout(resolve, IDLE_SECONDS * 1000))
  const msPerS = (b.cpuMs() - c0) / ((Date.now() - t0) / 1000)
  const frames = tabs.reduce((s, t) => s + t.frames, 0)
  for (const t of tabs) t.close()
  await b.stop()
  return { msPerS, frames }
}

if (flag('idle-only') || flag('idle')) {
  console.log(`idle cost: ${TOPICS} topics, broker CPU over ${IDLE_SECONDS} s`)
  const idle = { 0: [], [DASHBOARDS]: [] }
  for (let r = 0; r < REPEATS; r++) {
    for (const n of (r % 2 === 0 ? [0, DASHBOARDS] : [DASHBOARDS, 0])) {
      const x = await idleCost(n)
      idle[n].push(x.msPerS)
      console.log(`  repeat ${r + 1}, ${n} dashboards: broker CPU ${x.msPerS.toFixed(1)} ms per second, ${x.frames} live frames received`)
    }
  }
  const i0 = median(idle[0])
  const iN = median(idle[DASHBOARDS])
  console.log(`\n| dashboards open | broker CPU, ms per second (median) | runs |\n|---:|---:|---|`)
  for (const n of [0, DASHBOARDS]) console.log(`| ${n} | ${median(idle[n]).toFixed(1)} | ${idle[n].map(x => x.toFixed(1)).join(', ')} |`)
  console.log(`\n${DASHBOARDS} dashboards cost ${(iN - i0).toFixed(1)} ms of broker CPU per second, ${((iN - i0) / 10).toFixed(2)} % of one core`)
  if (flag('idle-only')) process.exit(0)
}

const results = { 0: [], [DASHBOARDS]: [] }
console.log(`dashboard cost: W2 with 0 and ${DASHBOARDS} open dashboards, ${REPEATS} repeats, ${MESSAGES} events, fsync always`)
for (let r = 0; r < REPEATS; r++) {
  for (const n of (r % 2 === 0 ? [0, DASHBOARDS] : [DASHBOARDS, 0])) {
    const b = await broker()
    const tabs = []
    for (let i = 0; i < n; i++) tabs.push(await dashboard(b.httpPort))
    const c0 = b.cpuMs()
    const x = await w2(b.port)
    x.cpuUs = (b.cpuMs() - c0) * 1000 / Number(MESSAGES)
    x.frames = tabs.reduce((s, t) => s + t.frames, 0)
    for (const t of tabs) t.close()
    await b.stop()
    results[n].push(x)
    console.log(`  repeat ${r + 1}, ${n} dashboards: ${x.delivered.toFixed(0)} delivered ev/s, broker CPU ${x.cpuUs.toFixed(2)} µs/event, ${x.frames} live frames received`)
  }
}
console.log(`\n| dashboards open | delivered ev/s (median) | broker CPU µs/event (median) | runs (ev/s) |\n|---:|---:|---:|---|`)
for (const n of [0, DASHBOARDS]) {
  const xs = results[n]
  console.log(`| ${n} | ${median(xs.map(x => x.delivered)).toFixed(0)} | ${median(xs.map(x => x.cpuUs)).toFixed(2)} | ${xs.map(x => x.delivered.toFixed(0)).join(', ')} |`)
}
const t0 = median(results[0].map(x => x.delivered))
const tn = median(results[DASHBOARDS].map(x => x.delivered))
const c0 = median(results[0].map(x => x.cpuUs))
const cn = median(results[DASHBOARDS].map(x => x.cpuUs))
console.log(`\nthroughput change ${((tn / t0 - 1) * 100).toFixed(1)} %, broker CPU per event change ${((cn / c0 - 1) * 100).toFixed(1)} %`)
process.exit(0)
