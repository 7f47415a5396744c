import type { Command } from 'commander'
import type { StartPosition, SubscribeOptions } from '../client'
import { connectionFlags, connectWith, positiveInt, UsageError, type ConnectionFlags } from './connection'
import { runClientCommand, writeOut } from './run'

interface SubFlags extends ConnectionFlags {
  count?: string
  name?: string
  inFlight?: string
  from?: string
  to?: string
  group?: string
  ack?: string
}

/** `--from`: beginning, latest, an offset (from 1), time:<unix-ms>, or a date the way `Date.parse` reads it (2026-11-24T06:00:00Z). */
export function parseFrom (text: string): StartPosition {
  if (text === 'beginning' || text === 'latest') return text
  if (/^[1-9]\d{0,15}$/.test(text)) return Number(text)
  const ms = /^time:\d{1,16}$/.test(text) ? Number(text.slice(5)) : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN
  if (!Number.isSafeInteger(ms) || ms < 0) throw new UsageError(`--from must be beginning, latest, an offset, time:<unix-ms> or a date (2026-11-24T06:00:00Z), got "${text}"`)
  return { time: ms }
}

/** The subscription's options from the flags; throws UsageError. */
export function subscribeOptions (flags: SubFlags): SubscribeOptions {
  const opts: SubscribeOptions = {}
  if (flags.inFlight !== undefined) opts.maxInFlight = positiveInt(flags.inFlight, '--in-flight')
  if (flags.from !== undefined) opts.from = parseFrom(flags.from)
  if (flags.to !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(flags.to)) throw new UsageError(`--to must be an offset (from 1), got "${flags.to}"`)
    opts.to = Number(flags.to)
  }
  if (flags.group !== undefined) opts.group = flags.group
  if (flags.ack !== undefined) {
    if (flags.ack !== 'each' && flags.ack !== 'none') throw new UsageError(`--ack must be each or none, got "${flags.ack}"`)
    opts.ack = flags.ack
  }
  return opts
}

/**
 * `ackline sub <topic>`: prints each event as one line of JSON (the broker's
 * text, byte for byte) and acks it once printed. Ends after `--count` events,
 * on SIGINT or SIGTERM, or when stdout is closed: gracefully, with `quit`, so a
 * named (`--name`) subscription stays for the next run and the events not yet
 * printed come to it again. Events the broker had already delivered past the
 * last one printed (up to the in-flight cap: each ack makes room for the next)
 * are not acked: a named subscription gets them again with `deliveries` one
 * higher. Reconnects on its own, telling stderr. With `--to` it also ends,
 * with exit 0, once the broker says the range is done; a deleted topic ends it
 * with exit 1. With `--ack none` nothing is acked (the broker forgot each
 * event as it sent it).
 */
async function runSub (topic: string, flags: SubFlags): Promise<number> {
  const count = flags.count === undefined ? Infinity : positiveInt(flags.count, '--count')
  const opts = subscribeOptions(flags)
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
    const sub = c.subscribe(topic, opts)
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
    .option('--in-flight <n>', "events delivered and not yet acked at most [default: the broker's maxInFlight]")
    .option('--from <position>', 'start at beginning, latest, an offset, time:<unix-ms> or a date [default: new events only, or where --name left off]')
    .option('--to <offset>', 'end (exit 0) once every event up to this offset is acked')
    .option('--group <group>', 'join this consumer group: its members share the events, each going to one of them')
    .option('--ack <mode>', 'each (ack every event once printed) or none (at most once: nothing to ack, no redelivery) [default: each]'))
    .action((topic: string, flags: SubFlags) => runClientCommand(() => runSub(topic, flags)))
}
