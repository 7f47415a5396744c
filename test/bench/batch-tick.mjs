#!/usr/bin/env node
// Batch-tick benchmark: event-loop time of one EventsBatcher tick when the
// broker has many topics and only a few changed since the last tick.
//
//   npm run build
//   node test/bench/batch-tick.mjs [--topics 10000] [--changed 10] [--ticks 9] [--fsync always|batch|off] [--dist dist]
//
// Starts a broker in-process (startBroker from dist/broker.js, port 0 on
// 127.0.0.1, a fresh temp log dir, batchIntervalMs at its maximum so only this
// script runs ticks), then over one TCP connection: `name bt`, and for every
// topic `pub` (creates it), `sub <topic> 1` (limits raised to fit) and one more `pub` (one in-flight
// event per topic, so every topic has a named subscriber and an event).
// A first tick creates every topic's directory and files, a second one stores
// the deliveries made meanwhile. Then, per measured tick: one `pub`
// to each of `changed` topics (waiting for every OK), then
// `await broker.durability.batcher.run()`. Reported per tick:
// `lastReport.syncMs` (the batcher's own figure: taking each changed topic's
// events and records + journal rotation, the synchronous step) and
// `blockedMs`, the longest stretch the event loop was blocked while the tick
// ran (a setImmediate probe), which also covers the appends' buffer
// building and the synchronous directory scan that deletes old journal files.
// On a loaded machine a wall-clock gap also counts the time the OS left the
// thread waiting for a core, so the probe also reads process.cpuUsage()
// (getrusage: CPU time of every thread of the process, exact to the µs) at
// each turn: `blockedCpuMs` is the most CPU the process used inside one gap
// between two probe turns. It is an upper bound of the event-loop time of the
// longest synchronous stretch (it also counts libuv's file-system threads
// working meanwhile) that does not grow when the process merely waits for a core.
// Prints one line per tick and the medians; stops the broker and removes the dir.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { median, option, root } from './lib.mjs'

const TOPICS = Number(option('topics', '10000'))
const CHANGED = Number(option('changed', '10'))
const TICKS = Number(option('ticks', '9'))
const FSYNC = option('fsync', 'always')
const DIST = resolve(root, option('dist', 'dist'))
const require = createRequire(import.meta.url)
const { startBroker } = require(join(DIST, 'broker.js'))
// The HTTP listener (on by default, fixed port 8080) is turned off where the build has one.
const HAS_HTTP = 'http' in require(join(DIST, 'config', 'defaults.js')).DEFAULTS

/** CPU time of the process so far, in ms (user + system, every thread). */
function cpuMs () {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const dir = mkdtempSync(join(tmpdir(), 'ackline-batch-tick-'))
let broker
try {
  broker = await startBroker({ overrides: { port: 0, host: '127.0.0.1', logDir: dir, fsync: FSYNC, batchIntervalMs: 3600000, maxTopics: Math.max(TOPICS * 2, 100000), maxSubscriptionsPerConnection: Math.max(TOPICS * 2, 100000), ...(HAS_HTTP ? { http: null } : {}) } })
} catch (err) {
  rmSync(dir, { recursive: true, force: true }) // a broker that could not start leaves no directory behind
  throw err
}
try {
  const sock = connect({ host: '127.0.0.1', port: broker.address.port })
  sock.setNoDelay(true)
  await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej) })
  let buf = ''
  let waiters = []
  sock.setEncoding('utf8')
  sock.on('data', (c) => {
    buf += c
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.startsWith('EVENT ')) continue
      if (!line.startsWith('OK')) throw new Error(`unexpected reply: ${line}`)
      const w = waiters.shift()
      if (w) w()
    }
  })
  /** Sends lines, resolves when every one got its reply. */
  const send = (lines) => new Promise((res) => {
    let left = lines.length
    for (let i = 0; i < lines.length; i++) waiters.push(() => { if (--left === 0) res() })
    sock.write(lines.join('\n') + '\n')
  })
  const name = (i) => `t${String(i).padStart(5, '0')}`
  await send(['name bt'])
  const CHUNK = 2000
  for (let i = 0; i < TOPICS; i += CHUNK) {
    const lines = []
    for (let j = i; j < Math.min(TOPICS, i + CHUNK); j++) {
      lines.push(`pub ${name(j)} {"msg":"create"}`, `sub ${name(j)} 1`, `pub ${name(j)} {"msg":{"p":"${'x'.repeat(60)}"}}`)
    }
    await send(lines)
  }
  const batcher = broker.durability.batcher
  let t0 = performance.now()
  await batcher.run()
  console.log(`setup: ${TOPICS} topics, first tick wrote ${batcher.lastReport.topics.length} topics in ${(performance.now() - t0).toFixed(0)} ms (syncMs ${batcher.lastReport.syncMs.toFixed(2)})`)
  // The deliveries made while that tick ran (each topic's event goes out once its pub is journaled) are a second tick's work: not measured.
  t0 = performance.now()
  await batcher.run()
  console.log(`setup: second tick wrote ${batcher.lastReport.topics.length} topics in ${(performance.now() - t0).toFixed(0)} ms`)

  const sync = []
  const blocked = []
  const blockedCpu = []
  for (let k = 0; k < TICKS; k++) {
    const lines = []
    for (let j = 0; j < CHANGED; j++) lines.push(`pub ${name((k * CHANGED + j * 997) % TOPICS)} {"msg":{"tick":${k}}}`)
    await send(lines)
    // Probe: the longest gap between setImmediate turns while the tick runs.
    let worst = 0
    let worstCpu = 0
    let last = performance.now()
    let lastCpu = cpuMs()
    let probing = true
    const probe = () => {
      const now = performance.now()
      const cpu = cpuMs()
      if (now - last > worst) worst = now - last
      if (cpu - lastCpu > worstCpu) worstCpu = cpu - lastCpu
      last = now
      lastCpu = cpu
      if (probing) setImmediate(probe)
    }
    setImmediate(probe)
    t0 = performance.now()
    await batcher.run()
    const wall = performance.now() - t0
    probing = false
    const r = batcher.lastReport
    sync.push(r.syncMs)
    blocked.push(worst)
    blockedCpu.push(worstCpu)
    console.log(`tick ${k + 1}: ${r.topics.length} topics written (${r.events} events, ${r.bytes} bytes), syncMs ${r.syncMs.toFixed(3)}, blockedMs ${worst.toFixed(3)}, blockedCpuMs ${worstCpu.toFixed(3)}, wall ${wall.toFixed(1)} ms`)
  }
  console.log(`median over ${TICKS} ticks (${TOPICS} topics, ${CHANGED} changed, fsync ${FSYNC}): syncMs ${median(sync).toFixed(3)}, blockedMs ${median(blocked).toFixed(3)}, blockedCpuMs ${median(blockedCpu).toFixed(3)}; max blockedMs ${Math.max(...blocked).toFixed(3)}, max blockedCpuMs ${Math.max(...blockedCpu).toFixed(3)}`)
  sock.destroy()
} finally {
  await broker.stop()
  rmSync(dir, { recursive: true, force: true })
}
