/** Start/stop each peer broker on its own loopback port, data under /tmp; stop only what we started, by PID. */
import { spawn, spawnSync, ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as net from 'node:net'
import { sleep, waitPort } from './common'

export type Peer = 'forwarder' | 'ackline' | 'redis' | 'nats' | 'mosquitto' | 'beanstalkd' | 'rabbitmq'
export const PEERS: readonly Peer[] = ['forwarder', 'ackline', 'redis', 'nats', 'mosquitto', 'beanstalkd', 'rabbitmq']

/** Peers that are external programs (the forwarder and Ackline run on this Node). */
export const BINARIES: Record<Exclude<Peer, 'ackline' | 'forwarder'>, string> = {
  redis: 'redis-server',
  nats: 'nats-server',
  mosquitto: 'mosquitto',
  beanstalkd: 'beanstalkd',
  rabbitmq: 'rabbitmq-server',
}

export interface Server {
  peer: Peer
  port: number
  dir: string
  /** PID of the broker process itself (for RSS). */
  pid: number
  version: string
  stop(): Promise<void>
  /** Durable variants only: kill -9 the broker and start it again on the same port and data dir. */
  crashRestart?: () => Promise<void>
}

export function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

let nextPort = 17_100 + Math.floor(Math.random() * 200) * 10
async function freePort(): Promise<number> {
  for (;;) {
    const p = nextPort
    nextPort += 10
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(false))
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    if (free) return p
  }
}

function tmpDir(peer: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ackline-peer-${peer}-`))
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim()
}

async function stopChild(child: ChildProcess, timeoutMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill(signal)
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await exited
  clearTimeout(t)
}

function spawnLogged(cmd: string, args: string[], dir: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const log = fs.openSync(path.join(dir, 'server.log'), 'a')
  const child = spawn(cmd, args, { stdio: ['ignore', log, log], env: opts.env ?? process.env, cwd: opts.cwd })
  fs.closeSync(log)
  return child
}

const live = new Set<Server>()
/** Stop everything this process started (on error/SIGINT). */
export async function stopAll(): Promise<void> {
  for (const s of [...live]) await s.stop().catch(() => undefined)
}

function track(s: Omit<Server, 'stop' | 'crashRestart'>, stop: () => Promise<void>, crash?: () => Promise<number>, keepDir = false): Server {
  let stopped = false
  const srv: Server = {
    ...s,
    crashRestart: crash
      ? async () => {
          srv.pid = await crash()
        }
      : undefined,
    stop: async () => {
      if (stopped) return
      stopped = true
      live.delete(srv)
      await stop()
      if (!keepDir) fs.rmSync(s.dir, { recursive: true, force: true })
    },
  }
  live.add(srv)
  return srv
}

export interface StartOpts {
  /** durable variant (W3): beanstalkd -b/-f0; ackline extra args */
  durable?: boolean
  acklineRoot?: string
  acklineArgs?: string[]
}

export async function startServer(peer: Peer, o: StartOpts = {}): Promise<Server> {
  const port = await freePort()
  const dir = tmpDir(peer)
  switch (peer) {
    case 'redis': {
      const c = spawnLogged('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
        '--protected-mode', 'no', '--daemonize', 'no',
        // no disconnect of slow pub/sub subscribers: every broker buffers for its subscribers
        '--client-output-buffer-limit', 'pubsub 0 0 0',
      ], dir)
      await waitPort(port, 15_000)
      return track({ peer, port, dir, pid: c.pid!, version: version('redis-server', ['--version']) }, () => stopChild(c))
    }
    case 'nats': {
      const c = spawnLogged('nats-server', ['-a', '127.0.0.1', '-p', String(port)], dir)
      await waitPort(port, 15_000)
      return track({ peer, port, dir, pid: c.pid!, version: version('nats-server', ['--version']) }, () => stopChild(c))
    }
    case 'mosquitto': {
      const conf = path.join(dir, 'mosquitto.conf')
      fs.writeFileSync(
        conf,
        [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'max_queued_bytes 0', 'set_tcp_nodelay true', 'log_dest stderr', 'log_type error', 'log_type warning'].join('\n') + '\n',
      )
      const c = spawnLogged('mosquitto', ['-c', conf], dir)
      await waitPort(port, 15_000)
      return track({ peer, port, dir, pid: c.pid!, version: version('mosquitto', ['-h']) }, () => stopChild(c))
    }
    case 'beanstalkd': {
      const args = ['-l', '127.0.0.1', '-p', String(port)]
      if (o.durable) {
        fs.mkdirSync(path.join(dir, 'binlog'))
        args.push('-b', path.join(dir, 'binlog'), '-f', '0')
      }
      let c = spawnLogged('beanstalkd', args, dir)
      await waitPort(port, 15_000)
      const crash = async (): Promise<number> => {
        await stopChild(c, 0, 'SIGKILL')
        c = spawnLogged('beanstalkd', args, dir)
        await waitPort(port, 15_000)
        return c.pid!
      }
      return track({ peer, port, dir, pid: c.pid!, version: version('beanstalkd', ['-v']) }, () => stopChild(c), o.durable ? crash : undefined)
    }
    case 'rabbitmq':
      return startRabbit(port, dir)
    case 'forwarder': {
      // the harness ceiling: a Node process that forwards lines (forwarder.mjs), nothing else
      const c = spawnLogged(process.execPath, [path.join(__dirname, 'forwarder.mjs'), String(port)], dir)
      await waitPort(port, 15_000)
      return track({ peer, port, dir, pid: c.pid!, version: `line forwarder (node ${process.version})` }, () => stopChild(c))
    }
    case 'ackline': {
      const root = o.acklineRoot ?? process.cwd()
      const cli = path.join(root, 'dist', 'cli.js')
      if (!fs.existsSync(cli)) throw new Error(`${cli} not found: build Ackline first (npm run build)`)
      // ACKLINE_NODE_ARGS: node flags for the broker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS).
      const nodeArgs = (process.env.ACKLINE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
      // --http-port 0: the HTTP listener stays on as by default, on a port of its own (several brokers may be up at once)
      const args = [...nodeArgs, cli, 'start', '--port', String(port), '--http-port', '0', '--log-dir', path.join(dir, 'logs'), ...(o.acklineArgs ?? [])]
      let c = spawnLogged(process.execPath, args, dir, { cwd: root })
      await waitPort(port, 20_000)
      const crash = async (): Promise<number> => {
        await stopChild(c, 0, 'SIGKILL')
        c = spawnLogged(process.execPath, args, dir, { cwd: root })
        await waitPort(port, 20_000)
        return c.pid!
      }
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
      return track({ peer, port, dir, pid: c.pid!, version: `ackline ${pkg.version} (node ${process.version})` }, () => stopChild(c), o.durable ? crash : undefined)
    }
  }
}

const RABBIT_BIN = '/usr/lib/rabbitmq/bin'

async function startRabbit(port: number, dir: string): Promise<Server> {
  const node = `ackbench${port}@localhost`
  for (const d of ['mnesia', 'log']) fs.mkdirSync(path.join(dir, d))
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n')
  spawnSync('chown', ['-R', 'rabbitmq:rabbitmq', dir])
  fs.chmodSync(dir, 0o755)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 1),
    RABBITMQ_NODENAME: node,
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbit.pid'),
  }
  const epmdWasRunning = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: 4369 })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
  // rabbitmq-server refuses to run as root: drop to the rabbitmq user.
  const launch = (): ChildProcess => spawnLogged('runuser', ['-u', 'rabbitmq', '--', 'env', `HOME=${dir}`, `${RABBIT_BIN}/rabbitmq-server`], dir, { env, cwd: dir })
  const readPid = async (): Promise<number> => {
    for (let i = 0; i < 100; i++) {
      try {
        const p = Number(fs.readFileSync(env.RABBITMQ_PID_FILE!, 'utf8').trim())
        if (p > 0) return p
      } catch {
        /* not yet written */
      }
      await sleep(100)
    }
    return 0
  }
  let c = launch()
  await waitPort(port, 60_000)
  let pid = await readPid()
  const crash = async (): Promise<number> => {
    // kill -9 the Erlang VM (beam.smp); the runuser/rabbitmq-server wrapper then exits by itself
    const exited = new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())))
    if (pid > 0) process.kill(pid, 'SIGKILL')
    await Promise.race([exited, sleep(10_000)])
    fs.rmSync(env.RABBITMQ_PID_FILE!, { force: true })
    c = launch()
    await waitPort(port, 60_000)
    pid = await readPid()
    return pid
  }
  const ver = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'rabbitmq-server'], { encoding: 'utf8' }).stdout
  return track({ peer: 'rabbitmq', port, dir, pid, version: `rabbitmq-server ${ver}` }, async () => {
    spawnSync('runuser', ['-u', 'rabbitmq', '--', 'env', `HOME=${dir}`, `${RABBIT_BIN}/rabbitmqctl`, '-n', node, 'stop'], { env, stdio: 'ignore', timeout: 30_000 })
    await stopChild(c, 15_000)
    if (!epmdWasRunning) {
      // epmd was started by our node: stop it (it listens on 4369 as the rabbitmq user).
      spawnSync('runuser', ['-u', 'rabbitmq', '--', 'sh', '-c', 'epmd -kill || $(ls -d /usr/lib/erlang/erts-*/bin | head -1)/epmd -kill'], { stdio: 'ignore', timeout: 10_000 })
    }
  }, crash)
}
