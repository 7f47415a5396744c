import { AcklineError } from '../client'
import { UsageError } from './connection'

/**
 * Runs a client command: its result is the exit code. A usage mistake is one
 * line on stderr and exit 2; a failure to connect or a refusal from the
 * broker is one line naming the code, and exit 1.
 */
export async function runClientCommand (action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action()
  } catch (err) {
    if (err instanceof UsageError || err instanceof TypeError) {
      process.stderr.write(`ackline: ${err.message}\n`)
      process.exitCode = 2
    } else if (err instanceof AcklineError) {
      process.stderr.write(`ackline: ${err.code} ${err.message}\n`)
      process.exitCode = 1
    } else {
      throw err
    }
  }
}

let stdoutGuarded = false

/** Writes to stdout and resolves once the text is handed to the OS (false if stdout is closed, e.g. `| head -1`). */
export function writeOut (text: string): Promise<boolean> {
  if (!stdoutGuarded) {
    stdoutGuarded = true
    process.stdout.on('error', () => {}) // EPIPE reaches the write callback; the 'error' event must not crash the process too
  }
  return new Promise(resolve => {
    if (process.stdout.destroyed || process.stdout.writableEnded) return resolve(false)
    process.stdout.write(text, (err) => resolve(err == null))
  })
}
