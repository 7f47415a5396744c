import type { Command } from 'commander'
import { connectionFlags, connectWith, UsageError, type ConnectionFlags } from './connection'
import { runClientCommand } from './run'
import { formatTopics } from './statsTable'

interface TopicsFlags extends ConnectionFlags {
  json?: boolean
  table?: boolean
}

/**
 * `ackline topics`: every topic the user may see, with its offsets,
 * retention and subscribers. A table on a terminal; JSON (the broker's array,
 * one line) with --json and when stdout is not a terminal, as `stats` does.
 */
async function runTopics (flags: TopicsFlags): Promise<number> {
  if (flags.json === true && flags.table === true) throw new UsageError('--json and --table exclude each other')
  const json = flags.json === true || (flags.table !== true && process.stdout.isTTY !== true)
  const c = await connectWith(flags, { reconnect: false })
  try {
    const topics = await c.topics()
    process.stdout.write(json ? JSON.stringify(topics) + '\n' : formatTopics(topics))
  } finally {
    await c.close()
  }
  return 0
}

export function registerTopicsCommand (program: Command): void {
  connectionFlags(program
    .command('topics')
    .description('list the topics with their offsets, retained events and subscribers: a table on a terminal, JSON otherwise')
    .option('--json', 'print JSON (the default when stdout is not a terminal)')
    .option('--table', 'print the table (the default on a terminal)'))
    .action((flags: TopicsFlags) => runClientCommand(() => runTopics(flags)))
}
