#!/usr/bin/env node
// Recovery benchmark: start-up time and memory of a broker whose log dir holds
// N pending events for one named subscriber on one topic.
//
//   npm run build
//   node test/bench/recovery.mjs [--events 1000000] [--runs 3] [--cli dist/cli.js] [--dir DIR] [--keep] [--format 2]
//
// It writes DIR/bench.json directly in the topic-log format of docs/storage.md
// (one "#meta" line, then one ~100-byte event per line; `--format 1` writes
// the layout of brokers before format 2, with "#seq" inside each event, which
// is still read), then, for each run,
// spawns `node <cli> start --port 0 --log-dir DIR`, measures the wall time from
// spawn to the "ackline listening" line on stdout, reads VmRSS and VmHWM from
// /proc/<pid>/status right after, checks the broker's "recovered from log dir"
// log line reports N events, stops it with SIGTERM and waits for it to exit
// (nothing is delivered, so the log file is not rewritten and every run reads
// the same file). Prints one line per run and
// the medians. Every child is killed on exit, even on failure.
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const N = Number(option('events', '1000000'))
const RUNS = Number(option('runs', '3'))
const CLI = resolve(option('cli', join(root, 'dist', 'cli.js')))
const KEEP = process.argv.includes('--keep')
const FORMAT = Number(option('format', '2'))
const DIR = option('dir', null) ?? mkdtempSync(join(tmpdir(), 'ackline-recovery-'))
const TOPIC = 'bench'
const SUBSCRIBER = 'bench-sub'
if (!Number.isSafeInteger(N) || N < 1 || !Number.isSafeInteger(RUNS) || RUNS < 1 || (FORMAT !== 1 && FORMAT !== 2)) {
  console.error('usage: node test/bench/recovery.mjs [--events N] [--runs R] [--cli dist/cli.js] [--dir DIR] [--keep] [--format 1|2]')
  process.exit(2)
}

/** Writes <DIR>/bench.json: N never-delivered events, ~100 bytes each, in delivery order (priority, then publish order). */
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

const children = new Set()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

async function run () {
  const t0 = process.hrtime.bigint()
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--log-dir', DIR], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const exited = new Promise(resolve => child.on('exit', code => { children.delete(child); resolve(code) }))
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  const port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', d => {
      out += d
      const m = /ackline listening on \S*:(\d+)[, ]/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    exited.then(code => reject(new Error(`broker exited (${code}) before listening:\n${stderr}`)))
  })
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6
  const rssMb = vm(child.pid, 'VmRSS')
  const hwmMb = vm(child.pid, 'VmHWM')
  const rec = stderr.split('\n').filter(l => l.includes('recovered from log dir')).map(l => JSON.parse(l))[0]
  // The CLI prints its listening line just before it installs its SIGTERM handler: give it a moment.
  await new Promise(resolve => setTimeout(resolve, 200))
  child.kill('SIGTERM')
  const t1 = process.hrtime.bigint()
  const code = await exited
  const stopMs = Number(process.hrtime.bigint() - t1) / 1e6
  if (code !== 0) throw new Error(`broker exited with ${code} on SIGTERM:\n${stderr}`)
  if (rec?.events !== N) throw new Error(`expected ${N} recovered events, the broker logged ${JSON.stringify(rec)}`)
  return { startMs, recoveryMs: rec.ms, rssMb, hwmMb, stopMs, events: rec.events }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

try {
  const tg = performance.now()
  const file = writeLog()
  const size = statSync(file).size
  console.log(`log dir ${DIR}: ${file} holds ${N} events, ${(size / 1048576).toFixed(1)} MiB (${(size / N).toFixed(0)} bytes/event), written in ${Math.round(performance.now() - tg)} ms`)
  console.log(`broker: node ${process.version} ${CLI}`)
  const results = []
  for (let i = 0; i < RUNS; i++) {
    const r = await run()
    if (statSync(file).size !== size) throw new Error('the log file changed between runs')
    results.push(r)
    console.log(`run ${i + 1}: listening after ${r.startMs.toFixed(0)} ms (recovery ${r.recoveryMs} ms, ${r.events} events), VmRSS ${r.rssMb.toFixed(0)} MiB, VmHWM ${r.hwmMb.toFixed(0)} MiB, SIGTERM to exit ${r.stopMs.toFixed(0)} ms`)
  }
  const m = k => median(results.map(r => r[k]))
  console.log(`median of ${RUNS}: listening after ${m('startMs').toFixed(0)} ms (recovery ${m('recoveryMs')} ms), VmRSS ${m('rssMb').toFixed(0)} MiB, VmHWM ${m('hwmMb').toFixed(0)} MiB, SIGTERM to exit ${m('stopMs').toFixed(0)} ms`)
} finally {
  if (!KEEP && option('dir', null) === null) rmSync(DIR, { recursive: true, force: true })
}
