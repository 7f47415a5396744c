#!/usr/bin/env node
/**
 * Standalone entry for the load generator until `ackline bench` is wired into
 * the main CLI: `node dist/bench/main.js bench --port 8000 ...`.
 */
import { Command } from 'commander'
import { registerBenchCommand } from './command'

const program = new Command('ackline')
registerBenchCommand(program)
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`)
  process.exitCode = 2
})
