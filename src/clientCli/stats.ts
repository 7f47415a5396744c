import type { Command } from 'commander'
import type { BrokerStats, TopicStats } from '../client'
import { connectionFlags, connectWith, UsageError, type ConnectionFlags } from './connection'
import { runClientCommand } from './run'
import { formatBrokerStats, formatTopicStats } from './statsTable'

interface StatsFlags extends ConnectionFlags {
  json?: boolean
  table?: boolean
}

/**
 * `ackline stats [topic]`: a table on a terminal; JSON (one line, the
 * broker's object) with --json, and also when stdout is not a terminal, so
 * `ackline stats | jq` works. --table forces the table.
 */
async function runStats (topic: string | undefined, flags: StatsFlags): Promise<number> {
  if (flags.json === true && flags.table === true) throw new UsageError('--json and --table exclude each other')
  const json = flags.json === true || (flags.table !== true && process.stdout.isTTY !== true)
  const c = await connectWith(flags, { reconnect: false })
  try {
    const s = topic === undefined ? await c.stats() : await c.stats(topic)
    if (json) process.stdout.write(JSON.stringify(s) + '\n')
    else process.stdout.write(topic === undefined ? formatBrokerStats(s as BrokerStats) : formatTopicStats(s as TopicStats))
  } finally {
    await c.close()
  }
  return 0
}

export function registerStatsCommand (program: Command): void {
  connectionFlags(program
    .command('stats')
    .description("show the broker's counters, or one topic's subscribers: a table on a terminal, JSON otherwise")
    .argument('[topic]', 'one topic')
    .option('--json', 'print JSON (the default when stdout is not a terminal)')
    .option('--table', 'print the table (the default on a terminal)'))
    .action((topic: string | undefined, flags: StatsFlags) => runClientCommand(() => runStats(topic, flags)))
}
