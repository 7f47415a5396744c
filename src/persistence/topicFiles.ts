import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Logger } from '../log'
import { fsyncDir, writeFileAtomic } from './files'
import type { FsyncPolicy } from './journal'
import { TRASH_DIR } from './layout'
import { SegmentLog } from './segmentLog'
import { StateLog } from './stateLog'
import { topicDirPath, topicDirName, topicOfDirName, TOPIC_META_FILE } from './topicDir'
import type { TopicState } from './topicState'

export interface TopicFilesOptions {
  fsync: FsyncPolicy
  log: Logger
  now: () => number
  /** Roll segments at this size. */
  segmentBytes: number
  /** A state log is compacted once it passes this size (and the size of its snapshot). */
  compactMinBytes: number
}

/**
 * One topic's directory in storage v2: its segments (the events, SegmentLog)
 * and its subscription state (StateLog), plus `topic.json`, which names the
 * topic for sure.
 */
export class TopicFiles {
  readonly dir: string
  readonly segments: SegmentLog
  readonly state: StateLog
  /** Segment bytes appended since the last snapshot: what recovery would list; past stateTailBytes a compaction is due. */
  sinceSnapshot = 0

  private constructor (dir: string, segments: SegmentLog, state: StateLog) {
    this.dir = dir
    this.segments = segments
    this.state = state
  }

  /**
   * Creates a new topic's directory (or reopens what a failed batch left)
   * and its `topic.json`. The caller syncs `topics/` once for all the
   * directories a batch creates; the first appends sync this one. Only a
   * shortened directory name needs `topic.json` to say which topic it is:
   * then it is synced before anything else goes in.
   */
  static async create (logDir: string, topic: string, o: TopicFilesOptions): Promise<TopicFiles> {
    const dir = topicDirPath(logDir, topic)
    await mkdir(dir, { recursive: true })
    const needed = topicOfDirName(basename(dir)) === null
    await writeFileAtomic(join(dir, TOPIC_META_FILE), JSON.stringify({ topic, created: o.now() }) + '\n', needed && o.fsync !== 'off')
    if (needed && o.fsync !== 'off') await fsyncDir(dir)
    return TopicFiles.open(dir, topic, o).files
  }

  /** Opens (and recovers) a topic's directory: synchronous, for start-up. */
  static open (dir: string, topic: string, o: TopicFilesOptions): { files: TopicFiles, state: TopicState } {
    const segments = SegmentLog.open(dir, { fsync: o.fsync, log: o.log, segmentBytes: o.segmentBytes, now: o.now })
    const opened = StateLog.open(dir, topic, { fsync: o.fsync, log: o.log, now: o.now, compactMinBytes: o.compactMinBytes })
    return { files: new TopicFiles(dir, segments, opened.log), state: opened.state }
  }

  /** Problems met while opening: torn tails cut, damaged segments, snapshots or records set aside. */
  get problems (): number {
    return this.segments.problems + this.state.problems
  }

  /** Waits for pending writes (the segment index of the active segment is saved). */
  async close (): Promise<void> {
    await this.segments.close()
    await this.state.close()
  }
}

/**
 * The topic a directory of `topics/` holds: from its name, or, for a
 * shortened name, from its `topic.json`; null (with a reason) when the two
 * disagree or neither names a topic.
 */
export function topicOfDir (dir: string): { topic: string | null, problem: string | null } {
  const name = basename(dir)
  let fromMeta: string | null = null
  const metaFile = join(dir, TOPIC_META_FILE)
  if (existsSync(metaFile)) {
    try {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { topic?: unknown }
      if (typeof meta.topic === 'string') fromMeta = meta.topic
    } catch { /* a torn topic.json: the directory name still says which topic */ }
  }
  const fromName = topicOfDirName(name)
  if (fromName !== null) {
    if (fromMeta !== null && fromMeta !== fromName) return { topic: null, problem: `${TOPIC_META_FILE} names topic ${JSON.stringify(fromMeta)}, the directory ${JSON.stringify(fromName)}` }
    return { topic: fromName, problem: null }
  }
  if (fromMeta === null) return { topic: null, problem: 'the directory name is no topic\'s and there is no readable topic.json' }
  let expected: string
  try { expected = topicDirName(fromMeta) } catch { return { topic: null, problem: `${TOPIC_META_FILE} names an invalid topic` } }
  if (expected !== name) return { topic: null, problem: `${TOPIC_META_FILE} names topic ${JSON.stringify(fromMeta)}, whose directory is ${expected}` }
  return { topic: fromMeta, problem: null }
}

/**
 * A deleted topic's directory leaves `topics/` at once (an atomic rename
 * into `trash/`), then is removed in the background. Resolves once renamed.
 */
export async function trashTopicDir (logDir: string, dir: string, now: number, log: Logger): Promise<void> {
  if (!existsSync(dir)) return
  const trash = join(logDir, TRASH_DIR)
  await mkdir(trash, { recursive: true })
  const to = join(trash, `${basename(dir)}.${now}`)
  await rename(dir, to)
  rm(to, { recursive: true, force: true }).catch((err: unknown) => log.warn({ err, dir: to }, 'could not remove a deleted topic\'s files; removed at the next start'))
}

/** The same, synchronously, removal included (recovery replaying a delete). */
export function trashTopicDirSync (logDir: string, dir: string, now: number): void {
  if (!existsSync(dir)) return
  const trash = join(logDir, TRASH_DIR)
  mkdirSync(trash, { recursive: true })
  const to = join(trash, `${basename(dir)}.${now}`)
  renameSync(dir, to)
  rmSync(to, { recursive: true, force: true })
}
