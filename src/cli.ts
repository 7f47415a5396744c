#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander'
import { Broker } from './broker'
import { registerBenchCommand } from './bench'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { createLogger, LOG_LEVELS, type LogLevel } from './log'
import { ConfigError } from './errors'
import { hashPassword, passwordProblem } from './auth/password'
import { readPassword } from './auth/readPassword'

function portNumber (value: string): number {
  const n = Number(value)
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535')
  return n
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
    .option('-p, --port <port>', 'TCP port to listen on (0 = ephemeral) [default: 8000]', portNumber)
    .option('-H, --host <host>', 'address to bind [default: 127.0.0.1]')
    .option('-c, --config <file>', 'JSON config file layered over config/default.json')
    .option('-l, --log-dir <dir>', 'directory for per-topic JSON logs [default: logs]')
    .addOption(new Option('--log-level <level>', 'structured log level on stderr [default: info]').choices(LOG_LEVELS))
    .action(async (opts: { port?: number, host?: string, config?: string, logDir?: string, logLevel?: LogLevel }) => {
      const overrides: ConfigOverrides = {}
      if (opts.port !== undefined) overrides.port = opts.port
      if (opts.host !== undefined) overrides.host = opts.host
      if (opts.logDir !== undefined) overrides.logDir = opts.logDir
      if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel
      try {
        const config = resolveConfig({ file: opts.config, overrides })
        const broker = new Broker(config, createLogger(config.logLevel))
        await broker.start()
        const stop = (signal: string): void => {
          process.stdout.write(`ackline: ${signal} received, shutting down\n`)
          broker.stop().then(() => process.exit(0), () => process.exit(1))
        }
        // Handlers first: whoever reads the listening line may signal at once.
        process.once('SIGINT', () => stop('SIGINT'))
        process.once('SIGTERM', () => stop('SIGTERM'))
        const a = broker.address!
        process.stdout.write(`ackline listening on ${a.address}:${a.port} (log dir ${broker.config.logDir})\n`)
        if (broker.tlsAddress !== null) process.stdout.write(`ackline TLS on ${broker.tlsAddress.address}:${broker.tlsAddress.port}\n`)
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`ackline: ${err.message}\n`)
          process.exit(2)
        }
        process.stderr.write(`ackline: cannot start: ${(err as Error).message}\n`)
        process.exit(1)
      }
    })
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
  return program
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`ackline: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
