import { closeSync, constants, fsyncSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../errors'

/**
 * Replaces a file atomically: write a temporary file, fsync it, rename it over
 * the target. A crash leaves either the old file or the new one, never a torn
 * one. The caller fsyncs the directory once after a batch of renames.
 */
export async function writeFileAtomic (file: string, data: string, sync: boolean): Promise<void> {
  const tmp = file + '.tmp'
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data, 'utf8')
    if (sync) await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
}

/** Makes renames and unlinks in a directory durable. */
export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Keeps a damaged file for a person to inspect: renamed, never deleted. Returns the new name. */
export function moveAside (file: string, now: number): string {
  const aside = `${file}.damaged-${now}`
  renameSync(file, aside)
  return aside
}

export const LOCK_FILE = 'ackline.lock'

/** Log dirs locked by brokers in this process (a pid check cannot tell them apart). */
const lockedHere = new Set<string>()

/**
 * One broker per log directory. The lock file holds the owner's pid; a lock
 * left by a process that no longer exists (kill -9) is taken over.
 */
export function acquireLock (dir: string): () => void {
  const file = join(dir, LOCK_FILE)
  const key = realpathSync(dir)
  if (lockedHere.has(key)) {
    throw new ConfigError(`log dir ${dir} is in use by another ackline broker (pid ${process.pid}, this process; lock file ${file}); stop it or use another --log-dir`)
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, `${process.pid}\n`)
      fsyncSync(fd)
      closeSync(fd)
      lockedHere.add(key)
      return () => {
        lockedHere.delete(key)
        try { unlinkSync(file) } catch { /* already gone */ }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(`cannot use log dir ${dir}: ${(err as Error).message}`)
      }
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ConfigError(`log dir ${dir} is in use by another ackline broker (pid ${pid}, lock file ${file}); stop it or use another --log-dir`)
      }
      unlinkSync(file) // stale: its owner is gone
    }
  }
  throw new ConfigError(`cannot lock log dir ${dir}`)
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A killed broker not yet reaped by its parent is a zombie: it holds nothing.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return true
  }
}
