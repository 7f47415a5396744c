/**
 * Drives a real terminal program (here the `telnet` client) inside a detached
 * tmux session, the way a person at a keyboard would: send keys, read the
 * screen. Each terminal has its own tmux server (`-L <unique socket>`), which
 * teardown kills, so tests never share or leak sessions.
 */
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

let serial = 0

/** Fails with a clear message when a program the test needs is missing (.ci/run installs it). */
export async function requireProgram (name: string, versionArgs: string[]): Promise<void> {
  try {
    await run(name, versionArgs, { timeout: 5000 })
  } catch (err) {
    const e = err as { code?: unknown }
    if (e.code === 'ENOENT') throw new Error(`${name} is required for this test; .ci/run installs it (apt-get install ${name})`)
    // A non-zero exit still proves the program exists.
  }
}

export interface TerminalOptions {
  width?: number
  height?: number
}

/** One program running in a fixed-size tmux pane. */
export class TmuxTerminal {
  readonly socketName: string
  /** The server's socket file, removed with it (kill-server leaves it behind). */
  private socketPath: string | null = null

  private constructor (socketName: string) {
    this.socketName = socketName
  }

  /** Starts `command` in a new detached tmux server; killed by t.teardown. */
  static async start (t: { teardown: (fn: () => unknown) => void }, command: string[], opts: TerminalOptions = {}): Promise<TmuxTerminal> {
    const socketName = `ackline-test-${process.pid}-${++serial}`
    const term = new TmuxTerminal(socketName)
    t.teardown(() => term.kill())
    await term.tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'main',
      '-x', String(opts.width ?? 100), '-y', String(opts.height ?? 30), '--', ...command)
    term.socketPath = (await term.tmux('display-message', '-p', '-t', 'main', '#{socket_path}')).stdout.trim()
    return term
  }

  /** Types keys as tmux names them: literal text, `Enter`, `C-c`, `BSpace`, ... */
  async sendKeys (...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', ...keys)
  }

  /** Types text literally (no key-name lookup), then nothing else. */
  async type (text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', text)
  }

  /** The visible screen, one string per row, trailing blanks trimmed. */
  async screen (): Promise<string[]> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-t', 'main')
    return stdout.split('\n').map(l => l.trimEnd())
  }

  /** Polls the screen until `check` accepts it; fails with the last screen after `waitMs`. */
  async waitForScreen (check: (rows: string[]) => boolean, what: string, waitMs = 5000): Promise<string[]> {
    const deadline = Date.now() + waitMs
    for (;;) {
      const rows = await this.screen()
      if (check(rows)) return rows
      if (Date.now() >= deadline) {
        throw new Error(`screen never showed ${what} within ${waitMs} ms; screen:\n${rows.join('\n').trimEnd()}`)
      }
      await new Promise(resolve => setTimeout(resolve, 25))
    }
  }

  /** Waits until `count` rows of the screen are exactly `row`. */
  async waitForRows (row: string, count: number, waitMs?: number): Promise<string[]> {
    return this.waitForScreen(rows => rows.filter(r => r === row).length >= count, `${count} x ${JSON.stringify(row)}`, waitMs)
  }

  /** Kills this terminal's tmux server (and the program in it). Safe to call twice. */
  async kill (): Promise<void> {
    await this.tmux('kill-server').catch(() => {})
    if (this.socketPath !== null) rmSync(this.socketPath, { force: true })
  }

  private async tmux (...args: string[]): Promise<{ stdout: string }> {
    return run('tmux', ['-L', this.socketName, ...args], { timeout: 5000 })
  }
}
