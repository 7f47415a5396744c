/**
 * Peer-broker benchmark runner. Starts each selected broker on its own loopback
 * port (data under /tmp), runs the workloads back to back K times, stops what it
 * started (by PID), and writes results.md + results.json (medians over K, ratios
 * against named peers of the same run, the exact command). Every driver speaks
 * its broker's wire protocol over a raw socket through wire.ts; the `forwarder`
 * pseudo-peer (a Node process that only forwards lines) shows the harness's own
 * ceiling.
 *
 *   npx tsx test/bench/peers/run.ts --workloads W1,W2,W3,M1 --repeats 3
 *
 * See docs/benchmarks-howto.md.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Command } from 'commander'
import { parseCount, parseDurationMs, parseList } from '../../../src/bench/args'
import { median } from '../../../src/bench/stats'
import { cpuUs, syscalls, RunResult, Settings, Workload, WORKLOADS } from './common'
import * as drivers from './drivers'
import { BINARIES, Peer, PEERS, Server, startServer, stopAll, which } from './servers'

/** Which (peer, workload) pairs exist, with the subscriber counts to run. */
const MATRIX: Record<Peer, Partial<Record<Workload, number[]>>> = {
  forwarder: { W1: [1, 4], W2: [1], W3: [1] },
  ackline: { W1: [1, 4], W2: [1], W2G: [1, 4], W3: [1], M1: [1] },
  redis: { W1: [1, 4], W2: [1], M1: [1] },
  nats: { W1: [1, 4] },
  mosquitto: { W1: [1, 4] },
  beanstalkd: { W2: [1], W3: [1], M1: [1] },
  rabbitmq: { W2: [1], W2G: [1, 4], W3: [1], M1: [1] },
}

type Driver = (srv: Server, w: Workload, subs: number, s: Settings) => Promise<RunResult>
const DRIVERS: Record<Peer, Driver> = drivers

const program = new Command('bench-peers')
  .option('--peers <list>', `comma list of ${PEERS.join(',')}`, PEERS.join(','))
  .option('--workloads <list>', 'comma list of W1,W2,W2G,W3,M1 (W2G: W2 through 4 competing consumers)', 'W1,W2,W3,M1')
  .option('--repeats <k>', 'repeats per cell; the table shows medians', '3')
  .option('--order <how>', 'interleaved: round k runs repeat k of every cell of a workload (servers stay up); grouped: a cell\'s repeats in a row', 'interleaved')
  .option('--w1-messages <n>', 'W1 events', '500000')
  .option('--w2-messages <n>', 'W2/W3 events', '100000')
  .option('--m1-count <n>', 'M1 pending events', '1000000')
  .option('--size <bytes>', 'approximate event size', '100')
  .option('--window <n>', 'max publishes sent and not yet confirmed, for every broker', '1000')
  .option('--sync-every <n>', 'NATS core / MQTT QoS 0 (no reply per publish): PING after every n publishes (default window/10)')
  .option('--ratio-to <list>', 'add a "÷ peer" column (delivered ev/s, same workload and subscriber count, same run) for each of these', 'redis,beanstalkd,rabbitmq,forwarder')
  .option('--rate <n>', 'open-loop publish rate for W1/W2/W3, events/s (0 = as fast as the window allows); use it to compare latency below saturation', '0')
  .option('--in-flight <n>', 'W2/W3 subscriber in-flight cap / prefetch', '100')
  .option('--run-timeout <dur>', 'safety limit per run', '180s')
  .option('--stall <dur>', 'stop a run after this long without progress', '10s')
  .option('--ackline-root <dir>', 'Ackline checkout with dist/cli.js built', process.cwd())
  .option('--ackline-w1-in-flight <n>', 'Ackline W1 in-flight cap (subscribers ack)', '1000')
  .option('--ackline-w1-ack <list>', 'Ackline W1 ack modes, one cell each: none (sub ack=none), none-r0 (ack=none on a broker with retention 0: nothing written), each, batch=<n>', 'none,each')
  .option('--ackline-w2-ack <list>', 'Ackline W2 ack modes, one cell each', 'each,batch=50')
  .option('--ackline-w2g-ack <list>', 'Ackline W2G ack modes, one cell each', 'each')
  .option('--rabbitmq-w2g-durable', 'W2G on RabbitMQ: durable queue + persistent messages (Ackline\'s group is a named subscription: journaled, pub OK after fsync)')
  .option('--ackline-w3-ack <list>', 'Ackline W3 ack modes, one cell each', 'each')
  .option('--ackline-durable-args <args>', 'extra `ackline start` args for W3 (default none: the default fsync policy `always`; W3 always uses a named subscriber)')
  .option('--verify-durable <n>', 'after the W3 runs: publish n confirmed events, kill -9 the broker, restart it, count survivors (0 = off)', '1000')
  .option('--out <dir>', 'output directory', '')
  .parse()

interface Cell {
  peer: Peer
  workload: Workload
  subs: number
  /** Ackline's ack mode for this cell (`each`, `none`, `batch=<n>`); '' for the other peers. */
  mode: string
  runs: RunResult[]
}

/** The table's name of a cell's peer: Ackline's with its ack mode. */
function label(c: Cell): string {
  return c.mode === '' ? c.peer : `${c.peer} (${c.mode === 'none' ? 'ack=none' : c.mode === 'none-r0' ? 'ack=none, retention 0' : c.mode === 'each' ? 'ack each' : `ack ${c.mode}`})`
}

/** Ackline's ack modes for workload `w` from --ackline-w<k>-ack. */
function ackModes(o: Record<string, string>, w: Workload): string[] {
  if (w === 'M1') return ['each']
  const list = (w === 'W1' ? o.acklineW1Ack : w === 'W2' ? o.acklineW2Ack : w === 'W2G' ? o.acklineW2gAck : o.acklineW3Ack)!
  const modes = list.split(',').map((x) => x.trim()).filter(Boolean)
  for (const m of modes) {
    if (!/^(none|each|batch=[1-9]\d*)$/.test(m) && !(m === 'none-r0' && w === 'W1')) throw new Error(`invalid Ackline ack mode "${m}" for ${w} (expected none, each or batch=<n>; none-r0 for W1)`)
  }
  return modes
}

async function main(): Promise<void> {
  const o = program.opts<Record<string, string>>()
  const peers = parseList(o.peers!, PEERS, 'peer')
  const workloads = parseList(o.workloads!, WORKLOADS, 'workload')
  const repeats = parseCount(o.repeats!, '--repeats')
  const order = o.order as string
  if (order !== 'interleaved' && order !== 'grouped') throw new Error(`--order: interleaved or grouped, not ${order}`)
  const s: Settings = {
    w1Messages: parseCount(o.w1Messages!, '--w1-messages'),
    w2Messages: parseCount(o.w2Messages!, '--w2-messages'),
    m1Count: parseCount(o.m1Count!, '--m1-count'),
    size: parseCount(o.size!, '--size', 0),
    window: parseCount(o.window!, '--window'),
    syncEvery: o.syncEvery ? parseCount(o.syncEvery, '--sync-every') : Math.max(1, Math.floor(parseCount(o.window!, '--window') / 10)),
    rate: parseCount(o.rate!, '--rate', 0),
    inFlight: parseCount(o.inFlight!, '--in-flight'),
    rabbitmqW2gDurable: Boolean(o.rabbitmqW2gDurable),
    runTimeoutMs: parseDurationMs(o.runTimeout!),
    stallMs: parseDurationMs(o.stall!),
    ackline: {
      root: path.resolve(o.acklineRoot!),
      w1InFlight: parseCount(o.acklineW1InFlight!, '--ackline-w1-in-flight'),
      durableArgs: o.acklineDurableArgs ? o.acklineDurableArgs.split(/\s+/).filter(Boolean) : [],
    },
  }
  const outDir = o.out || fs.mkdtempSync(path.join(os.tmpdir(), 'ackline-peer-results-'))
  fs.mkdirSync(outDir, { recursive: true })

  // Check binaries (this runner installs nothing).
  const ratioTo = parseList(o.ratioTo!, PEERS, 'ratio peer')
  const missing = peers.filter((p) => p !== 'ackline' && p !== 'forwarder' && which(BINARIES[p]) === null)
  if (missing.length) {
    throw new Error(`missing binaries for ${missing.join(', ')}: apt-get install -y ${missing.map((p) => (p === 'nats' ? 'nats-server' : p === 'rabbitmq' ? 'rabbitmq-server' : p === 'redis' ? 'redis-server' : p)).join(' ')}`)
  }

  const verifyN = parseCount(o.verifyDurable!, '--verify-durable', 0)
  const checks: drivers.DurableCheck[] = []
  const cells: Cell[] = []
  const versions: Record<string, string> = {}
  const log = (m: string): void => void process.stderr.write(`[bench-peers] ${m}\n`)
  /** One cell's server and settings, started on its first run and kept for its other repeats (M1: a fresh one per repeat). */
  interface Slot { cell: Cell; w: Workload; peer: Peer; subs: number; settings: Settings; args: string[]; srv: Server | null; startFailed: string | null }
  const slots: Slot[] = []
  for (const peer of peers) {
    for (const w of workloads) {
      const subsList = MATRIX[peer][w]
      if (!subsList) continue
      for (const [subs, mode] of subsList.flatMap((n) => (peer === 'ackline' ? ackModes(o, w) : ['']).map((md) => [n, md] as const))) {
        const cell: Cell = { peer, workload: w, subs, mode, runs: [] }
        cells.push(cell)
        const retention0 = mode === 'none-r0'
        const settings: Settings = mode === '' ? s : { ...s, ackline: { ...s.ackline, ack: retention0 ? 'none' : mode, retention0 } }
        const retentionConfig = path.join(outDir, 'ackline-retention0.json')
        if (retention0) fs.writeFileSync(retentionConfig, JSON.stringify({ retention: { maxAgeMs: 0 } }))
        const args = w === 'W3' ? (s.ackline.durableArgs ?? []) : retention0 ? ['--config', retentionConfig] : []
        slots.push({ cell, w, peer, subs, settings, args, srv: null, startFailed: null })
      }
    }
  }

  /** Repeat k of one cell. */
  const runOnce = async (slot: Slot, k: number): Promise<void> => {
    const { cell, w, peer, subs } = slot
    let r: RunResult
    try {
      if (slot.startFailed !== null) throw new Error(slot.startFailed) // tried once for this cell: not again
      if (slot.srv === null) {
        // A broker that does not start fails its cell, not the whole run: the other cells are still reported.
        slot.startFailed = `${peer} did not start`
        slot.srv = await startServer(peer, { durable: w === 'W3', acklineRoot: s.ackline.root, acklineArgs: slot.args })
        slot.startFailed = null
        versions[peer] = slot.srv.version
        log(`${peer} started on 127.0.0.1:${slot.srv.port} pid ${slot.srv.pid} (${slot.srv.version})`)
      }
      const srv = slot.srv
      const cpu0 = cpuUs(srv.pid)
      const sys0 = syscalls(srv.pid)
      r = await DRIVERS[peer](srv, w, subs, slot.settings)
      if (w !== 'M1' && r.delivered > 0) {
        r.cpuUsPerEvent = (cpuUs(srv.pid) - cpu0) / r.delivered
        r.syscallsPerEvent = (syscalls(srv.pid) - sys0) / r.delivered
      }
    } catch (e) {
      r = {
        peer, workload: w, variant: `${subs} sub`, messages: 0, published: 0, expected: 0, delivered: 0, acked: 0,
        complete: false, elapsedMs: 0, pubRate: NaN, delRate: NaN, p50: NaN, p99: NaN, max: NaN, note: `FAILED: ${(e as Error).message}`,
      }
    }
    cell.runs.push(r)
    log(`${label(cell)} ${w} ${r.variant} #${k + 1}: ` +
      (r.bytesPerEvent !== undefined
        ? `published ${r.published}/${r.messages}, rss ${r.rssBaselineKb}->${r.rssAfterKb} kB = ${r.bytesPerEvent.toFixed(0)} B/event`
        : `pub ${r.pubRate.toFixed(0)}/s del ${r.delRate.toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms delivered ${r.delivered}/${r.expected} cpu ${(r.cpuUsPerEvent ?? NaN).toFixed(1)} µs/event, ${(r.syscallsPerEvent ?? NaN).toFixed(3)} syscalls/event, load ${os.loadavg()[0]!.toFixed(2)}`) +
      (r.complete ? '' : ' INCOMPLETE') + (r.note.startsWith('FAILED') ? ` ${r.note}` : ''))
    if (slot.srv !== null && (w === 'M1' || r.note.startsWith('FAILED'))) {
      await slot.srv.stop()
      slot.srv = null
    }
  }

  /** After a cell's last repeat: W3's kill -9 check, then its server stops. */
  const finish = async (slot: Slot): Promise<void> => {
    const { w, peer } = slot
    if (slot.srv && w === 'W3' && verifyN > 0) {
      const check = drivers.durableChecks[peer]
      if (check && slot.srv.crashRestart) {
        try {
          const c = await check(slot.srv, verifyN, s)
          checks.push(c)
          log(`${peer} W3 kill -9 check: ${c.recovered}/${c.confirmed} confirmed events recovered`)
        } catch (e) {
          checks.push({ peer, confirmed: 0, recovered: 0, note: `FAILED: ${(e as Error).message}` })
          log(`${peer} W3 kill -9 check FAILED: ${(e as Error).message}`)
        }
      } else if (peer !== 'forwarder') log(`${peer} W3 kill -9 check: no check for this peer`)
    }
    if (slot.srv) await slot.srv.stop()
    slot.srv = null
  }

  if (order === 'grouped') {
    // Each cell's K repeats in a row, one server up at a time.
    for (const slot of slots) {
      for (let k = 0; k < repeats; k++) await runOnce(slot, k)
      await finish(slot)
    }
  } else {
    // Repeat k of every cell of a workload, then repeat k + 1: a box whose speed drifts during the run (a
    // shared 2-core VM does) moves every peer's median alike, not only the cells that ran during the slow
    // minute. One workload's servers stay up (idle) across its rounds.
    for (const w of workloads) {
      const group = slots.filter((x) => x.w === w)
      for (let k = 0; k < repeats; k++) for (const slot of group) await runOnce(slot, k)
      for (const slot of group) await finish(slot)
    }
  }

  const git = spawnSync('git', ['-C', s.ackline.root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' })
  const report = {
    date: new Date().toISOString(),
    commit: git.status === 0 ? git.stdout.trim() : 'unknown',
    machine: { nproc: os.cpus().length, node: process.version, kernel: os.release(), memGiB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg().map((x) => Number(x.toFixed(2))) },
    command: `npx tsx test/bench/peers/run.ts ${process.argv.slice(2).join(' ')}`,
    order,
    settings: s,
    versions,
    cells: cells.map((c) => ({ ...c, median: medians(c.runs) })),
    durableChecks: checks,
  }
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n')
  let md = markdown(report, cells, repeats, ratioTo)
  if (checks.length) {
    md += ['W3 durability check (kill -9 after confirmed publishes, restart on the same data):', '',
      '| peer | confirmed | recovered after kill -9 | how |', '|---|---:|---:|---|',
      ...checks.map((c) => `| ${c.peer} | ${c.confirmed} | ${c.recovered} | ${c.note} |`), ''].join('\n')
  }
  fs.writeFileSync(path.join(outDir, 'results.md'), md)
  process.stdout.write(md)
  log(`wrote ${path.join(outDir, 'results.md')} and results.json`)
}

function medians(runs: RunResult[]): Record<string, number> {
  const pick = (f: (r: RunResult) => number | undefined): number => median(runs.map((r) => f(r) ?? NaN))
  return {
    pubRate: pick((r) => r.pubRate), delRate: pick((r) => r.delRate), p50: pick((r) => r.p50), p99: pick((r) => r.p99),
    confirmP50: pick((r) => r.confirmP50), confirmP99: pick((r) => r.confirmP99), cpuUsPerEvent: pick((r) => r.cpuUsPerEvent),
    delivered: pick((r) => r.delivered), expected: pick((r) => r.expected), bytesPerEvent: pick((r) => r.bytesPerEvent),
    rssBaselineKb: pick((r) => r.rssBaselineKb), rssAfterKb: pick((r) => r.rssAfterKb),
  }
}

const n0 = (x: number): string => (Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'))
const n2 = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(2))
const k0 = (x: number): string => (Number.isNaN(x) ? '-' : `${Math.round(x / 1000)}k`)

const TITLES: Record<Workload, string> = {
  W1: 'W1 fire-and-forget fan-out: 1 publisher, 1 and 4 subscribers',
  W2: 'W2 acked with priorities 0-9: 1 publisher, 1 subscriber, in-flight/prefetch limit, ack each',
  W2G: 'W2G competing consumers: W2 through 4 workers sharing one queue (Ackline `sub … group=g`, RabbitMQ 4 consumers on one queue)',
  W3: 'W3 durable: W2 with confirmed publishes that survive kill -9',
  M1: 'M1 memory',
}

function markdown(report: { date: string; commit: string; machine: object; command: string; order: string; versions: Record<string, string> }, cells: Cell[], k: number, ratioTo: Peer[]): string {
  const out: string[] = []
  out.push(`Command: \`${report.command}\``, '', `Date: ${report.date}; Ackline commit: \`${report.commit}\``, '', `Machine: \`${JSON.stringify(report.machine)}\``, '')
  out.push('Versions:', ...Object.entries(report.versions).map(([p, v]) => `- ${p}: ${v}`), '')
  const delivered = (peer: Peer, w: Workload, subs: number): number => {
    const c = cells.find((x) => x.peer === peer && x.workload === w && x.subs === subs && x.mode === '')
    return c ? medians(c.runs).delRate! : NaN
  }
  for (const w of WORKLOADS.filter((x) => x !== 'M1')) {
    const tp = cells.filter((c) => c.workload === w).sort((a, b) => a.subs - b.subs)
    if (!tp.length) continue
    const ratios = ratioTo.filter((p) => tp.some((c) => c.peer === p))
    out.push(`### ${TITLES[w]}`, '', `Median of ${k} runs (${report.order === 'interleaved' ? 'interleaved: round k ran repeat k of every cell' : "grouped: each cell's runs in a row"}); "÷ peer" = delivered ev/s ÷ that peer's (same subscriber count, same run).`, '')
    out.push(`| peer | subs | published ev/s | delivered ev/s | ${ratios.map((p) => `÷ ${p}`).join(' | ')}${ratios.length ? ' | ' : ''}p50 ms | p99 ms | confirm p50 ms | confirm p99 ms | broker CPU µs/event | delivered ev/s per run | complete | notes |`)
    out.push(`|---|---:|---:|---:|${ratios.map(() => '---:|').join('')}---:|---:|---:|---:|---:|---|---|---|`)
    for (const c of tp) {
      const m = medians(c.runs)
      const rs = ratios.map((p) => n2(m.delRate! / delivered(p, w, c.subs)))
      const runs = c.runs.map((r) => k0(r.delRate)).join(', ')
      const complete = c.runs.map((r) => (r.complete ? 'yes' : `${r.delivered}/${r.expected}`)).join(', ')
      const notes = [...new Set(c.runs.map((r) => r.note))].join(' / ')
      out.push(`| ${label(c)} | ${c.subs} | ${n0(m.pubRate!)} | ${n0(m.delRate!)} | ${rs.join(' | ')}${rs.length ? ' | ' : ''}${n2(m.p50!)} | ${n2(m.p99!)} | ${n2(m.confirmP50!)} | ${n2(m.confirmP99!)} | ${n2(m.cpuUsPerEvent!)} | ${runs} | ${complete} | ${notes} |`)
    }
    out.push('')
  }
  const mem = cells.filter((c) => c.workload === 'M1')
  if (mem.length) {
    out.push(`### M1 memory: broker VmRSS growth per pending event, median of ${k} runs (fresh broker each run)`, '')
    out.push('| peer | pending events | baseline RSS MiB | RSS after MiB | bytes/event | setup | complete |')
    out.push('|---|---:|---:|---:|---:|---|---|')
    for (const c of mem) {
      const m = medians(c.runs)
      out.push(`| ${label(c)} | ${n0(c.runs[0]?.messages ?? NaN)} | ${n2(m.rssBaselineKb! / 1024)} | ${n2(m.rssAfterKb! / 1024)} | ${n0(m.bytesPerEvent!)} | ${c.runs[0]?.variant ?? ''}; ${c.runs[0]?.note ?? ''} | ${c.runs.every((r) => r.complete) ? 'yes' : 'NO'} |`)
    }
    out.push('')
  }
  return out.join('\n')
}

const onSignal = (): void => {
  void stopAll().finally(() => process.exit(130))
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('uncaughtException', (e) => {
  process.stderr.write(`[bench-peers] fatal: ${e.stack ?? e.message}\n`)
  void stopAll().finally(() => process.exit(1))
})
let fatalOnce = false
process.on('unhandledRejection', (e) => {
  if (fatalOnce) return
  fatalOnce = true
  process.stderr.write(`[bench-peers] fatal: ${String(e)}\n`)
  void stopAll().finally(() => process.exit(1))
})
main()
  .catch((e: Error) => {
    process.stderr.write(`[bench-peers] error: ${e.message}\n`)
    process.exitCode = 1
  })
  .finally(() => stopAll())
