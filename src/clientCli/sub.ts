import type { Command } from 'commander'
import { connectionFlags, connectWith, positiveInt, type ConnectionFlags } from './connection'
import { runClientCommand, writeOut } from './run'

interface SubFlags extends ConnectionFlags {
  count?: string
  name?: string
  inFlight?: string
}

/**
 * `ackline sub <topic>`: prints each event as one line of JSON (the broker's
 * text, byte for byte) and acks it once printed. Ends after `--count` events,
 * on SIGINT or SIGTERM, or when stdout is closed: gracefully, with `quit`, so a
 * named (`--name`) subscription stays for the next run and the events not yet
 * printed come to it again. Events the broker had already delivered past the
 * last one printed (up to the in-flight cap: each ack makes room for the next)
 * are not acked: a named subscription gets them again with `deliveries` one
 * higher. Reconnects on its own, telling stderr.
 */
async function runSub (topic: string, flags: SubFlags): Promise<number> {
  const count = flags.count === undefined ? Infinity : positiveInt(flags.count, '--count')
  const maxInFlight = flags.inFlight === undefined ? undefined : positiveInt(flags.inFlight, '--in-flight')
  const c = await connectWith(flags, flags.name === undefined ? {} : { name: flags.name })
  c.on('disconnect', (err) => process.stderr.write(`ackline: ${err.code} ${err.message}; reconnecting\n`))
  c.on('resubscribed', ({ resumed }) => process.stderr.write(`ackline: reconnected; subscription to ${topic} ${resumed ? 'resumed' : 'made again (events published meanwhile are not delivered)'}\n`))
  c.on('error', (err) => process.stderr.write(`ackline: ${err.code} ${err.message}\n`))
  const stop = (): void => { void c.close() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let printed = 0
  let status = 0
  try {
    const sub = c.subscribe(topic, { maxInFlight })
    // The loop ends through close(), never break: leaving it early would unsubscribe, ending a named subscription for good.
    for await (const ev of sub) {
      if (!await writeOut(ev.raw + '\n')) { // stdout closed (| head -1): this event is not acked
        stop()
        continue
      }
      printed++
      await ev.ack().catch((err: Error & { code: string }) => {
        process.stderr.write(`ackline: ack of ${ev.id} failed: ${err.code} ${err.message}\n`)
        status = 1
      })
      if (printed >= count) stop()
    }
  } catch (err) {
    process.stderr.write(`ackline: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}\n`)
    status = 1
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  await c.close()
  return status
}

export function registerSubCommand (program: Command): void {
  connectionFlags(program
    .command('sub')
    .description('print each event of a topic as one JSON line (pipe into jq), ack it once printed; stop after --count events or on Ctrl-C')
    .argument('<topic>', 'topic to subscribe to (it must exist)')
    .option('--count <n>', 'exit after this many events [default: run until Ctrl-C]')
    .option('--name <client-id>', 'durable client id: the subscription and its unacked events outlive this run')
    .option('--in-flight <n>', "events delivered and not yet acked at most [default: the broker's maxInFlight]"))
    .action((topic: string, flags: SubFlags) => runClientCommand(() => runSub(topic, flags)))
}
