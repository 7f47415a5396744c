#!/usr/bin/env node
import { resolve } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { Broker } from './broker'
import { registerBenchCommand } from './bench'
import { registerClientCommands } from './clientCli'
import { DEFAULTS, type BrokerConfig } from './config/defaults'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { createLogger, LOG_LEVELS, type LogLevel } from './log'
import { ConfigError } from './errors'
import { hashPassword, passwordProblem } from './auth/password'
import { readPassword } from './auth/readPassword'
import { npmStartMistake } from './npmStart'
import { describeListenError, hostPort } from './server/listenError'
import { mergeClusterConfig, parseClusterSeeds } from './cluster/config'

/** Long flags of `start`, for recognising the ones npm kept for itself. */
const START_FLAGS = ['port', 'http-port', 'host', 'config', 'log-dir', 'log-level', 'cluster'] as const

/** Prints one line on stderr and exits: code 2 for anything the user can fix by changing flags or config. */
function die (message: string, code = 2): never {
  process.stderr.write(`ackline: ${message}\n`)
  process.exit(code)
}

function clusterSeeds (value: string): string[] {
  const seeds = parseClusterSeeds(value)
  if (seeds === null) throw new InvalidArgumentError('must be Redis Cluster nodes host:port, comma-separated, e.g. redis://127.0.0.1:7001,127.0.0.1:7002')
  return seeds
}

function portNumber (value: string): number {
  const n = Number(value)
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535')
  return n
}

interface StartOptions { port?: number, httpPort?: number | false, host?: string, config?: string, logDir?: string, logLevel?: LogLevel, cluster?: string[] }

/** `ackline start`: config, broker, the one human line on stdout; anything the user can fix is one line on stderr and exit 2. */
async function runStart (opts: StartOptions, strayArgs: string[]): Promise<void> {
  const mistake = npmStartMistake(process.env, START_FLAGS, strayArgs)
  if (mistake !== null) die(mistake)
  if (strayArgs.length > 0) die(`unexpected argument "${strayArgs[0]}" for start; see ackline start --help`)
  const overrides: ConfigOverrides = {}
  let httpPort: number | undefined
  if (opts.port !== undefined) overrides.port = opts.port
  if (opts.host !== undefined) overrides.host = opts.host
  if (opts.httpPort === false) overrides.http = null
  else if (opts.httpPort !== undefined) httpPort = opts.httpPort
  if (opts.logDir !== undefined) overrides.logDir = opts.logDir
  if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel
  let config: BrokerConfig
  try {
    config = resolveConfig({ file: opts.config, overrides })
    // --cluster names the seeds; the rest of a config file's `cluster` section stays.
    if (opts.cluster !== undefined) config.cluster = mergeClusterConfig(config.cluster, { redis: opts.cluster })
    // --http-port changes only the port of whatever `http` the config files give.
    if (httpPort !== undefined && config.http !== null) config.http = { ...config.http, port: httpPort }
  } catch (err) {
    if (err instanceof ConfigError) die(err.message)
    throw err
  }
  const broker = new Broker(config, createLogger(config.logLevel))
  try {
    await broker.start()
  } catch (err) {
    if (err instanceof ConfigError) die(err.message) // e.g. the log dir is locked or unusable
    // The plain listener has an address once it listens, so a later failure is the TLS listener's.
    const tls = broker.address !== null && config.tls !== null && broker.tlsAddress === null
    const http = broker.address !== null && !tls && config.http !== null
    const target = tls
      ? { host: config.tls!.host ?? config.host, port: config.tls!.port, tls }
      : http ? { host: config.http!.host ?? config.host, port: config.http!.port, tls, http } : { host: config.host, port: config.port, tls }
    const listen = describeListenError(err, target)
    if (listen !== null) die(listen)
    die(`cannot start: ${(err as Error).message}`, 1)
  }
  const stop = (signal: string): void => {
    process.stdout.write(`ackline: ${signal} received, shutting down\n`)
    broker.stop().then(() => process.exit(0), () => process.exit(1))
  }
  // Handlers first: whoever reads the listening line may signal at once.
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  // The one human line; the structured log has the same record at debug level.
  const a = broker.address!
  const t = broker.tlsAddress
  const tls = t === null ? '' : ` (TLS on ${hostPort(t.address, t.port)})`
  const h = broker.httpAddress
  const http = h === null ? '' : ` and ${broker.http!.scheme}://${hostPort(h.address, h.port)}`
  process.stdout.write(`ackline listening on ${hostPort(a.address, a.port)}${tls}${http}, logs in ${resolve(config.logDir)}\n`)
}

export function buildProgram (): Command {
  const program = new Command()
  program
    .name('ackline')
    .description('Ackline: a telnet-friendly TCP message broker with priorities, acks and in-flight caps')
    .version(require('../package.json').version as string)

  program
    .command('start')
    .description('start the broker (flags override the config file)')
    // No commander defaults here: a flag that is not given must not override the config file.
    .option('-p, --port <port>', `TCP port to listen on (0 = ephemeral) [default: ${DEFAULTS.port}]`, portNumber)
    .option('--http-port <port>', `HTTP/WebSocket port (0 = ephemeral) [default: ${DEFAULTS.http?.port ?? 'off'}]`, portNumber)
    .option('--no-http-port', 'turn the HTTP API and WebSocket listener off')
    .option('-H, --host <host>', `address to bind [default: ${DEFAULTS.host}]`)
    .option('-c, --config <file>', 'JSON config file layered over config/default.json')
    .option('-l, --log-dir <dir>', `directory for per-topic JSON logs [default: ${DEFAULTS.logDir}]`)
    .option('--cluster <seeds>', 'cluster mode: keep state in this Redis Cluster (redis://host:port,host:port,...); see docs/cluster.md', clusterSeeds)
    .addOption(new Option('--log-level <level>', `structured log level on stderr [default: ${DEFAULTS.logLevel}]`).choices(LOG_LEVELS))
    .allowExcessArguments(true) // reported by runStart, with the npm start hint when that is the cause
    .action((opts: StartOptions, cmd: Command) => runStart(opts, cmd.args))
  program
    .command('hash-password')
    .description('read a password (stdin, or a prompt on a terminal) and print its scrypt hash for auth.users.<name>.passwordHash')
    .action(async () => {
      const password = await readPassword()
      const problem = passwordProblem(password)
      if (problem !== null) {
        process.stderr.write(`ackline: ${problem}\n`)
        process.exit(2)
      }
      process.stdout.write(hashPassword(password) + '\n')
    })
  registerBenchCommand(program)
  registerClientCommands(program)
  return program
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`ackline: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
