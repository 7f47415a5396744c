#!/usr/bin/env node
// W2 and W3 (issue 3's workloads) against two builds of the broker, in the
// same run, alternating, so both see the same machine load.
//
//   npm run build
//   node test/bench/compare.mjs --base <other build's cli.js> [--head dist/cli.js] [--also <third cli.js>] [--repeats 3] [--messages 100000] [--limit 1200] [--gc]
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
// after --limit seconds. `--also` adds a third build (label `also`), run in
// the same rotation. `--gc` starts each broker with `--trace-gc-nvp` and adds
// V8's own counters per run: bytes allocated and promoted to the old
// generation (sums over every scavenge), per event.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { cpuMsOf, gcTotals, median, noHttpArgs, option, root, spawnListening, tempDirs, watchdog } from './lib.mjs'

const BASE = option('base', null)
const HEAD = resolve(option('head', join(root, 'dist', 'cli.js')))
const REPEATS = Number(option('repeats', '3'))
const MESSAGES = option('messages', '100000')
const LIMIT = Number(option('limit', '1200'))
const ALSO = option('also', null)
const GC = process.argv.includes('--gc')
if (BASE === null) {
  console.error('usage: node test/bench/compare.mjs --base <cli.js> [--head dist/cli.js] [--also <cli.js>] [--repeats 3] [--messages 100000] [--gc]')
  process.exit(2)
}
const run = promisify(execFile)
watchdog(LIMIT)

async function broker (cli) {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-compare-'))
  tempDirs.add(dir)
  const b = spawnListening([...(GC ? ['--trace-gc-nvp'] : []), cli, 'start', '--port', '0', '--log-dir', join(dir, 'logs'), '--log-level', 'warn', ...noHttp.get(cli)], { inheritStderr: true })
  const { port } = await b.listening
  return {
    port,
    cpuMs: () => cpuMsOf(b.child.pid),
    gc: () => gcTotals(b.stdout()),
    stop: async () => {
      b.child.kill('SIGTERM')
      await b.exited
      rmSync(dir, { recursive: true, force: true })
      tempDirs.delete(dir)
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

const builds = [['base', BASE], ['head', HEAD], ...(ALSO === null ? [] : [['also', resolve(ALSO)]])]
const noHttp = new Map(builds.map(([, cli]) => [cli, noHttpArgs(cli)]))
const results = Object.fromEntries(builds.map(([label]) => [label, { W2: [], W3: [] }]))
const count = Number(MESSAGES.replace(/k$/, '000').replace(/m$/, '000000'))
console.log(`compare: ${builds.map(([l, c]) => `${l} ${c}`).join(', ')}, ${REPEATS} repeats, ${MESSAGES} events, fsync always`)
for (let r = 0; r < REPEATS; r++) {
  // Each repeat rotates the order, so no build always runs first.
  const order = builds.map((_, k) => builds[(k + r) % builds.length])
  for (const [label, cli] of order) {
    for (const w of ['W2', 'W3']) {
      const b = await broker(cli)
      const c0 = b.cpuMs()
      const g0 = GC ? b.gc() : null
      const x = await bench(b.port, w === 'W3')
      x.cpuUs = (b.cpuMs() - c0) * 1000 / count
      x.load = loadavg()[0]
      let gcNote = ''
      if (GC) {
        const g = b.gc()
        x.allocB = (g.allocated - g0.allocated) / count
        x.promB = (g.promoted - g0.promoted) / count
        x.gcPauseMs = g.pauseMs - g0.pauseMs
        gcNote = `, allocated ${x.allocB.toFixed(0)} B/event, promoted ${x.promB.toFixed(0)} B/event, ${g.markCompacts - g0.markCompacts} mark-compacts, GC pauses ${x.gcPauseMs.toFixed(0)} ms`
      }
      await b.stop()
      results[label][w].push(x)
      console.log(`  repeat ${r + 1} ${label} ${w}: ${x.delivered.toFixed(0)} delivered ev/s, e2e p50 ${x.p50.toFixed(1)} p99 ${x.p99.toFixed(1)} ms, confirm p50 ${x.c50.toFixed(1)} p99 ${x.c99.toFixed(1)} ms, broker CPU ${x.cpuUs.toFixed(1)} µs/event${gcNote}, load ${x.load.toFixed(1)}`)
    }
  }
}
console.log(`\n| workload | build | delivered ev/s | e2e p50 ms | e2e p99 ms | confirm p50 ms | confirm p99 ms | broker CPU µs/event |${GC ? ' promoted B/event |' : ''}\n|---|---|---:|---:|---:|---:|---:|---:|${GC ? '---:|' : ''}`)
for (const w of ['W2', 'W3']) {
  for (const [label] of builds) {
    const xs = results[label][w]
    console.log(`| ${w} | ${label} | ${median(xs.map(x => x.delivered)).toFixed(0)} | ${median(xs.map(x => x.p50)).toFixed(1)} | ${median(xs.map(x => x.p99)).toFixed(1)} | ${median(xs.map(x => x.c50)).toFixed(1)} | ${median(xs.map(x => x.c99)).toFixed(1)} | ${median(xs.map(x => x.cpuUs)).toFixed(1)} |${GC ? ` ${median(xs.map(x => x.promB)).toFixed(0)} |` : ''}`)
  }
}
process.exit(0)
