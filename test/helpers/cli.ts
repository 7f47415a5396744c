/** Spawns the built CLI (`node dist/cli.js`) the way a user would, and waits for its listening line. */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js')

export interface CliBroker {
  child: ChildProcess
  port: number
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>
}

export function runCli (args: string[], opts: { cwd?: string } = {}): CliBroker & { listening: Promise<number> } {
  // Tests run in parallel: an ephemeral HTTP port unless the test picks one (or turns HTTP off).
  const httpPort = args[0] === 'start' && !args.some(a => a.endsWith('http-port')) ? ['--http-port', '0'] : []
  const child = spawn(process.execPath, [CLI, ...args, ...httpPort], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const cli = {
    child,
    port: 0,
    stdout: () => out,
    stderr: () => err,
    exited,
    listening: new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line; stdout=${out} stderr=${err}`)), 10000)
      child.stdout!.on('data', () => {
        const m = /listening on [^:\s]+:(\d+)/.exec(out)
        if (m !== null) {
          clearTimeout(timer)
          cli.port = Number(m[1])
          resolve(cli.port)
        }
      })
      child.on('exit', () => { clearTimeout(timer); reject(new Error(`exited before listening; stderr=${err}`)) })
    }),
  }
  cli.listening.catch(() => {}) // tests that expect an early exit never await it
  return cli
}

/** A run of a client command (`ackline pub|sub|stats ...`): its output so far and its exit. */
export interface CliRun {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

/** Spawns `node dist/cli.js <args>`; `input` is written to stdin and stdin is closed (none: stdin is closed at once). */
export function spawnCli (args: string[], opts: { input?: string, env?: NodeJS.ProcessEnv, keepStdinOpen?: boolean } = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  child.stdin!.on('error', () => {})
  if (opts.input !== undefined) child.stdin!.end(opts.input)
  else if (opts.keepStdinOpen !== true) child.stdin!.end()
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Runs a client command to its end. */
export async function runCliToEnd (args: string[], opts: { input?: string, env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const run = spawnCli(args, opts)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}
