import type { Command } from 'commander'
import { readPassword } from '../auth/readPassword'
import { connect, type AcklineClient, type ConnectOptions } from '../client'

/** A mistake in the command line: one line on stderr, exit code 2 (as for `start`). */
export class UsageError extends Error {}

/** The connection flags every client command takes. */
export interface ConnectionFlags {
  host?: string
  port?: string
  tls?: boolean
  user?: string
}

/** Adds --host, --port, --tls and --user to a client command. */
export function connectionFlags (cmd: Command): Command {
  return cmd
    .option('--host <host>', 'broker host [default: ACKLINE_HOST, else 127.0.0.1]')
    .option('--port <port>', 'broker port [default: ACKLINE_PORT, else 8000]')
    .option('--tls', 'connect with TLS (a private CA: NODE_EXTRA_CA_CERTS=<ca.pem>)')
    .option('--user <user>', 'authenticate as this user; the password comes from ACKLINE_PASSWORD, or a prompt on a terminal')
}

/** A positive integer flag; throws UsageError. */
export function positiveInt (text: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= max)) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${text}"`)
  return n
}

/**
 * The password for --user: ACKLINE_PASSWORD, else a prompt without echo
 * when stdin is a terminal. A piped stdin may carry events (pub), so it is
 * never read for a password.
 */
async function password (env: NodeJS.ProcessEnv): Promise<string> {
  if (env.ACKLINE_PASSWORD !== undefined) return env.ACKLINE_PASSWORD
  if (process.stdin.isTTY !== true) throw new UsageError('--user needs a password: set ACKLINE_PASSWORD (stdin is not a terminal to prompt on)')
  return readPassword(process.stdin, process.stderr)
}

/** Connects with the flags; `extra` adds options of the command (name, reconnect). */
export async function connectWith (flags: ConnectionFlags, extra: ConnectOptions = {}): Promise<AcklineClient> {
  const opts: ConnectOptions = { ...extra }
  if (flags.host !== undefined) opts.host = flags.host
  if (flags.port !== undefined) opts.port = positiveInt(flags.port, '--port', 65535)
  if (flags.tls === true) opts.tls = true
  if (flags.user !== undefined) {
    opts.user = flags.user
    opts.password = await password(process.env)
  }
  return connect(opts)
}
