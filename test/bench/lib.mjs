// What the benchmark scripts share (backlog, replay, recovery, http,
// dashboard-cost, compare): option parsing, starting a broker and waiting for
// its listening line, and leaving nothing behind (children killed, temp dirs
// removed, a watchdog).
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root (test/bench/..). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** `--name value` from the command line, or `fallback`. */
export function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}

/** Whether `--name` is on the command line. */
export function flag (name) {
  return process.argv.includes(`--${name}`)
}

/** The median (the lower middle one of an even count). */
export function median (a) {
  const s = [...a].sort((x, y) => x - y)
  return s[Math.floor((s.length - 1) / 2)]
}

/** Child processes killed, and directories removed, when this process exits however it exits. */
export const children = new Set()
export const tempDirs = new Set()
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

/** Ends the script (exit code 3) after `seconds`. */
export function watchdog (seconds) {
  setTimeout(() => { console.error(`watchdog: stopping after ${seconds} s`); process.exit(3) }, seconds * 1000).unref()
}

/** `--no-http-port` if this build has the HTTP listener (on by default on the fixed port 8080, which another broker or test may hold). */
export function noHttpArgs (cli) {
  return execFileSync(process.execPath, [cli, 'start', '--help'], { encoding: 'utf8' }).includes('--no-http-port') ? ['--no-http-port'] : []
}

/** The broker's `ackline listening on host:port` line (with the HTTP listener: `… and http://host:port`). */
export const LISTENING = /listening on [^:\s]+:(\d+)/

/**
 * Spawns `node <args>` (a broker: `[...nodeArgs, cli, 'start', …]`), killed
 * on exit. `listening` resolves with the match of `pattern` on its stdout
 * (`match[1]` the port) and the ms since spawn, or rejects if it exits first.
 * stderr is kept (`stderr()`) unless `inheritStderr`; stdout is kept (`stdout()`).
 */
export function spawnListening (args, { pattern = LISTENING, inheritStderr = false } = {}) {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', inheritStderr ? 'inherit' : 'pipe'] })
  children.add(child)
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', s => { err += s })
  const exited = new Promise(resolve => child.on('exit', (code, signal) => { children.delete(child); resolve(code ?? signal) }))
  const listening = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', s => {
      out += s
      const m = pattern.exec(out)
      if (m !== null) resolve({ port: Number(m[1]), match: m, ms: performance.now() - t0 })
    })
    exited.then(code => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${err}`)))
  })
  listening.catch(() => {}) // a caller that never awaits it must not crash the script
  return { child, listening, exited, stderr: () => err, stdout: () => out }
}

/** CPU time (user + system, every thread) of a process so far, in ms, from /proc/<pid>/stat (10 ms ticks). */
export function cpuMsOf (pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

/**
 * Sums V8's `--trace-gc-nvp` lines in `text`: scavenges, bytes allocated and
 * promoted to the old generation (over every scavenge), mark-compacts, and
 * the total GC pause in ms.
 */
export function gcTotals (text) {
  const t = { scavenges: 0, allocated: 0, promoted: 0, markCompacts: 0, pauseMs: 0 }
  for (const line of text.split('\n')) {
    const kind = / gc=(\w+)/.exec(line)
    if (kind === null) continue
    t.pauseMs += Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0)
    if (kind[1] === 's') {
      t.scavenges++
      t.allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0)
      t.promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0)
    } else if (kind[1] === 'mc' || kind[1] === 'mmc') {
      t.markCompacts++
    }
  }
  return t
}
