import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fsyncDir, writeFileAtomic } from './files'

/**
 * `exchanges.json` in the log dir: every exchange with its bindings, as of
 * journal generation `gen` (the batch that wrote it). Rewritten whole by a
 * batch after any exchange change (exchanges are few and change rarely);
 * recovery loads it, then replays the journal's exchange records of later
 * generations (`XE`, `XB`, `XU`).
 */
export const EXCHANGES_FILE = 'exchanges.json'

/** What the file holds. */
export interface ExchangeFileContent {
  gen: number
  exchanges: unknown
}

/** Writes the table durably (temporary file, fsync, rename, directory fsync under a syncing policy). */
export async function writeExchangeFile (dir: string, gen: number, exchanges: unknown, sync: boolean): Promise<void> {
  await writeFileAtomic(join(dir, EXCHANGES_FILE), JSON.stringify({ gen, exchanges }) + '\n', sync)
  if (sync) await fsyncDir(dir)
}

/** The stored table, or null when there is none; throws when it is unreadable or not the expected shape. */
export function readExchangeFile (dir: string): ExchangeFileContent | null {
  let text: string
  try {
    text = readFileSync(join(dir, EXCHANGES_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const v = JSON.parse(text) as Partial<ExchangeFileContent>
  if (typeof v !== 'object' || v === null || typeof v.gen !== 'number') throw new Error('not an exchanges file')
  return { gen: v.gen, exchanges: v.exchanges }
}
