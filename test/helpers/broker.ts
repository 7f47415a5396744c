/**
 * Shared test helpers: start a real broker on an ephemeral port, open real
 * TCP clients, and read the protocol a line at a time.
 */
import { connect, type Socket } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Broker, startBroker } from '../../src/broker'
import type { Clock } from '../../src/clock'
import type { Command } from '../../src/commands/spec'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { Wakeup } from './wakeup'

export interface TestBroker {
  broker: Broker
  port: number
  /** Opens a client connected to this broker. */
  client: () => Promise<LineClient>
  stop: () => Promise<void>
}

/** A fresh temporary directory that outlives the test's teardown order (brokers write to it while stopping). */
export function tempDir (files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-test-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

/** A broker on 127.0.0.1 with an ephemeral port and a fresh log dir; stopped by t.teardown. */
/** clock: a ManualClock (test/helpers/clock.ts) makes timeouts and delays happen when the test advances it. */
/** commands: the registry's entries, when a test adds its own to BUILTIN_COMMANDS. */
export async function startTestBroker (t: { teardown: (fn: () => unknown) => void }, overrides: ConfigOverrides = {}, clock?: Clock,
  commands?: readonly Command[]): Promise<TestBroker> {
  const logDir = overrides.logDir ?? mkdtempSync(join(tmpdir(), 'ackline-test-'))
  const broker = await startBroker({ overrides: { port: 0, host: '127.0.0.1', http: { port: 0 }, ...overrides, logDir }, clock, commands })
  const port = broker.address!.port
  const clients: LineClient[] = []
  const tb: TestBroker = {
    broker,
    port,
    client: async () => {
      const c = await LineClient.connect(port)
      clients.push(c)
      return c
    },
    stop: async () => {
      for (const c of clients) c.destroy()
      await broker.stop()
    },
  }
  t.teardown(() => tb.stop())
  return tb
}

const DEFAULT_WAIT_MS = 5000

/** Polls until `cond()` holds; fails after `waitMs`. For state the broker changes without telling a client. */
export async function waitFor (cond: () => boolean, what: string, waitMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** A line-oriented TCP client, the way telnet or a script talks to the broker. */
export class LineClient {
  readonly socket: Socket
  /** Every line received, in order. */
  readonly lines: string[] = []
  private readIndex = 0
  private buf = ''
  private readonly wakeup = new Wakeup()
  closed = false

  private constructor (socket: Socket) {
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (s: string) => {
      this.buf += s
      let nl: number
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        this.lines.push(this.buf.slice(0, nl))
        this.buf = this.buf.slice(nl + 1)
      }
      this.wakeup.wake()
    })
    socket.on('close', () => { this.closed = true; this.wakeup.wake() })
    socket.on('error', () => {})
  }

  static connect (port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new LineClient(s)))
      s.once('error', reject)
    })
  }

  send (...lines: string[]): void {
    this.socket.write(lines.map(l => l + '\n').join(''))
  }

  /** The next line of any kind (reply or EVENT), in arrival order. */
  async next (waitMs = DEFAULT_WAIT_MS): Promise<string> {
    const deadline = Date.now() + waitMs
    while (this.readIndex >= this.lines.length) {
      if (this.closed) throw new Error(`connection closed; lines so far: ${JSON.stringify(this.lines.slice(-5))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no line within ${waitMs} ms; last lines: ${JSON.stringify(this.lines.slice(-5))}`)
      await this.wakeup.wait(left)
    }
    return this.lines[this.readIndex++]
  }

  /** The next reply (OK/ERR), skipping nothing: fails if an EVENT comes first. */
  async reply (waitMs?: number): Promise<string> {
    const line = await this.next(waitMs)
    if (line.startsWith('EVENT ')) throw new Error(`expected a reply, got ${line}`)
    return line
  }

  /** Sends a command and returns its reply. */
  async request (line: string): Promise<string> {
    this.send(line)
    return this.reply()
  }

  /** The next line, which must be an EVENT: returns its topic and parsed event. */
  async event (waitMs?: number): Promise<{ topic: string, event: Record<string, unknown> }> {
    const line = await this.next(waitMs)
    const m = /^EVENT (\S+) (.*)$/.exec(line)
    if (m === null) throw new Error(`expected an EVENT, got ${line}`)
    return { topic: m[1], event: JSON.parse(m[2]) as Record<string, unknown> }
  }

  /** True when no line arrives within `ms` (used to check that nothing more is delivered). */
  async quiet (ms = 150): Promise<boolean> {
    const before = this.lines.length
    await new Promise(resolve => setTimeout(resolve, ms))
    return this.lines.length === before && this.readIndex === before
  }

  /** Resolves when the broker closes the connection. */
  async closedByPeer (waitMs = DEFAULT_WAIT_MS): Promise<void> {
    const deadline = Date.now() + waitMs
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('connection still open')
      await this.wakeup.wait(left)
    }
  }

  destroy (): void {
    this.socket.destroy()
  }

}
