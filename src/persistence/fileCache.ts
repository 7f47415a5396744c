import { closeSync, openSync } from 'node:fs'

/**
 * Open file descriptors shared by every topic's segment log, at most `max`
 * idle ones (10,000 topics must not mean 10,000 open files). A descriptor is
 * acquired for the length of one read or write and released after it; only
 * released ones are ever closed, so an asynchronous read never finds its
 * descriptor closed (or reused for another file) under it.
 */
export class FileCache {
  private readonly max: number
  /** Insertion order is recency: the first idle entry is the one to close. */
  private readonly open = new Map<string, { fd: number, refs: number, doomed: boolean }>()

  constructor (max = 256) {
    this.max = max
  }

  get size (): number {
    return this.open.size
  }

  /** A descriptor for `path` (opened read-write, never created); release() it when done. */
  acquire (path: string): number {
    let e = this.open.get(path)
    if (e === undefined) {
      e = { fd: openSync(path, 'r+'), refs: 0, doomed: false }
      this.evict(this.max - 1)
    } else {
      this.open.delete(path)
    }
    this.open.set(path, e)
    e.refs++
    return e.fd
  }

  release (path: string): void {
    const e = this.open.get(path)
    if (e === undefined) return
    e.refs--
    if (e.refs === 0 && e.doomed) this.close(path, e.fd)
    else this.evict(this.max)
  }

  /** The file is going away (deleted, moved aside): close its descriptor once no one uses it. */
  forget (path: string): void {
    const e = this.open.get(path)
    if (e === undefined) return
    if (e.refs === 0) this.close(path, e.fd)
    else e.doomed = true
  }

  /** Closes every idle descriptor (shutdown); ones in use close when released. */
  closeAll (): void {
    for (const path of [...this.open.keys()]) this.forget(path)
  }

  private evict (keep: number): void {
    if (this.open.size <= keep) return
    for (const [path, e] of this.open) {
      if (this.open.size <= keep) return
      if (e.refs === 0) this.close(path, e.fd)
    }
  }

  private close (path: string, fd: number): void {
    this.open.delete(path)
    try { closeSync(fd) } catch { /* already gone */ }
  }
}

/** The cache segment logs use unless given their own. */
export const sharedFileCache = new FileCache()
