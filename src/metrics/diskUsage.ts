import { readdir, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Bytes used by the log dir (every file under it) and free on its file
 * system, measured when asked and kept for `maxAgeMs`, so a scrape, the
 * dashboard's live feed and the alerts share one walk of the directory.
 */
export class DiskUsage {
  private at = -Infinity
  private last: Promise<{ usedBytes: number, freeBytes: number }> | null = null

  constructor (private readonly dir: string, private readonly now: () => number, private readonly maxAgeMs = 1000) {}

  measure (): Promise<{ usedBytes: number, freeBytes: number }> {
    const now = this.now()
    if (this.last === null || now - this.at >= this.maxAgeMs) {
      this.at = now
      this.last = Promise.all([dirBytes(this.dir), freeBytes(this.dir)]).then(([usedBytes, free]) => ({ usedBytes, freeBytes: free }))
    }
    return this.last
  }
}

/** Sum of the sizes of the files under dir; files that vanish while walking count as 0. */
export async function dirBytes (dir: string): Promise<number> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  let total = 0
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) total += await dirBytes(path)
    else if (e.isFile()) {
      try { total += (await stat(path)).size } catch { /* gone meanwhile */ }
    }
  }
  return total
}

/** Bytes an unprivileged process may still write on dir's file system. */
async function freeBytes (dir: string): Promise<number> {
  try {
    const s = await statfs(dir)
    return s.bavail * s.bsize
  } catch {
    return NaN
  }
}
