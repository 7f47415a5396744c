import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { CLIENT_DEFAULTS, type AcklineError, type PublishOutcome, type PublishResult } from '../client'
import { connectionFlags, connectWith, type ConnectionFlags } from './connection'
import { runClientCommand } from './run'

/** One result line on stdout: `OK <id>`, or the broker's `ERR <CODE> <message>`. */
function resultLine (o: PublishOutcome): string {
  return o.ok ? `OK ${o.id}${o.duplicate ? ' duplicate' : ''}\n` : `ERR ${o.error.code} ${o.error.message}\n`
}

function outcome (p: Promise<PublishResult>): Promise<PublishOutcome> {
  return p.then(r => ({ ok: true as const, ...r }), (error: AcklineError) => ({ ok: false as const, error }))
}

/**
 * `ackline pub <topic> [event-json]`: publishes the event given, or one
 * event per line of stdin (blank lines skipped), pipelined. Prints one result
 * line per event, in order; stderr names each failure. Exit 0 only if every
 * event got OK. No reconnect: once the connection is lost, the rest of stdin
 * is not read.
 */
async function runPub (topic: string, event: string | undefined, flags: ConnectionFlags): Promise<number> {
  const c = await connectWith(flags, { reconnect: false })
  let failures = 0
  const report = (o: PublishOutcome, where: string): void => {
    process.stdout.write(resultLine(o))
    if (!o.ok) {
      failures++
      process.stderr.write(`ackline: ${where}${o.error.code} ${o.error.message}\n`)
    }
  }
  if (event !== undefined) {
    report(await outcome(c.publish(topic, event)), '')
  } else {
    let lost = false
    c.on('disconnect', () => { lost = true })
    // Each result is printed as soon as it and those before it are in (a slow stdin still sees its results);
    // at most a window of them wait, so a long stdin is read no faster than the broker answers.
    let printed: Promise<void> = Promise.resolve()
    const waiting: Array<Promise<void>> = []
    const input = createInterface({ input: process.stdin, crlfDelay: Infinity })
    let lineNo = 0
    for await (const text of input) {
      lineNo++
      if (lost) break
      if (text.trim() === '') continue
      const result = outcome(c.publish(topic, text))
      const where = `line ${lineNo}: `
      printed = printed.then(async () => report(await result, where))
      waiting.push(printed)
      if (waiting.length >= CLIENT_DEFAULTS.publishWindow) await waiting.shift()
    }
    input.close()
    await printed
    if (lost) {
      process.stderr.write(`ackline: connection to ${c.where} lost; stopped reading stdin after line ${lineNo}\n`)
      process.stdin.destroy()
      failures++
    }
  }
  await c.close()
  return failures === 0 ? 0 : 1
}

export function registerPubCommand (program: Command): void {
  connectionFlags(program
    .command('pub')
    .description('publish an event, or one event per line of stdin; one result line per event (OK <id> or ERR <CODE> <message>); exit 1 if any failed')
    .argument('<topic>', 'topic to publish to')
    .argument('[event-json]', 'the event; without it, events are read from stdin, one per line'))
    .action((topic: string, event: string | undefined, flags: ConnectionFlags) => runClientCommand(() => runPub(topic, event, flags)))
}
