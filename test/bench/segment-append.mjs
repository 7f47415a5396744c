#!/usr/bin/env node
// Segment-log benchmark (storage v2, phase A): append throughput, bytes
// written per event, and read-back speed of src/persistence/segmentLog.ts.
//
//   npm run build
//   node test/bench/segment-append.mjs [--events 1000000] [--batch 1000] [--size 100]
//        [--fsync always|batch|off] [--segment-bytes 67108864] [--seconds 30] [--dist dist] [--keep]
//
// Opens a SegmentLog in a fresh temp dir and appends ~`size`-byte events
// (`{"id":"ev-…","priority":…,"msg":"…","timestamp":…,"offset":…}`) in
// batches of `batch` (what one batcher tick would append for one topic),
// awaiting each append (one write per segment touched, then one fdatasync
// unless fsync is off). Stops after `events` events or `seconds` seconds,
// whichever comes first. Reports:
//   append   events/s, MiB/s, per-batch latency (median, max), and bytes on
//            disk per event (segments, and their saved indexes);
//   replay   readRange over everything in 256 KiB reads (a `from=beginning`
//            replay), events/s;
//   random   read(offset) of 20,000 random offsets, reads/s;
//   reopen   SegmentLog.open of the directory again, ms: after the clean close
//            (every index saved), then without the active segment's index (as
//            after kill -9: that segment is scanned and checked line by line);
//   RAM      bytes of sparse index per event.
// Removes its directory at the end unless --keep.
import { createRequire } from 'node:module'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const EVENTS = Number(option('events', '1000000'))
const BATCH = Number(option('batch', '1000'))
const SIZE = Number(option('size', '100'))
const FSYNC = option('fsync', 'always')
const SEGMENT_BYTES = Number(option('segment-bytes', String(64 * 1024 * 1024)))
const SECONDS = Number(option('seconds', '30'))
const DIST = resolve(root, option('dist', 'dist'))
const KEEP = process.argv.includes('--keep')
for (const [k, v] of Object.entries({ EVENTS, BATCH, SIZE, SEGMENT_BYTES, SECONDS })) {
  if (!(v > 0)) { console.error(`bad --${k.toLowerCase()}`); process.exit(2) }
}
if (!['always', 'batch', 'off'].includes(FSYNC)) { console.error('--fsync must be always, batch or off'); process.exit(2) }

const require = createRequire(import.meta.url)
const { SegmentLog } = require(join(DIST, 'persistence', 'segmentLog.js'))
const { silentLogger } = require(join(DIST, 'log.js'))

const dir = mkdtempSync(join(tmpdir(), 'ackline-segment-append-'))
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)] }
const mib = (b) => (b / 1048576).toFixed(1)

const T0 = 1_795_435_779_746
const head = '{"id":"ev-'
function event (offset) {
  const base = `${head}${offset}","priority":${offset % 3 === 0 ? 5 : 0},"msg":"`
  const tail = `","timestamp":${T0 + Math.floor(offset / 100)},"offset":${offset}}`
  const pad = Math.max(1, SIZE - base.length - tail.length)
  return { offset, timestamp: T0 + Math.floor(offset / 100), json: base + 'x'.repeat(pad) + tail }
}

try {
  const log = SegmentLog.open(dir, { fsync: FSYNC, log: silentLogger, segmentBytes: SEGMENT_BYTES })
  const deadline = performance.now() + SECONDS * 1000
  const latencies = []
  let appended = 0
  let payload = 0
  const t0 = performance.now()
  while (appended < EVENTS && performance.now() < deadline) {
    const batch = []
    const n = Math.min(BATCH, EVENTS - appended)
    for (let i = 1; i <= n; i++) {
      const e = event(appended + i)
      payload += Buffer.byteLength(e.json) + 1
      batch.push(e)
    }
    const b0 = performance.now()
    await log.append(batch)
    latencies.push(performance.now() - b0)
    appended += n
  }
  const appendMs = performance.now() - t0
  await log.close()
  let segBytes = 0
  let indexBytes = 0
  for (const f of readdirSync(dir)) {
    const size = statSync(join(dir, f)).size
    if (f.endsWith('.jsonl')) segBytes += size
    else if (f.endsWith('.index.json')) indexBytes += size
  }
  console.log(`append  ${appended} events of ~${SIZE} B in batches of ${BATCH}, fsync ${FSYNC}: ${(appended / appendMs * 1000).toFixed(0)} ev/s, ${mib(payload / appendMs * 1000)} MiB/s; batch latency median ${median(latencies).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`)
  console.log(`disk    ${(segBytes / appended).toFixed(1)} B/event in segments (line + newline, nothing else), ${(indexBytes / appended).toFixed(2)} B/event in saved indexes; ${log.segments().length} segments`)

  const reopen0 = performance.now()
  SegmentLog.open(dir, { fsync: FSYNC, log: silentLogger, segmentBytes: SEGMENT_BYTES })
  const reopenMs = performance.now() - reopen0
  // As after kill -9: the active segment's index was never saved, so the open scans (and checks) that segment.
  const segs = log.segments()
  rmSync(join(dir, segs[segs.length - 1].file.split('/').pop().replace('.jsonl', '.index.json')), { force: true })
  const crash0 = performance.now()
  const again = SegmentLog.open(dir, { fsync: FSYNC, log: silentLogger, segmentBytes: SEGMENT_BYTES })
  const crashMs = performance.now() - crash0
  const active = segs[segs.length - 1]
  console.log(`reopen  ${reopenMs.toFixed(0)} ms after a clean close (saved indexes); ${crashMs.toFixed(0)} ms as after kill -9 (scan of the ${mib(active.bytes)} MiB active segment: ${(active.count / crashMs * 1000).toFixed(0)} lines/s); sparse index in RAM: ${(again.indexBytes / appended).toFixed(2)} B/event`)

  const r0 = performance.now()
  let read = 0
  for (let from = again.firstOffset; from <= again.lastOffset;) {
    const lines = await again.readRange(from, again.lastOffset, 256 * 1024)
    if (lines.length === 0) break
    read += lines.length
    from = lines[lines.length - 1].offset + 1
  }
  const replayMs = performance.now() - r0
  if (read !== appended) throw new Error(`replay read ${read} events, expected ${appended}`)
  console.log(`replay  ${read} events in ${replayMs.toFixed(0)} ms: ${(read / replayMs * 1000).toFixed(0)} ev/s (decoded and checked, 256 KiB reads)`)

  const R = Math.min(20000, appended)
  let seed = 1
  const q0 = performance.now()
  for (let i = 0; i < R; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const off = 1 + (seed % appended)
    const l = await again.read(off)
    if (l === undefined || l.offset !== off) throw new Error(`read ${off} failed`)
  }
  const randomMs = performance.now() - q0
  console.log(`random  ${R} reads of one event by offset: ${(R / randomMs * 1000).toFixed(0)} reads/s`)
  await again.close()
} finally {
  if (KEEP) console.log(`kept ${dir}`)
  else rmSync(dir, { recursive: true, force: true })
}
