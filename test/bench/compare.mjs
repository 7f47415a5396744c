#!/usr/bin/env node
// W2 and W3 (issue 3's workloads) against two builds of the broker, in the
// same run, alternating, so both see the same machine load.
//
//   npm run build
//   node test/bench/compare.mjs --base <other build's cli.js> [--head dist/cli.js] [--repeats 3] [--messages 100000] [--limit 1200]
//
// A build of another commit: `git archive <commit> | tar -x -C /tmp/base`,
// `ln -s $PWD/node_modules /tmp/base/node_modules`,
// `(cd /tmp/base && npx tsc -p tsconfig.build.json)`, then --base /tmp/base/dist/cli.js.
//
// Per repeat and per build, W2 then W3, each against a fresh broker
// (`node <cli> start --port 0 --log-dir <tmp> --log-level warn`, default
// config: fsync always) driven by this tree's `ackline bench --json`:
//   W2: 1 publisher, 1 anonymous subscriber, in-flight 100, priorities 0-9, acks each event
//   W3: the same with a named subscriber (`--subscriber-name w3`): every pub, delivery and ack journaled
// Prints each run and the medians (delivered ev/s, end-to-end p50/p99,
// publish-to-OK p50/p99, and the broker's CPU time per event from
// /proc/<pid>/stat, the steadier figure on a shared machine). Brokers are stopped by pid; a watchdog ends the run
// after --limit seconds.
import { spawn, execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const BASE = option('base', null)
const HEAD = resolve(option('head', join(root, 'dist', 'cli.js')))
const REPEATS = Number(option('repeats', '3'))
const MESSAGES = option('messages', '100000')
const LIMIT = Number(option('limit', '1200'))
if (BASE === null) {
  console.error('usage: node test/bench/compare.mjs --base <cli.js> [--head dist/cli.js] [--repeats 3] [--messages 100000]')
  process.exit(2)
}
const run = promisify(execFile)
const children = new Set()
const dirs = new Set()
const watchdog = setTimeout(() => { console.error(`watchdog: stopping after ${LIMIT} s`); process.exit(3) }, LIMIT * 1000)
watchdog.unref()
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** `--no-http-port` if this build has the HTTP listener (on by default on the fixed port 8080, which another broker or test may hold). */
function noHttpArgs (cli) {
  return execFileSync(process.execPath, [cli, 'start', '--help'], { encoding: 'utf8' }).includes('--no-http-port') ? ['--no-http-port'] : []
}
async function broker (cli) {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-compare-'))
  dirs.add(dir)
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--log-dir', join(dir, 'logs'), '--log-level', 'warn', ...noHttp.get(cli)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  let out = ''
  const port = await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', s => {
      out += s
      const m = /listening on [^:\s]+:(\d+)/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.on('exit', () => reject(new Error(`broker ${cli} exited`)))
  })
  return {
    port,
    cpuMs: () => { const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10 },
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise(resolve => child.once('exit', resolve))
      children.delete(child)
      rmSync(dir, { recursive: true, force: true })
      dirs.delete(dir)
    },
  }
}

async function bench (port, named) {
  const args = [join(root, 'dist', 'cli.js'), 'bench', '--port', String(port), '--messages', MESSAGES, '--priorities', '0-9', '--in-flight', '100', '--json', '--no-progress', '--duration-limit', '300s']
  if (named) args.push('--subscriber-name', 'w3')
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 24 })
  const r = JSON.parse(stdout)
  if (!r.complete) throw new Error(`incomplete run: ${stdout.slice(0, 300)}`)
  return { delivered: r.rates.delivered, p50: r.latencyMs.p50, p99: r.latencyMs.p99, c50: r.confirmLatencyMs.p50, c99: r.confirmLatencyMs.p99 }
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)] }
const noHttp = new Map([[BASE, noHttpArgs(BASE)], [HEAD, noHttpArgs(HEAD)]])
const results = { base: { W2: [], W3: [] }, head: { W2: [], W3: [] } }
console.log(`compare: base ${BASE}, head ${HEAD}, ${REPEATS} repeats, ${MESSAGES} events, fsync always`)
for (let r = 0; r < REPEATS; r++) {
  for (const [label, cli] of (r % 2 === 0 ? [['base', BASE], ['head', HEAD]] : [['head', HEAD], ['base', BASE]])) {
    for (const w of ['W2', 'W3']) {
      const b = await broker(cli)
      const c0 = b.cpuMs()
      const x = await bench(b.port, w === 'W3')
      x.cpuUs = (b.cpuMs() - c0) * 1000 / Number(MESSAGES.replace(/k$/, '000').replace(/m$/, '000000'))
      await b.stop()
      results[label][w].push(x)
      console.log(`  repeat ${r + 1} ${label} ${w}: ${x.delivered.toFixed(0)} delivered ev/s, e2e p50 ${x.p50.toFixed(1)} p99 ${x.p99.toFixed(1)} ms, confirm p50 ${x.c50.toFixed(1)} p99 ${x.c99.toFixed(1)} ms, broker CPU ${x.cpuUs.toFixed(1)} µs/event`)
    }
  }
}
console.log('\n| workload | build | delivered ev/s | e2e p50 ms | e2e p99 ms | confirm p50 ms | confirm p99 ms | broker CPU µs/event |\n|---|---|---:|---:|---:|---:|---:|---:|')
for (const w of ['W2', 'W3']) {
  for (const label of ['base', 'head']) {
    const xs = results[label][w]
    console.log(`| ${w} | ${label} | ${median(xs.map(x => x.delivered)).toFixed(0)} | ${median(xs.map(x => x.p50)).toFixed(1)} | ${median(xs.map(x => x.p99)).toFixed(1)} | ${median(xs.map(x => x.c50)).toFixed(1)} | ${median(xs.map(x => x.c99)).toFixed(1)} | ${median(xs.map(x => x.cpuUs)).toFixed(1)} |`)
  }
}
clearTimeout(watchdog)
process.exit(0)
