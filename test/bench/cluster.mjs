#!/usr/bin/env node
// Cluster mode benchmark (#16): W2 and W3 through 1, 2 and 3 Ackline nodes on a Redis Cluster
// (3 masters + 3 replicas from /usr/bin/redis-server, test/helpers/redisCluster.ts), next to
// single-node mode (no Redis) in the same run.
//
//   npm run build
//   npx tsx test/bench/cluster.mjs [--events 20000] [--repeats 3] [--workloads W2,W3] [--nodes 1,2,3]
//                                  [--pairs 3] [--window 300] [--in-flight 100] [--size 100]
//                                  [--appendonly off|everysec|always] [--limit 1500] [--out FILE.json]
//
// (tsx: the script imports the TypeScript Redis Cluster harness.)
//
// Every cell runs the same clients: --pairs publisher/subscriber pairs, each on its own topic,
// --events events in all (split between the pairs), priorities 0–9, ~--size bytes, each publisher
// with at most --window publishes unconfirmed, each subscriber `sub <topic> <in-flight>` acking
// every event (`ack <topic> <id>`) as it arrives. W2: anonymous subscribers; W3: named ones
// (`name …` first: journaled in single-node mode, fsync always; in cluster mode every change is a
// Lua script on the topic's master plus WAIT 1). With N cluster nodes, pair i publishes through
// node i mod N and subscribes through node (i+1) mod N, so with 2 or 3 nodes every event crosses
// nodes; the pair topics are chosen so that each lands on a different Redis master.
//
// Per cell: delivered events/s, delivery latency p50/p99 (publish to EVENT), each Ackline node's
// CPU per event (utime+stime from /proc/<pid>/stat over the run ÷ events), the Redis servers' CPU
// per event, and Redis commands per event from `INFO commandstats` deltas on every Redis node
// (masters and replicas apart; the top commands on the masters). The load average is read
// before and after each cell. Cells run interleaved (single, 1, 2, 3 nodes; then again) and the
// table shows medians of --repeats. Ackline nodes are started fresh for each cell and stopped
// (SIGTERM) after it; the Redis Cluster is flushed between cells. Everything started is killed on
// exit; a watchdog ends the run after --limit seconds. Loopback only.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRedisCluster } from '../helpers/redisCluster.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = join(root, 'dist', 'cli.js')

function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const EVENTS = Number(option('events', '20000'))
const REPEATS = Number(option('repeats', '3'))
const WORKLOADS = option('workloads', 'W2,W3').split(',')
const NODE_COUNTS = option('nodes', '1,2,3').split(',').filter(x => x !== '').map(Number)
const PAIRS = Number(option('pairs', '3'))
const WINDOW = Number(option('window', '300'))
const IN_FLIGHT = Number(option('in-flight', '100'))
const SIZE = Number(option('size', '100'))
const APPENDONLY = option('appendonly', 'off')
const LIMIT_S = Number(option('limit', '1500'))
const OUT = option('out', '')
const STALL_MS = 20_000
const IDLE_MS = Number(option('idle-ms', '2000'))
const TICK_MS = 1000 / 100 // USER_HZ

if (!existsSync(CLI)) throw new Error('build first: npm run build')

const children = new Set()
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL') } catch {} })
const watchdog = setTimeout(() => { console.error(`watchdog: over ${LIMIT_S} s, stopping`); process.exit(1) }, LIMIT_S * 1000)
watchdog.unref()
process.on('SIGINT', () => process.exit(130))

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const load = () => loadavg().map(x => x.toFixed(2)).join(' ')

/** utime + stime of a process, in ms. */
function cpuMs (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * TICK_MS
}

// ------------------------------------------------------------------ Ackline processes

/** Starts `node dist/cli.js start …`; resolves with { port, pid, stop } once it prints its listening line. */
function startAckline (args) {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-bench-cluster-'))
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--http-port', '0', '--log-dir', join(dir, 'logs'), ...args(dir)], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  let err = ''
  child.stderr.setEncoding('utf8').on('data', s => { err = (err + s).slice(-4000) })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const stop = async () => {
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
    children.delete(child)
    rmSync(dir, { recursive: true, force: true })
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out} ${err}`)), 20_000)
    child.stdout.setEncoding('utf8').on('data', s => {
      out += s
      const m = /listening on [^:\s]+:(\d+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve({ port: Number(m[1]), pid: child.pid, stop, stderr: () => err }) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`ackline exited (${code}) before listening: ${err}`)) })
  })
}

// ------------------------------------------------------------------ clients (raw sockets, one line protocol)

/** A loopback connection that calls onLine for each line; `call` sends one line and awaits the next reply. */
async function lines (port, onLine) {
  const sock = connect(port, '127.0.0.1')
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  sock.setNoDelay(true)
  sock.setEncoding('latin1')
  let buf = ''
  let waiter = null
  sock.on('data', s => {
    buf += s
    let from = 0
    let nl
    while ((nl = buf.indexOf('\n', from)) !== -1) {
      const line = buf.slice(from, nl)
      from = nl + 1
      if (waiter !== null && !line.startsWith('EVENT ')) { const w = waiter; waiter = null; w(line) } else onLine(line)
    }
    buf = buf.slice(from)
  })
  sock.on('error', () => {})
  return {
    sock,
    call: line => new Promise(resolve => { waiter = resolve; sock.write(line + '\n') }),
  }
}

const PAD = 'x'.repeat(Math.max(0, SIZE - 50))

/** One pair's counters. */
function newPair () { return { published: 0, confirmed: 0, delivered: 0, acked: 0, errors: 0, lat: [], lastProgress: Date.now() } }

/** Runs the pairs to the end; resolves with the elapsed ms from the first publish to the last delivery. */
async function runPairs (workload, pairs, perPair) {
  const conns = []
  const state = pairs.map(() => newPair())
  const done = []
  for (const [i, p] of pairs.entries()) {
    const st = state[i]
    // subscriber: ack each event as it arrives
    let resolveDone
    done.push(new Promise(resolve => { resolveDone = resolve }))
    const idAt = `EVENT ${p.topic} {"id":`.length
    const sub = await lines(p.subPort, line => {
      if (line.startsWith('EVENT ')) {
        const comma = line.indexOf(',', idAt)
        const id = line.slice(idAt, comma)
        sub.sock.write(`ack ${p.topic} ${id}\n`)
        const ti = line.indexOf('"t":')
        if (ti !== -1 && (st.delivered & 7) === 0) st.lat.push(Date.now() - Number(line.slice(ti + 4, line.indexOf(',', ti))))
        st.delivered++
        st.lastProgress = Date.now()
      } else if (line.startsWith('OK acked')) {
        if (++st.acked === perPair) resolveDone()
      } else if (line.startsWith('ERR')) st.errors++
    })
    conns.push(sub)
    if (workload === 'W3') {
      const r = await sub.call(`name ${p.topic}-w`)
      if (!r.startsWith('OK')) throw new Error(`name: ${r}`)
    }
    const r = await sub.call(`sub ${p.topic} ${IN_FLIGHT}`)
    if (!r.startsWith('OK')) throw new Error(`sub: ${r}`)
    p.st = st
  }
  const pubs = []
  for (const p of pairs) {
    const st = p.st
    let pump = () => {}
    const pub = await lines(p.pubPort, line => {
      if (line.startsWith('OK')) st.confirmed++
      else st.errors++
      pump()
    })
    conns.push(pub)
    pump = () => {
      let chunk = ''
      while (st.published < perPair && st.published - st.confirmed - st.errors < WINDOW) {
        const prio = (st.published * 7) % 10
        chunk += `pub ${p.topic} {"priority":${prio},"msg":{"t":${Date.now()},"p":"${PAD}"}}\n`
        st.published++
      }
      if (chunk !== '') pub.sock.write(chunk)
    }
    pubs.push(pump)
  }
  const start = Date.now()
  for (const pump of pubs) pump()
  const all = Promise.all(done)
  let finished = false
  void all.then(() => { finished = true })
  while (!finished) {
    await Promise.race([all, sleep(250)])
    if (!finished && state.every(s => Date.now() - s.lastProgress > STALL_MS)) {
      for (const c of conns) c.sock.destroy()
      throw new Error(`stalled: ${JSON.stringify(state.map(({ lat, ...s }) => s))}`)
    }
  }
  const elapsed = Date.now() - start
  for (const c of conns) c.sock.destroy()
  return { elapsed, state }
}

// ------------------------------------------------------------------ Redis measurements

async function commandstats (rc) {
  const out = {}
  for (const n of rc.nodes) {
    const text = await rc.cli(n.port, 'INFO', 'commandstats')
    const calls = {}
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2])
    out[n.port] = calls
  }
  return out
}

function statsDelta (before, after, ports) {
  const total = {}
  for (const port of ports) {
    for (const [cmd, n] of Object.entries(after[port] ?? {})) {
      const d = n - ((before[port] ?? {})[cmd] ?? 0)
      if (d > 0) total[cmd] = (total[cmd] ?? 0) + d
    }
  }
  return total
}

// ------------------------------------------------------------------ cells

/** Topic names for the pairs, each served by a different Redis master when there is a cluster. */
async function pairTopics (rc, prefix) {
  const topics = []
  if (rc === null) {
    for (let i = 0; i < PAIRS; i++) topics.push(`${prefix}-${i}`)
    return topics
  }
  await rc.refreshRoles()
  const masters = rc.masterPorts()
  const slotsOf = {}
  for (const line of (await rc.cli(masters[0], 'CLUSTER', 'NODES')).trim().split('\n')) {
    const parts = line.split(' ')
    if (!parts[2].includes('master')) continue
    slotsOf[Number(/:(\d+)@/.exec(parts[1])[1])] = parts.slice(8).map(r => r.split('-').map(Number))
  }
  const ownerOf = slot => Number(Object.entries(slotsOf).find(([, rs]) => rs.some(([a, b]) => slot >= a && slot <= (b ?? a)))[0])
  for (let i = 0; i < PAIRS; i++) {
    const want = masters[i % masters.length]
    for (let k = 0; ; k++) {
      const name = `${prefix}-${i}-${k}`
      const slot = Number((await rc.cli(masters[0], 'CLUSTER', 'KEYSLOT', `{${name}}`)).trim())
      if (ownerOf(slot) === want) { topics.push(name); break }
    }
  }
  return topics
}

async function cell (rc, workload, mode, nodeCount, repeat) {
  const loadBefore = load()
  const nodes = []
  if (mode === 'single') nodes.push(await startAckline(() => []))
  else {
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(await startAckline(dir => {
        const cfg = join(dir, 'cluster.json')
        writeFileSync(cfg, JSON.stringify({ cluster: { redis: rc.urls } }))
        return ['--cluster', rc.clusterArg, '--config', cfg]
      }))
    }
  }
  try {
    const topics = await pairTopics(mode === 'single' ? null : rc, `${workload.toLowerCase()}-${mode}${nodeCount}-r${repeat}`)
    const pairs = topics.map((topic, i) => ({ topic, pubPort: nodes[i % nodes.length].port, subPort: nodes[(i + 1) % nodes.length].port }))
    // a topic exists once created; the subscribers then subscribe before anything is published
    const admin = await lines(nodes[0].port, () => {})
    for (const topic of topics) {
      const r = await admin.call(`create ${topic}`)
      if (!r.startsWith('OK')) throw new Error(`create: ${r}`)
    }
    admin.sock.destroy()
    const perPair = Math.floor(EVENTS / PAIRS)
    // idle baseline: what the nodes (heartbeats, reaper sweeps, pulls) and Redis cost with no traffic
    const idle0 = nodes.map(n => cpuMs(n.pid))
    const idleRedis0 = mode === 'single' ? [] : rc.nodes.map(n => cpuMs(n.pid))
    const idleCs0 = mode === 'single' ? null : await commandstats(rc)
    const idleStart = Date.now()
    await sleep(IDLE_MS)
    const idleS = (Date.now() - idleStart) / 1000
    const cpu0 = nodes.map(n => cpuMs(n.pid))
    const redisCpu0 = mode === 'single' ? [] : rc.nodes.map(n => cpuMs(n.pid))
    const cs0 = mode === 'single' ? null : await commandstats(rc)
    const idleNodeUsPerS = cpu0.map((c, i) => ((c - idle0[i]) * 1000) / idleS)
    const { elapsed, state } = await runPairs(workload, pairs, perPair)
    const cpu1 = nodes.map(n => cpuMs(n.pid))
    const events = perPair * PAIRS
    const result = {
      workload, mode, nodes: nodeCount, repeat, events, elapsed,
      evs: Math.round(events / (elapsed / 1000)),
      p50: median(state.flatMap(s => s.lat)),
      p99: (() => { const l = state.flatMap(s => s.lat).sort((a, b) => a - b); return l[Math.floor(l.length * 0.99)] })(),
      errors: state.reduce((a, s) => a + s.errors, 0),
      nodeCpuUsPerEvent: cpu1.map((c, i) => Math.round(((c - cpu0[i]) * 1000) / events)),
      // the same, less what the node spends idle over as long a time (background work, not per event)
      nodeNetCpuUsPerEvent: cpu1.map((c, i) => Math.round(((c - cpu0[i]) * 1000 - idleNodeUsPerS[i] * elapsed / 1000) / events)),
      idleNodeCpuMsPerS: idleNodeUsPerS.map(x => +(x / 1000).toFixed(1)),
      loadBefore,
    }
    if (mode !== 'single') {
      const cs1 = await commandstats(rc)
      const redisCpu1 = rc.nodes.map(n => cpuMs(n.pid))
      await rc.refreshRoles()
      const masters = rc.nodes.filter(n => n.role === 'master').map(n => n.port)
      const replicas = rc.nodes.filter(n => n.role === 'replica').map(n => n.port)
      const onMasters = statsDelta(cs0, cs1, masters)
      const onReplicas = statsDelta(cs0, cs1, replicas)
      const sum = o => Object.values(o).reduce((a, b) => a + b, 0)
      result.redisMasterOpsPerEvent = +(sum(onMasters) / events).toFixed(2)
      result.redisReplicaOpsPerEvent = +(sum(onReplicas) / events).toFixed(2)
      result.redisTopCommands = Object.entries(onMasters).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, n]) => `${c} ${(n / events).toFixed(2)}`).join(', ')
      result.redisCpuUsPerEvent = Math.round((redisCpu1.reduce((a, c, i) => a + c - redisCpu0[i], 0) * 1000) / events)
      // per server, masters first: which one works hardest bounds the projection
      const perServer = rc.nodes.map((n, i) => ({ port: n.port, role: n.role, us: Math.round(((redisCpu1[i] - redisCpu0[i]) * 1000) / events) }))
      result.redisMasterCpuUsPerEvent = perServer.filter(x => x.role === 'master').map(x => x.us)
      result.redisReplicaCpuUsPerEvent = perServer.filter(x => x.role === 'replica').map(x => x.us)
      result.redisCommandsOnMasters = Object.fromEntries(Object.entries(onMasters).sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, +(n / events).toFixed(3)]))
      const idleOps = sum(statsDelta(idleCs0, cs0, masters))
      result.redisIdleMasterOpsPerS = Math.round(idleOps / idleS)
      result.redisIdleCpuMsPerS = +(redisCpu0.reduce((a, c, i) => a + c - idleRedis0[i], 0) / idleS).toFixed(1)
      // commands on masters per event, less the idle rate over the run's time
      result.redisMasterNetOpsPerEvent = +((sum(onMasters) - (idleOps / idleS) * elapsed / 1000) / events).toFixed(2)
    }
    result.loadAfter = load()
    return result
  } finally {
    for (const n of nodes) await n.stop()
    if (mode !== 'single') for (const port of rc.masterPorts()) await rc.cli(port, 'FLUSHALL')
  }
}

// ------------------------------------------------------------------ main

const started = new Date().toISOString()
const rc = await startRedisCluster(undefined, APPENDONLY === 'off' ? {} : { appendonly: APPENDONLY })
process.on('exit', () => { void rc.stop() })
const head = execLine()
console.log(`# cluster bench ${started}, commit ${head}, node ${process.version}, ${EVENTS} events/cell, ${PAIRS} pairs, window ${WINDOW}, in-flight ${IN_FLIGHT}, Redis AOF ${APPENDONLY}, load ${load()}`)
const results = []
try {
  for (let r = 1; r <= REPEATS; r++) {
    for (const w of WORKLOADS) {
      for (const [mode, count] of [['single', 1], ...NODE_COUNTS.map(n => ['cluster', n])]) {
        const res = await cell(rc, w, mode, count, r)
        results.push(res)
        console.log(JSON.stringify(res))
      }
    }
  }
} finally {
  await rc.stop()
}

const rows = []
rows.push('| workload | mode | Ackline nodes | delivered ev/s (runs) | p50 / p99 ms | Ackline CPU µs/event per node (sum) | same, net of idle (sum) | idle CPU ms/s per node | Redis CPU µs/event: 6 servers (each master) | Redis commands/event: masters (net of idle) / replicas | top commands on masters, per event | load before |')
rows.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const w of WORKLOADS) {
  for (const [mode, count] of [['single', 1], ...NODE_COUNTS.map(n => ['cluster', n])]) {
    const rs = results.filter(x => x.workload === w && x.mode === mode && x.nodes === count)
    const perNode = Array.from({ length: count }, (_, i) => median(rs.map(x => x.nodeCpuUsPerEvent[i])))
    const sumCpu = median(rs.map(x => x.nodeCpuUsPerEvent.reduce((a, b) => a + b, 0)))
    const perNodeNet = Array.from({ length: count }, (_, i) => median(rs.map(x => x.nodeNetCpuUsPerEvent[i])))
    const sumNet = median(rs.map(x => x.nodeNetCpuUsPerEvent.reduce((a, b) => a + b, 0)))
    const idle = Array.from({ length: count }, (_, i) => median(rs.map(x => x.idleNodeCpuMsPerS[i])))
    const mid = rs.slice().sort((a, b) => a.evs - b.evs)[Math.floor(rs.length / 2)]
    rows.push(`| ${w} | ${mode === 'single' ? 'single node (no Redis)' : 'cluster'} | ${count} | **${median(rs.map(x => x.evs)).toLocaleString('en')}** (${rs.map(x => x.evs.toLocaleString('en')).join(', ')}) | ${median(rs.map(x => x.p50))} / ${median(rs.map(x => x.p99))} | ${perNode.join(' + ')} (${sumCpu}) | ${perNodeNet.join(' + ')} (${sumNet}) | ${idle.join(', ')} | ${mode === 'single' ? '–' : `${median(rs.map(x => x.redisCpuUsPerEvent))} (${[0, 1, 2].map(i => median(rs.map(x => [...x.redisMasterCpuUsPerEvent].sort((a, b) => b - a)[i]))).join(', ')})`} | ${mode === 'single' ? '–' : `${median(rs.map(x => x.redisMasterOpsPerEvent))} (${median(rs.map(x => x.redisMasterNetOpsPerEvent))}) / ${median(rs.map(x => x.redisReplicaOpsPerEvent))}`} | ${mode === 'single' ? '–' : mid.redisTopCommands} | ${rs.map(x => x.loadBefore.split(' ')[0]).join(', ')} |`)
  }
}
console.log('\n' + rows.join('\n'))
console.log(`\nerrors: ${results.reduce((a, x) => a + x.errors, 0)}; load at the end ${load()}; ${new Date().toISOString()}`)
if (OUT !== '') writeFileSync(OUT, JSON.stringify({ started, head, results }, null, 1))
clearTimeout(watchdog)
process.exit(0)

function execLine () {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch { return '?' }
}
