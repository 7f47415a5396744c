#!/usr/bin/env node
// Replay benchmark (issue 10): how fast one subscriber with in-flight 1000
// gets, and acks, 1,000,000 events the broker only has in its segments.
//
//   npm run build
//   node test/bench/replay.mjs [--events 1000000] [--in-flight 1000] [--repeats 3]
//                              [--modes from,resume,ceiling] [--cli dist/cli.js] [--limit 900] [--keep]
//                              [--broker-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
//
// 1. Spawns `node <cli> start --port 0 --log-dir <tmp> --config <tmp>/cfg.json`
//    (fsync always; maxPendingPerSubscriber and maxPendingBytes raised).
// 2. `pub bench {"msg":"create"}` (offset 1), then, for the `resume` mode,
//    --repeats named subscribers `replay-<k>` `sub bench <in-flight>` and
//    disconnect (each is then owed every later event).
// 3. Publishes --events events of ~100 bytes over one connection, pipelined
//    (at most 1000 unconfirmed), waits 3 s for the batches to store them.
//    No connected subscriber waits for them, so the hot cache holds none:
//    every delivery below reads its event from the segments (the page cache
//    is warm: they were just written).
// 4. --repeats times per mode, alternating the modes:
//      from     a new connection sends `sub bench <in-flight> from=beginning`
//               (every retained event: --events + 1) and acks each EVENT;
//      resume   `name replay-<k>`, `sub bench <in-flight>` (resumed with
//               --events pending), acks each EVENT;
//      ceiling  the same client against this script's own stand-in server
//               (`--serve`, a child process) that sends the same number of
//               pre-built EVENT lines under the same in-flight cap and
//               answers each ack: what this client can count and ack on this
//               machine, the harness's own ceiling.
//    The client reads Buffers, finds each EVENT's id, and writes one `ack`
//    line per event, coalesced per chunk received. Reported per run:
//    delivered ev/s = events ÷ (last EVENT − `sub` sent), time to the first
//    EVENT, and the broker's CPU time per event (/proc/<pid>/stat).
// Prints each run and the medians. Every child is killed on exit; a watchdog
// ends the run after --limit seconds; the temp dir is removed unless --keep.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuMsOf, flag, LISTENING, median, noHttpArgs, option, root, spawnListening, tempDirs, watchdog } from './lib.mjs'

const N = Number(option('events', '1000000'))
const IN_FLIGHT = Number(option('in-flight', '1000'))
const REPEATS = Number(option('repeats', '3'))
const MODES = option('modes', 'from,resume,ceiling').split(',')
const CLI = resolve(option('cli', join(root, 'dist', 'cli.js')))
const LIMIT = Number(option('limit', '900'))
const KEEP = flag('keep')
/** Extra node options for the broker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS refuses --cpu-prof). */
const BROKER_NODE_ARGS = option('broker-node-args', '').split(' ').filter(x => x !== '')
const NL = 10

/** ~100 bytes as stored, like backlog.mjs's events. */
function event (i) {
  return `{"priority":0,"msg":{"n":${i},"p":"${'x'.repeat(22)}"}}`
}

if (flag('serve')) {
  // The stand-in server: `sub <topic> <cap> ...` then `count` EVENT lines shaped like
  // the broker's, at most <cap> unacked; `OK acked <id> on <topic>` per ack.
  const count = Number(option('serve-events', String(N)))
  const server = createServer(sock => {
    sock.setNoDelay(true)
    let cap = 0
    let sent = 0
    let unacked = 0
    let rest = ''
    const T = 1795000000000
    const pump = () => {
      let out = ''
      while (unacked < cap && sent < count) {
        sent++
        unacked++
        out += `EVENT bench {"id":${sent},"priority":0,"msg":{"n":${sent},"p":"${'x'.repeat(22)}"},"timestamp":${T + sent},"offset":${sent}}\n`
      }
      if (out !== '') sock.write(out)
    }
    sock.setEncoding('latin1')
    sock.on('data', d => {
      const text = rest + d
      let start = 0
      let nl
      let reply = ''
      while ((nl = text.indexOf('\n', start)) !== -1) {
        const line = text.slice(start, nl)
        start = nl + 1
        if (line.startsWith('ack ')) { unacked--; reply += `OK acked ${line.slice(line.lastIndexOf(' ') + 1)} on bench\n` } else if (line.startsWith('sub ')) { cap = Number(line.split(' ')[2]); reply += `OK subscribed to bench (max in flight ${cap})\n` } else reply += 'OK\n'
      }
      rest = text.slice(start)
      if (reply !== '') sock.write(reply)
      pump()
    })
    sock.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => console.log(`serving on 127.0.0.1:${server.address().port}`))
  process.on('SIGTERM', () => process.exit(0))
} else {
  await main()
}

async function main () {
  const DIR = mkdtempSync(join(tmpdir(), 'ackline-replay-'))
  if (!KEEP) tempDirs.add(DIR)
  watchdog(LIMIT)
  writeFileSync(join(DIR, 'cfg.json'), JSON.stringify({ maxPendingPerSubscriber: 2 * N + 100000, maxPendingBytes: Math.max(1 << 30, N * 400), logLevel: 'warn' }))

  function client (port) {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(c))
      s.setNoDelay(true)
      s.once('error', reject)
      const c = { s, buf: '', lines: [], waiters: [] }
      c.onText = d => {
        c.buf += d
        let nl
        while ((nl = c.buf.indexOf('\n')) !== -1) { c.lines.push(c.buf.slice(0, nl)); c.buf = c.buf.slice(nl + 1) }
        const w = c.waiters; c.waiters = []; for (const f of w) f()
      }
      s.on('data', d => c.onText(d.toString('latin1')))
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
  const cpuMs = cpuMsOf

  /**
   * Sends `lines` (the last one a `sub`), checks its reply, then counts EVENT
   * lines and acks each until `expected` arrived and every ack was answered.
   */
  async function drain (port, lines, expected) {
    const c = await client(port)
    for (let i = 0; i < lines.length - 1; i++) {
      const r = await request(c, lines[i])
      if (!r.startsWith('OK')) throw new Error(`${lines[i]}: ${r}`)
    }
    c.s.removeAllListeners('data')
    const t0 = performance.now()
    let first = 0
    let last = 0
    let delivered = 0
    let acked = 0
    let subReply = null
    let rest = null
    const EVENT = Buffer.from('EVENT ')
    const ID = Buffer.from('{"id":')
    await new Promise((resolve, reject) => {
      c.s.on('data', chunk => {
        const buf = rest === null ? chunk : Buffer.concat([rest, chunk])
        let start = 0
        let nl
        let acks = ''
        while ((nl = buf.indexOf(NL, start)) !== -1) {
          if (buf[start] === 69 /* E */ && buf.compare(EVENT, 0, 6, start, start + 6) === 0) {
            delivered++
            // EVENT <topic> {"id":<id>,...}: the id is the first field of a broker-stored event here.
            const brace = buf.indexOf(123, start)
            if (buf.compare(ID, 0, ID.length, brace, brace + ID.length) !== 0) { reject(new Error(`EVENT without a leading id: ${buf.toString('latin1', start, nl)}`)); return }
            const from = brace + ID.length
            const comma = buf.indexOf(44, from)
            acks += `ack bench ${buf.toString('latin1', from, comma).replaceAll('"', '')}\n`
          } else if (buf[start] === 79 /* O */) {
            if (subReply === null) subReply = buf.toString('latin1', start, nl)
            else acked++
          } else {
            reject(new Error(`unexpected line: ${buf.toString('latin1', start, Math.min(nl, start + 200))}`)); return
          }
          start = nl + 1
        }
        rest = start < buf.length ? buf.subarray(start) : null
        if (delivered > 0 && first === 0) first = performance.now()
        if (acks !== '') { last = performance.now(); c.s.write(acks) }
        if (acked === expected && delivered === expected) resolve()
        else if (delivered > expected) reject(new Error(`${delivered} events, expected ${expected}`))
      })
      c.s.write(lines[lines.length - 1] + '\n')
    })
    c.s.destroy()
    return { rate: delivered / ((last - t0) / 1000), firstMs: first - t0, subReply, delivered }
  }

  const broker = spawnListening([...BROKER_NODE_ARGS, CLI, 'start', '--port', '0', '--log-dir', join(DIR, 'logs'), '--config', join(DIR, 'cfg.json'), ...noHttpArgs(CLI)], { pattern: LISTENING })
  const { port } = await broker.listening
  const pid = broker.child.pid
  const pub = await client(port)
  const created = await request(pub, 'pub bench {"msg":"create"}')
  if (!created.startsWith('OK')) throw new Error(created)
  if (MODES.includes('resume')) {
    for (let k = 1; k <= REPEATS; k++) {
      const s = await client(port)
      await request(s, `name replay-${k}`)
      const r = await request(s, `sub bench ${IN_FLIGHT}`)
      if (!r.startsWith('OK')) throw new Error(r)
      s.s.destroy()
    }
  }
  console.log(`ackline replay bench: ${N} events, in-flight ${IN_FLIGHT}, modes ${MODES.join(',')}, ${REPEATS} repeats; ${CLI}`)
  let t0 = performance.now()
  let sent = 0
  let confirmed = 0
  await new Promise((resolve, reject) => {
    const pump = () => {
      let batch = ''
      while (sent < N && sent - confirmed < 1000) batch += `pub bench ${event(sent++)}\n`
      if (batch !== '') pub.s.write(batch)
    }
    pub.onText = d => {
      pub.buf += d
      let nl
      while ((nl = pub.buf.indexOf('\n')) !== -1) {
        const line = pub.buf.slice(0, nl)
        pub.buf = pub.buf.slice(nl + 1)
        if (!line.startsWith('OK ')) { reject(new Error(line)); return }
        confirmed++
      }
      if (confirmed === N) resolve(); else pump()
    }
    pump()
  })
  const fillS = (performance.now() - t0) / 1000
  console.log(`filled: ${N} events in ${fillS.toFixed(1)} s (${(N / fillS).toFixed(0)} ev/s); waiting 3 s for the batches`)
  await new Promise(resolve => setTimeout(resolve, 3000))
  pub.s.destroy()

  let ceiling = null
  if (MODES.includes('ceiling')) {
    ceiling = spawnListening([fileURLToPath(import.meta.url), '--serve', '--serve-events', String(N)], { pattern: /serving on [^:\s]+:(\d+)/ })
    ceiling.portNumber = (await ceiling.listening).port
  }
  const results = {}
  for (const m of MODES) results[m] = []
  for (let r = 0; r < REPEATS; r++) {
    for (const m of (r % 2 === 0 ? MODES : [...MODES].reverse())) {
      let x
      if (m === 'ceiling') {
        const c0 = cpuMs(ceiling.child.pid)
        x = await drain(ceiling.portNumber, [`sub bench ${IN_FLIGHT}`], N)
        x.cpuUs = (cpuMs(ceiling.child.pid) - c0) * 1000 / x.delivered
      } else {
        const c0 = cpuMs(pid)
        x = m === 'from'
          ? await drain(port, [`sub bench ${IN_FLIGHT} from=beginning`], N + 1)
          : await drain(port, [`name replay-${r + 1}`, `sub bench ${IN_FLIGHT}`], N)
        x.cpuUs = (cpuMs(pid) - c0) * 1000 / x.delivered
      }
      results[m].push(x)
      console.log(`  repeat ${r + 1} ${m}: ${x.delivered} events, ${x.rate.toFixed(0)} delivered ev/s, first EVENT after ${x.firstMs.toFixed(0)} ms, ${m === 'ceiling' ? 'server' : 'broker'} CPU ${x.cpuUs.toFixed(2)} µs/event (${x.subReply})`)
    }
  }
  console.log('\n| mode | events | delivered ev/s (median) | per run | first EVENT ms | CPU µs/event |\n|---|---:|---:|---|---:|---:|')
  for (const m of MODES) {
    const xs = results[m]
    console.log(`| ${m} | ${xs[0].delivered} | ${median(xs.map(x => x.rate)).toFixed(0)} | ${xs.map(x => `${(x.rate / 1000).toFixed(0)}k`).join(', ')} | ${median(xs.map(x => x.firstMs)).toFixed(0)} | ${median(xs.map(x => x.cpuUs)).toFixed(2)} |`)
  }
  broker.child.kill('SIGTERM')
  await broker.exited
  if (ceiling !== null) { ceiling.child.kill('SIGTERM'); await ceiling.exited }
  process.exit(0)
}
