/**
 * A real Redis Cluster for tests and benchmarks: N masters with R replicas each, started from the
 * system's redis-server (Debian's 7.0) on 127.0.0.1, one temp dir per server, and stopped again.
 *
 * Ports come from 20000–22767 so that each server's cluster bus (port + 10000, 30000–32767) also stays
 * below Linux's ephemeral range (32768+), where outgoing connections would collide with it. Both ports
 * are checked free before use, and a start that fails anyway (another process took the port in between)
 * is retried on other ports.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { onExit } from 'signal-exit'

const run = promisify(execFile)

/** Where the binaries live (Debian's redis-server and redis-tools). */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'
export const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli'

const PORT_LOW = 20000
const PORT_HIGH = 22767
const BUS_OFFSET = 10000

/** True when redis-server and redis-cli are installed; tests skip (with `skipReason`) only when they are not. */
export function hasRedis (): boolean {
  return existsSync(REDIS_SERVER) && existsSync(REDIS_CLI)
}

/** The reason given by tests that skip because Redis is absent. */
export const skipReason = `needs ${REDIS_SERVER} and ${REDIS_CLI} (apt-get install redis-server redis-tools; .ci/run does)`

export interface RedisClusterOptions {
  /** Number of masters (at least 3, Redis Cluster's minimum). Default 3. */
  masters?: number
  /** Replicas per master. Default 1. */
  replicas?: number
  /** Turns AOF on, fsynced `always` or `everysec`; off by default (and RDB snapshots are always off). */
  appendonly?: 'always' | 'everysec'
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over. Default 2000 ms. */
  nodeTimeoutMs?: number
  /** How long to wait for the cluster to become healthy. Default 30 s. */
  readyTimeoutMs?: number
}

/** One redis-server of the cluster. */
export interface RedisNode {
  port: number
  /** PID of the daemonized server; 0 while it is stopped. */
  pid: number
  /** Role as last observed (refreshed by refreshRoles, waitHealthy and killMaster). */
  role: 'master' | 'replica'
  /** Its working dir: nodes.conf, the AOF, redis.log. */
  dir: string
}

export interface RedisCluster {
  nodes: RedisNode[]
  /** `redis://127.0.0.1:P` for every node. */
  urls: string[]
  /** The value for `ackline start --cluster`: the urls joined by commas. */
  clusterArg: string
  /** Kills every server by PID (SIGKILL) and removes the temp dirs. Idempotent; also run by t.teardown and at exit. */
  stop: () => Promise<void>
  /** kill -9 the master on `port` (it must be a master with a replica to fail over to). */
  killMaster: (port: number) => Promise<void>
  /** Waits until the cluster is ok on every running node with every slot served by a running master. */
  waitHealthy: (waitMs?: number) => Promise<void>
  /** Starts again a server that was killed (same port and dir); it rejoins from its nodes.conf. */
  startNode: (port: number) => Promise<void>
  /**
   * Stops every server and starts them all again on the same ports and dirs, then waits until healthy.
   * `hard` (default) kills with SIGKILL, as a power cut; otherwise SIGTERM (Redis flushes the AOF and exits).
   * Data survives only with `appendonly`.
   */
  restart: (opts?: { hard?: boolean }) => Promise<void>
  /** Runs redis-cli against one node and returns its stdout. */
  cli: (port: number, ...args: string[]) => Promise<string>
  /** Re-reads each running node's role from INFO replication. */
  refreshRoles: () => Promise<void>
  /** The running masters' ports. */
  masterPorts: () => number[]
}

// Servers still running when the process ends are killed then: a test that crashed before its teardown, or
// a test process ended by a signal (tap's timeout sends SIGTERM, which skips 'exit' handlers; signal-exit,
// tap's own, runs this on both and then lets the signal do its work).
const live = new Set<{ nodes: RedisNode[], dirs: string[] }>()
onExit(() => {
  for (const c of live) {
    for (const n of c.nodes) killPid(n.pid, 'SIGKILL')
    for (const d of c.dirs) rmSync(d, { recursive: true, force: true })
  }
})

function killPid (pid: number, signal: NodeJS.Signals): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/** True while `pid` runs (a zombie, killed but not yet reaped by init, counts as gone). */
export function alive (pid: number): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
    // a zombie still answers signal 0; its state letter in /proc says Z
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function waitGone (pid: number, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`redis-server pid ${pid} still running after ${waitMs} ms`)
    await sleep(10)
  }
}

function portFree (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** `count` distinct ports whose bus port is free too, picked at random in the range. */
async function pickPorts (count: number, avoid: Set<number>): Promise<number[]> {
  const ports: number[] = []
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 2000) throw new Error('no free port pairs for Redis in 20000–22767')
    const p = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW + 1))
    if (avoid.has(p) || ports.includes(p)) continue
    if (await portFree(p) && await portFree(p + BUS_OFFSET)) ports.push(p)
  }
  return ports
}

function serverArgs (port: number, dir: string, opts: Required<Omit<RedisClusterOptions, 'appendonly'>> & Pick<RedisClusterOptions, 'appendonly'>): string[] {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(opts.nodeTimeoutMs),
    '--dir', dir, '--daemonize', 'yes', '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log'),
    '--save', '',
  ]
  if (opts.appendonly !== undefined) args.push('--appendonly', 'yes', '--appendfsync', opts.appendonly)
  else args.push('--appendonly', 'no')
  return args
}

async function cliOn (port: number, args: string[], timeoutMs = 10_000): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: timeoutMs })
  return stdout
}

/** Starts one daemonized server; resolves with its pid once it answers PING, throws if it died (port taken). */
async function startServer (port: number, dir: string, opts: Parameters<typeof serverArgs>[2]): Promise<number> {
  rmSync(join(dir, 'redis.pid'), { force: true })
  execFileSync(REDIS_SERVER, serverArgs(port, dir, opts), { stdio: 'ignore', timeout: 10_000 })
  const deadline = Date.now() + 10_000
  let pid = 0
  for (;;) {
    if (pid === 0 && existsSync(join(dir, 'redis.pid'))) pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim()) || 0
    if (pid !== 0) {
      if (!alive(pid)) throw new Error(`redis-server on port ${port} exited: ${tail(dir)}`)
      try {
        if ((await cliOn(port, ['PING'], 2000)).trim() === 'PONG') return pid
      } catch { /* not listening yet */ }
    }
    if (Date.now() > deadline) {
      killPid(pid, 'SIGKILL')
      throw new Error(`redis-server on port ${port} did not answer PING: ${tail(dir)}`)
    }
    await sleep(20)
  }
}

function tail (dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').split('\n').slice(-5).join(' | ')
  } catch {
    return '(no log)'
  }
}

function field (info: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info)
  return m?.[1].trim()
}

/**
 * Starts a Redis Cluster and returns its handle. With `t`, t.teardown stops it (also when the test fails).
 */
export async function startRedisCluster (t?: { teardown: (fn: () => unknown) => void }, options: RedisClusterOptions = {}): Promise<RedisCluster> {
  if (!hasRedis()) throw new Error(skipReason)
  const opts = {
    masters: options.masters ?? 3,
    replicas: options.replicas ?? 1,
    nodeTimeoutMs: options.nodeTimeoutMs ?? 2000,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    appendonly: options.appendonly,
  }
  if (opts.masters < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  const total = opts.masters * (1 + opts.replicas)
  const state = { nodes: [] as RedisNode[], dirs: [] as string[] }
  live.add(state)
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    for (const n of state.nodes) killPid(n.pid, 'SIGKILL')
    for (const n of state.nodes) {
      await waitGone(n.pid, 5000).catch(() => undefined)
      n.pid = 0
    }
    for (const d of state.dirs) rmSync(d, { recursive: true, force: true })
    live.delete(state)
  }
  t?.teardown(stop)

  try {
    // start the servers, replacing any that fails to start (its port was taken after the check)
    const used = new Set<number>()
    for (let attempt = 0; state.nodes.length < total; attempt++) {
      if (attempt > 5) throw new Error('could not start the redis-servers after 5 rounds of port picking')
      const ports = await pickPorts(total - state.nodes.length, used)
      for (const port of ports) {
        used.add(port)
        const dir = mkdtempSync(join(tmpdir(), 'ackline-redis-'))
        state.dirs.push(dir)
        try {
          const pid = await startServer(port, dir, opts)
          state.nodes.push({ port, pid, role: 'master', dir })
        } catch {
          rmSync(dir, { recursive: true, force: true })
        }
      }
    }

    await run(REDIS_CLI, ['--cluster', 'create', ...state.nodes.map(n => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(opts.replicas), '--cluster-yes'], { timeout: 60_000 })
  } catch (err) {
    await stop()
    throw err
  }

  const byPort = (port: number): RedisNode => {
    const n = state.nodes.find(x => x.port === port)
    if (n === undefined) throw new Error(`no Redis node on port ${port}`)
    return n
  }

  const refreshRoles = async (): Promise<void> => {
    for (const n of state.nodes) {
      if (!alive(n.pid)) continue
      const info = await cliOn(n.port, ['INFO', 'replication'])
      n.role = field(info, 'role') === 'slave' ? 'replica' : 'master'
    }
  }

  /** One reason the cluster is not healthy yet, or undefined when it is. */
  const unhealthy = async (): Promise<string | undefined> => {
    const running = state.nodes.filter(n => alive(n.pid))
    for (const n of running) {
      let info: string
      try {
        info = await cliOn(n.port, ['CLUSTER', 'INFO'], 2000)
      } catch (err) {
        return `${n.port}: ${(err as Error).message}`
      }
      if (field(info, 'cluster_state') !== 'ok') return `${n.port}: cluster_state ${field(info, 'cluster_state')}`
      if (field(info, 'cluster_slots_ok') !== '16384') return `${n.port}: cluster_slots_ok ${field(info, 'cluster_slots_ok')}`
      if (Number(field(info, 'cluster_known_nodes')) < state.nodes.length) return `${n.port}: knows ${field(info, 'cluster_known_nodes')} nodes`
    }
    // every slot is served by a running master, as every running node sees it
    for (const n of running) {
      const nodes = await cliOn(n.port, ['CLUSTER', 'NODES'], 2000)
      let covered = 0
      for (const line of nodes.trim().split('\n')) {
        const parts = line.split(' ')
        const port = Number(/:(\d+)@/.exec(parts[1])?.[1])
        const flags = parts[2].split(',')
        if (!flags.includes('master') || flags.includes('fail') || flags.includes('fail?')) continue
        if (!running.some(r => r.port === port)) return `${n.port} still sees ${port} (stopped) as a master`
        for (const range of parts.slice(8)) {
          if (range.startsWith('[')) continue // a slot being migrated
          const [a, b] = range.split('-').map(Number)
          covered += (b ?? a) - a + 1
        }
      }
      if (covered !== 16384) return `${n.port} sees ${covered} slots served`
    }
    // replicas synced, so that WAIT 1 can succeed
    await refreshRoles()
    for (const n of running) {
      if (n.role !== 'replica') continue
      const info = await cliOn(n.port, ['INFO', 'replication'], 2000)
      if (field(info, 'master_link_status') !== 'up') return `${n.port}: replica link ${field(info, 'master_link_status')}`
    }
    return undefined
  }

  const waitHealthy = async (waitMs = opts.readyTimeoutMs): Promise<void> => {
    const deadline = Date.now() + waitMs
    for (;;) {
      const why = await unhealthy().catch((err: Error) => err.message)
      if (why === undefined) return
      if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${waitMs} ms: ${why}`)
      await sleep(100)
    }
  }

  const startNode = async (port: number): Promise<void> => {
    const n = byPort(port)
    if (alive(n.pid)) throw new Error(`Redis node ${port} is already running`)
    n.pid = await startServer(port, n.dir, opts)
  }

  const cluster: RedisCluster = {
    nodes: state.nodes,
    urls: state.nodes.map(n => `redis://127.0.0.1:${n.port}`),
    clusterArg: state.nodes.map(n => `redis://127.0.0.1:${n.port}`).join(','),
    stop,
    waitHealthy,
    startNode,
    refreshRoles,
    cli: async (port, ...args) => cliOn(port, args),
    masterPorts: () => state.nodes.filter(n => n.role === 'master' && alive(n.pid)).map(n => n.port),
    killMaster: async (port) => {
      await refreshRoles()
      const n = byPort(port)
      if (n.role !== 'master') throw new Error(`Redis node ${port} is not a master`)
      killPid(n.pid, 'SIGKILL')
      await waitGone(n.pid, 5000)
      n.pid = 0
    },
    restart: async ({ hard = true } = {}) => {
      for (const n of state.nodes) killPid(n.pid, hard ? 'SIGKILL' : 'SIGTERM')
      for (const n of state.nodes) {
        await waitGone(n.pid, 15_000)
        n.pid = 0
      }
      for (const n of state.nodes) n.pid = await startServer(n.port, n.dir, opts)
      await waitHealthy()
    },
  }
  try {
    await waitHealthy()
  } catch (err) {
    await stop()
    throw err
  }
  return cluster
}
