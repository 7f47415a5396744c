import type { Clock } from '../../src/clock'
/**
 * Helpers for the security tests: a broker whose pino log is captured,
 * cheap scrypt hashes, a self-signed certificate made with the real
 * `openssl` binary, and an `openssl s_client` session runner.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import pino from 'pino'
import { Broker } from '../../src/broker'
import { resolveConfig, type ConfigOverrides } from '../../src/config/loadConfig'
import { hashPassword } from '../../src/auth/password'
import { LineClient } from './broker'

const run = promisify(execFile)

/** Test users' hashes use a low scrypt cost (N=1024) so the suite stays fast; the format is the real one. */
export function testHash (password: string): string {
  return hashPassword(password, { N: 1024, r: 8, p: 1 })
}

export interface LoggedBroker {
  broker: Broker
  port: number
  /** Parsed pino records written so far. */
  logs: Array<Record<string, unknown>>
  client: () => Promise<LineClient>
}

/** Like startTestBroker, with the structured log captured for assertions. */
export async function startLoggedBroker (t: { teardown: (fn: () => unknown) => void }, overrides: ConfigOverrides, clock?: Clock): Promise<LoggedBroker> {
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  const logDir = mkdtempSync(join(tmpdir(), 'ackline-auth-'))
  const broker = new Broker(resolveConfig({ overrides: { port: 0, host: '127.0.0.1', http: { port: 0 }, logDir, ...overrides } }), pino({ level: 'info' }, sink), clock)
  await broker.start()
  const clients: LineClient[] = []
  t.teardown(async () => {
    for (const c of clients) c.destroy()
    await broker.stop()
  })
  return {
    broker,
    port: broker.address!.port,
    logs,
    client: async () => {
      const c = await LineClient.connect(broker.address!.port)
      clients.push(c)
      return c
    },
  }
}

/** A self-signed certificate for 127.0.0.1/localhost (EC P-256), made by `openssl req`. */
export async function makeCert (dir: string, name = 'server'): Promise<{ cert: string, key: string }> {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'])
  return { cert, key }
}

/**
 * Runs `openssl s_client` against 127.0.0.1:port, writes `lines`, and
 * resolves with what it printed once it exits (the broker closes the
 * connection after `quit`). Killed after `waitMs` as a safety net.
 */
export function sClient (port: number, lines: string[], extraArgs: string[] = [], waitMs = 10000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-verify_return_error', ...extraArgs],
      { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    const timer = setTimeout(() => child.kill('SIGKILL'), waitMs)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
    child.stdin.on('error', () => {})
    child.stdin.write(lines.map(l => l + '\n').join(''))
  })
}
