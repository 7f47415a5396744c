#!/usr/bin/env node
/**
 * Standalone entry for the load generator, without the broker's CLI:
 * `npx tsx src/bench/main.ts bench --port 8000 ...` (the same as `npx ackline bench ...`).
 */
import { Command } from 'commander'
import { registerBenchCommand } from './command'

const program = new Command('ackline')
registerBenchCommand(program)
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`)
  process.exitCode = 2
})
