#!/usr/bin/env node
// HTTP API and webhook benchmarks (issue 12), against a fresh broker per run:
//
//   npm run build
//   node test/bench/http.mjs [--repeats 3] [--seconds 5] [--connections 4] [--depth 32] [--webhook-events 20000] [--only single,batch,tcp,webhook]
//
// The driver is raw sockets, no HTTP library: each of --connections keep-alive
// connections keeps --depth requests pipelined (HTTP/1.1; fastify answers in
// order), and a request's latency is from its write to the end of its
// response. Workloads, each for --seconds:
//   single   POST /topics/bench/events with one ~100-byte event per request
//   batch    the same with a JSON array of 100 such events per request
//   tcp      `pub bench <event>` lines on raw TCP, same connections and depth (the p99 to compare with)
//   webhook  a local node:http receiver answering 200; a webhook (maxInFlight 32) on a topic; --webhook-events
//            published over TCP; time from the first publish until the receiver has them all and the webhook
//            holds nothing (all acked): delivered ev/s
// The broker is `node dist/cli.js start --port 0 --http-port 0 --log-dir <tmp> --log-level warn` with the
// default config (fsync always; the topic has no named subscriber in single/batch/tcp, so publishes are not
// journaled; with the webhook they are). Prints every run and the medians. Loopback only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, option, root, spawnListening, tempDirs } from './lib.mjs'

const REPEATS = Number(option('repeats', '3'))
const SECONDS = Number(option('seconds', '5'))
const CONNECTIONS = Number(option('connections', '4'))
const DEPTH = Number(option('depth', '32'))
const WEBHOOK_EVENTS = Number(option('webhook-events', '20000'))
const ONLY = option('only', 'single,batch,tcp,webhook').split(',')
const CLI = join(root, 'dist', 'cli.js')

async function broker () {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-httpbench-'))
  tempDirs.add(dir)
  // Webhooks to the local receiver need private addresses allowed.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ webhooks: { allowPrivateAddresses: true } }))
  const b = spawnListening([CLI, 'start', '--port', '0', '--http-port', '0', '--config', join(dir, 'config.json'), '--log-dir', join(dir, 'logs'), '--log-level', 'warn'],
    { pattern: /listening on [^:\s]+:(\d+) and https?:\/\/[^:\s]+:(\d+)/, inheritStderr: true })
  const { match } = await b.listening
  return {
    tcp: Number(match[1]),
    http: Number(match[2]),
    stop: async () => {
      b.child.kill('SIGTERM')
      await b.exited
      rmSync(dir, { recursive: true, force: true })
      tempDirs.delete(dir)
    },
  }
}

const EVENT = JSON.stringify({ msg: { text: 'x'.repeat(60), n: 12345 } }) // ~100 bytes with the broker's fields
const BATCH = '[' + Array(100).fill(EVENT).join(',') + ']'

function httpRequest (port, path, body) {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/**
 * One keep-alive connection with `depth` pipelined requests: `next()` gives
 * the bytes of the next request, `parse` counts complete responses in the
 * buffer. Resolves { done, latencies, errors } when `until` has passed.
 */
function pipeline (port, next, parse, depth, until) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    sock.setNoDelay(true)
    const sent = []
    const latencies = []
    let done = 0
    let errors = 0
    let buf = Buffer.alloc(0)
    let stopping = false
    const fill = () => {
      let chunk = ''
      while (!stopping && sent.length < depth) {
        chunk += next()
        sent.push(performance.now())
      }
      if (chunk !== '') sock.write(chunk)
    }
    sock.on('connect', fill)
    sock.on('error', reject)
    sock.on('data', (data) => {
      buf = buf.length === 0 ? data : Buffer.concat([buf, data])
      let r
      while ((r = parse(buf)) !== null) {
        buf = buf.subarray(r.used)
        const t0 = sent.shift()
        latencies.push(performance.now() - t0)
        done++
        if (!r.ok) errors++
      }
      if (performance.now() >= until) stopping = true
      if (stopping && sent.length === 0) { sock.destroy(); resolve({ done, latencies, errors }); return }
      fill()
    })
  })
}

/** One HTTP response at the start of buf: { used, ok } or null when incomplete. */
function parseHttp (buf) {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return null
  const head = buf.toString('latin1', 0, end)
  const m = /content-length: (\d+)/i.exec(head)
  const len = m === null ? 0 : Number(m[1])
  if (buf.length < end + 4 + len) return null
  return { used: end + 4 + len, ok: head.startsWith('HTTP/1.1 200') }
}

/** One reply line at the start of buf. */
function parseLine (buf) {
  const nl = buf.indexOf(10)
  if (nl < 0) return null
  return { used: nl + 1, ok: buf[0] === 0x4f } // 'O' of OK
}

function pct (sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

async function drive (port, next, parse, eventsPerRequest) {
  const t0 = performance.now()
  const until = t0 + SECONDS * 1000
  const results = await Promise.all(Array.from({ length: CONNECTIONS }, () => pipeline(port, next, parse, DEPTH, until)))
  const secs = (performance.now() - t0) / 1000
  const lat = results.flatMap(r => r.latencies).sort((a, b) => a - b)
  const requests = results.reduce((n, r) => n + r.done, 0)
  return {
    requestsPerSec: Math.round(requests / secs),
    eventsPerSec: Math.round(requests * eventsPerRequest / secs),
    p50ms: +pct(lat, 0.5).toFixed(2),
    p99ms: +pct(lat, 0.99).toFixed(2),
    errors: results.reduce((n, r) => n + r.errors, 0),
  }
}

async function httpJson (port, method, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  return await res.json()
}

async function webhookRun (b) {
  let received = 0
  let allIn = null
  const rx = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200).end()
      if (++received === WEBHOOK_EVENTS) allIn?.()
    })
  })
  rx.keepAliveTimeout = 60000
  await new Promise(resolve => rx.listen(0, '127.0.0.1', resolve))
  try {
    await httpJson(b.http, 'POST', '/topics/hooked/events', { msg: 'create the topic' })
    const made = await httpJson(b.http, 'POST', '/topics/hooked/webhooks', { name: 'bench', url: `http://127.0.0.1:${rx.address().port}/in`, maxInFlight: 32 })
    if (made.error !== undefined) throw new Error(JSON.stringify(made.error))
    const done = new Promise(resolve => { allIn = resolve })
    const t0 = performance.now()
    // Publish over TCP, pipelined (depth 256), as fast as the broker confirms.
    await new Promise((resolve, reject) => {
      const sock = connect(b.tcp, '127.0.0.1')
      let sent = 0
      let acked = 0
      let rest = ''
      const line = `pub hooked ${EVENT}\n`
      const fill = () => {
        let chunk = ''
        while (sent < WEBHOOK_EVENTS && sent - acked < 256) { chunk += line; sent++ }
        if (chunk !== '') sock.write(chunk)
      }
      sock.setEncoding('utf8')
      sock.on('connect', fill)
      sock.on('error', reject)
      sock.on('data', s => {
        rest += s
        let nl
        while ((nl = rest.indexOf('\n')) >= 0) {
          if (!rest.startsWith('OK')) { reject(new Error(rest.slice(0, nl))); return }
          rest = rest.slice(nl + 1)
          acked++
        }
        if (acked === WEBHOOK_EVENTS) { sock.destroy(); resolve() } else fill()
      })
    })
    const published = performance.now()
    await done
    // Delivered means acked: wait until the webhook holds nothing.
    for (;;) {
      const [w] = await httpJson(b.http, 'GET', '/topics/hooked/webhooks')
      if (w.pending === 0 && w.inFlight === 0) break
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    const secs = (performance.now() - t0) / 1000
    return { eventsPerSec: Math.round(WEBHOOK_EVENTS / secs), publishSecs: +((published - t0) / 1000).toFixed(2), totalSecs: +secs.toFixed(2) }
  } finally {
    rx.closeAllConnections()
    await new Promise(resolve => rx.close(resolve))
  }
}


const all = {}
for (let r = 1; r <= REPEATS; r++) {
  for (const w of ONLY) {
    const b = await broker()
    let res
    try {
      if (w === 'single') res = await drive(b.http, () => httpRequest(b.http, '/topics/bench/events', EVENT), parseHttp, 1)
      else if (w === 'batch') res = await drive(b.http, () => httpRequest(b.http, '/topics/bench/events', BATCH), parseHttp, 100)
      else if (w === 'tcp') res = await drive(b.tcp, () => `pub bench ${EVENT}\n`, parseLine, 1)
      else if (w === 'webhook') res = await webhookRun(b)
      else throw new Error(`unknown workload ${w}`)
    } finally {
      await b.stop()
    }
    console.log(`run ${r} ${w}: ${JSON.stringify(res)}`)
    ;(all[w] ??= []).push(res)
  }
}
console.log(`\nmedians of ${REPEATS} (connections ${CONNECTIONS}, depth ${DEPTH}, ${SECONDS} s per run):`)
for (const [w, runs] of Object.entries(all)) {
  const keys = Object.keys(runs[0])
  console.log(`${w}: ${JSON.stringify(Object.fromEntries(keys.map(k => [k, median(runs.map(x => x[k]))])))}`)
}
