import type { Command } from 'commander'
import { registerPubCommand } from './pub'
import { registerStatsCommand } from './stats'
import { registerSubCommand } from './sub'
import { registerTopicsCommand } from './topics'

/** Adds the client commands for scripts (`pub`, `sub`, `topics`, `stats`) to the `ackline` program; they use `ackline/client`. */
export function registerClientCommands (program: Command): void {
  registerPubCommand(program)
  registerSubCommand(program)
  registerTopicsCommand(program)
  registerStatsCommand(program)
}
