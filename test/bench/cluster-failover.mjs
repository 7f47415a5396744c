#!/usr/bin/env node
// How many confirmed events a Redis failover loses in cluster mode (#16), per cluster.waitReplicas.
//
//   npm run build
//   npx tsx test/bench/cluster-failover.mjs [--runs 3] [--wait 1,0] [--events 6000] [--rate 0] [--window 100]
//                                          [--kill-after 2000] [--limit 900]
//
// (tsx: the script imports the TypeScript test helpers.)
//
// Each run: a fresh 3-master + 3-replica Redis Cluster (test/helpers/redisCluster.ts, no AOF,
// cluster-node-timeout 2000 ms), two Ackline nodes (`node dist/cli.js start --cluster …`, with
// `cluster.waitReplicas` set), a named subscriber on node B acking each event, a publisher on node A
// publishing --events events to one topic (--rate events/s, 0 = as fast as --window unconfirmed
// publishes allow). After --kill-after confirmed publishes, the Redis master of the topic's slot is
// killed with kill -9; the run waits for the failover, starts the old master again (it rejoins as a
// replica, so that WAIT 1 can succeed again), lets the publisher finish, and waits up to 30 s for
// every confirmed event to be delivered. It prints per run: confirmed, refused (ERR) or unanswered,
// and lost = confirmed with `OK` but never delivered. Everything started is stopped at the end, or
// killed on exit; a watchdog ends the script after --limit seconds. Loopback only.
import { startRedisCluster } from '../helpers/redisCluster.ts'
import { CountingPublisher, masterOfTag, NamedConsumer, startAcklineNode } from '../helpers/acklineCluster.ts'
import { loadavg } from 'node:os'

function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const RUNS = Number(option('runs', '3'))
const WAITS = option('wait', '1,0').split(',').map(Number)
const EVENTS = Number(option('events', '6000'))
const RATE = Number(option('rate', '0'))
const WINDOW = Number(option('window', '100'))
const KILL_AFTER = Number(option('kill-after', '2000'))
const LIMIT_S = Number(option('limit', '900'))

const watchdog = setTimeout(() => { console.error(`watchdog: over ${LIMIT_S} s, stopping`); process.exit(1) }, LIMIT_S * 1000)
watchdog.unref()
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const load = () => loadavg().map(x => x.toFixed(2)).join(' ')

async function until (cond, ms) {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await sleep(50)
  return cond()
}

async function run (waitReplicas, i) {
  const teardowns = []
  const t = { teardown: fn => teardowns.push(fn) }
  try {
    const rc = await startRedisCluster(t)
    const nodes = [await startAcklineNode(t, rc, { nodeTtlMs: 2000, waitReplicas }), await startAcklineNode(t, rc, { nodeTtlMs: 2000, waitReplicas })]
    const topic = `fo${i}`
    const master = await masterOfTag(rc, topic)
    const consumer = new NamedConsumer(() => nodes, `fo-${i}`, topic, { cap: 100, ackTimeoutMs: 3000 })
    teardowns.push(() => consumer.stop())
    // a publish creates the topic; the subscriber must exist before the counted publishes
    const warm = new CountingPublisher(() => [nodes[0]], topic, 1, { prefix: 'warm' })
    await warm.start()
    await consumer.start(nodes[1].port)
    const pub = new CountingPublisher(() => [nodes[0]], topic, EVENTS, { window: WINDOW, ...(RATE > 0 ? { ratePerSec: RATE } : {}), replyTimeoutMs: 30_000 })
    teardowns.push(() => pub.stop())
    const publishing = pub.start()
    if (!await until(() => pub.confirmed.size >= KILL_AFTER, 60_000)) throw new Error(`only ${pub.confirmed.size} confirmed before the kill`)
    const confirmedAtKill = pub.confirmed.size
    await rc.killMaster(master)
    const killedAt = Date.now()
    await rc.waitHealthy(30_000)
    const failoverMs = Date.now() - killedAt
    await rc.startNode(master)
    await rc.waitHealthy(30_000)
    await publishing
    const seen = () => new Set(consumer.seen.map(s => s.id))
    const lostIds = () => { const s = seen(); return [...pub.confirmed].filter(id => !s.has(id)) }
    await until(() => lostIds().length === 0, 30_000)
    const lost = lostIds()
    const kinds = [...new Set(pub.errors.map(e => e.split(' ').slice(0, 2).join(' ')))].join(', ')
    return { waitReplicas, run: i, confirmed: pub.confirmed.size, confirmedAtKill, refusedOrUnanswered: pub.unconfirmed.size, refusals: kinds, failoverMs, lost: lost.length, lostIds: lost.slice(0, 10), load: load() }
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

console.log(`# cluster failover loss, ${new Date().toISOString()}, ${EVENTS} events/run, rate ${RATE || 'max'}, window ${WINDOW}, kill after ${KILL_AFTER} confirmed, load ${load()}`)
const results = []
for (let i = 1; i <= RUNS; i++) {
  for (const w of WAITS) {
    const r = await run(w, `${w}x${i}`)
    results.push(r)
    console.log(JSON.stringify(r))
  }
}
for (const w of WAITS) {
  const rs = results.filter(r => r.waitReplicas === w)
  console.log(`waitReplicas ${w}: lost ${rs.map(r => r.lost).join(', ')} of ${rs.map(r => r.confirmed).join(', ')} confirmed; refused or unanswered ${rs.map(r => r.refusedOrUnanswered).join(', ')}; failover ${rs.map(r => r.failoverMs).join(', ')} ms`)
}
clearTimeout(watchdog)
process.exit(0)
