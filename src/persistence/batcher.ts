import type { Clock, Timer } from '../clock'
import { unlinkSync } from 'node:fs'
import type { Logger } from '../log'
import type { Topic } from '../store/topic'
import { fsyncDir, writeFileAtomic } from './files'
import { journalFile, type Journal } from './journal'
import { listJournalGens } from './recovery'
import { renderTopicLog, topicLogFile } from './topicLog'

export interface BatchReport {
  /** Topics whose log file this batch rewrote. */
  topics: string[]
  bytes: number
  /** Event-loop time spent rendering and rotating (the synchronous part). */
  syncMs: number
}

/**
 * Every batchIntervalMs, merges the session's changes into the per-topic
 * JSON logs: only topics changed since the last batch are rewritten, each
 * atomically. With a journal, the snapshot and the journal rotation happen
 * in one synchronous step, so once the logs are on disk the journal
 * generations they reflect can be deleted.
 */
export class EventsBatcher {
  readonly dirty = new Set<Topic>()
  lastReport: BatchReport = { topics: [], bytes: 0, syncMs: 0 }
  batches = 0
  private readonly dir: string
  private readonly journal: Journal | null
  private readonly sync: boolean
  private readonly log: Logger
  private timer: Timer | null = null
  private running: Promise<void> | null = null
  /** Journal files from before a restart may still need deleting. */
  private cleanupPending: boolean

  constructor (dir: string, journal: Journal | null, sync: boolean, log: Logger) {
    this.dir = dir
    this.journal = journal
    this.sync = sync
    this.log = log
    this.cleanupPending = journal !== null
  }

  start (intervalMs: number, clock: Clock): void {
    this.timer = clock.every(intervalMs, () => { void this.run() })
  }

  /** Runs one batch (or joins the one running). Never rejects: failures are logged and retried next time. */
  run (): Promise<void> {
    if (this.running === null) {
      this.running = this.batch().finally(() => { this.running = null })
    }
    return this.running
  }

  /** Stops the timer and writes everything still pending. */
  async stop (): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    await this.run()
    if (this.dirty.size > 0) await this.run()
  }

  private async batch (): Promise<void> {
    if (this.dirty.size === 0 && !this.cleanupPending) return
    const journal = this.journal
    if (journal !== null) await journal.pauseForRotation()
    const t0 = performance.now()
    const gen = journal?.gen ?? 0
    const topics = [...this.dirty]
    this.dirty.clear()
    const rendered = topics.map(t => renderTopicLog(t, gen))
    if (journal !== null) journal.rotate(gen + 1)
    const syncMs = performance.now() - t0
    let bytes = 0
    try {
      for (let i = 0; i < topics.length; i++) {
        bytes += rendered[i].length
        await writeFileAtomic(topicLogFile(this.dir, topics[i].name), rendered[i], this.sync)
      }
      if (this.sync && topics.length > 0) await fsyncDir(this.dir)
      if (journal !== null) {
        for (const g of listJournalGens(this.dir)) if (g <= gen) unlinkSync(journalFile(this.dir, g))
        this.cleanupPending = false
      }
      this.batches++
      this.lastReport = { topics: topics.map(t => t.name), bytes, syncMs }
    } catch (err) {
      for (const t of topics) this.dirty.add(t)
      this.log.error({ err, dir: this.dir }, 'writing topic logs failed; will retry at the next batch')
    }
  }
}
