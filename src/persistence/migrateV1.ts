import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { grantFromWord, grantWord } from '../auth/acl'
import { ConfigError } from '../errors'
import type { Logger } from '../log'
import { isValidTopicName } from '../store/names'
import { PendingIndex } from '../store/pendingIndex'
import type { GrantRights } from '../store/topic'
import { moveAside } from './files'
import { JOURNAL_PREFIX, JOURNAL_SUFFIX } from './journal'
import { decodePublishRecordV1 } from './publishRecord'
import { encodeLine } from './segmentCodec'
import { SegmentLog } from './segmentLog'
import { snapshotLines, type SubImage } from './stateCodec'
import { snapshotFileName } from './stateLog'
import { LOG_SUFFIX, parseTopicLog } from './topicLog'
import { topicDirName, TOPIC_META_FILE } from './topicDir'
import { FORMAT_FILE, MIGRATING_DIR, TOPICS_DIR, listJournalGens, writeFormat, writeSyncedFile } from './layout'

/**
 * Migration of a storage v1 log dir (per-topic `<topic>.json` logs of
 * format 1 or 2 and `journal-<gen>.ndjson` files) to storage v2, on the
 * first start of a v2 broker, under the lock:
 *
 * 1. The v1 state is rebuilt in memory with the v1 reader (below, as v1
 *    recovery did it: damaged logs moved aside, damaged journal lines skipped
 *    and the journal copied aside).
 * 2. Per topic, into `topics.migrating/<dir>/`: every event held by some
 *    named subscriber, once, in v1 publish order, gets the offsets 1..n and
 *    goes to the first segment as its text plus `"offset"`; the subscriptions
 *    (settings, user, waiting offsets as runs, delivered ones with their
 *    counts) and grants become `snapshot-1.jsonl`; `topic.json`. All synced.
 * 3. `topics.migrating` is renamed `topics` and `format.json` written.
 * 4. The v1 files are moved to `v1-backup-<ms>/`, never deleted.
 *
 * A crash before step 3 leaves the v1 files untouched: the next start
 * removes the half-written directory and migrates again. A crash during
 * step 4 is finished by the next start (`finishV1Backup`).
 */

interface Held { seq: number, json: string, priority: number, deliveries: number }

interface V1Topic {
  name: string
  seq: number
  nextAutoId: number
  journalGen: number
  subs: Map<string, V1Sub>
  grants: Map<string, GrantRights>
}

interface V1Sub {
  maxInFlight: number
  ackTimeoutMs: number
  user: string | null
  /** Held events by id key. */
  held: Map<string, Held>
}

export interface MigrationResult {
  topics: number
  events: number
  problems: number
  /** Highest v1 journal generation: v2 journals start above it. */
  maxGen: number
}

/** Whether a log dir holds v1 files: topic logs (`<topic>.json`) or journals. */
export function hasV1Files (dir: string): boolean {
  for (const f of readdirSync(dir)) {
    if (isV1TopicLog(dir, f) || /^journal-\d{1,15}\.ndjson$/.test(f)) return true
  }
  return false
}

function isV1TopicLog (dir: string, f: string): boolean {
  if (!f.endsWith(LOG_SUFFIX) || !isValidTopicName(f.slice(0, -LOG_SUFFIX.length))) return false
  if (f === FORMAT_FILE) {
    // `format` is a valid topic name: its v1 log is a "#meta" object, the v2 marker is not.
    try { return Object.hasOwn(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object, '#meta') } catch { return true }
  }
  return true
}

/** Migrates a v1 log dir to v2 (see above). The caller holds the lock. */
export async function migrateV1 (dir: string, log: Logger, now: () => number, defaultAckTimeoutMs: number): Promise<MigrationResult> {
  const t0 = performance.now()
  const { topics, maxGen, problems } = readV1(dir, log, now)
  const staging = join(dir, MIGRATING_DIR)
  rmSync(staging, { recursive: true, force: true })
  // A `topics/` without format.json is a migration cut short after its rename: done again from the v1 files.
  rmSync(join(dir, TOPICS_DIR), { recursive: true, force: true })
  mkdirSync(staging)
  let events = 0
  for (const t of topics.values()) events += await writeTopic(staging, t, now(), defaultAckTimeoutMs, log)
  fsyncPath(staging)
  renameSync(staging, join(dir, TOPICS_DIR))
  fsyncPath(dir)
  const backup = `v1-backup-${now()}`
  if (existsSync(join(dir, FORMAT_FILE)) && isV1TopicLog(dir, FORMAT_FILE)) {
    // The v1 log of a topic called `format`: copied aside before the v2 marker takes its name
    // (a copy: a crash before the marker is written finds it in place and migrates again).
    mkdirSync(join(dir, backup), { recursive: true })
    copyFileSync(join(dir, FORMAT_FILE), join(dir, backup, FORMAT_FILE))
    fsyncPath(join(dir, backup))
  }
  writeFormat(dir, { format: 2, v1Backup: backup, v1MaxGen: maxGen })
  finishV1Backup(dir, backup, maxGen, log)
  log.warn({ dir, topics: topics.size, events, problems, backup, ms: Math.round(performance.now() - t0) }, 'migrated a storage v1 log dir to v2; the v1 files were moved to the backup directory')
  return { topics: topics.size, events, problems, maxGen }
}

/** Step 4: moves what is left of the v1 files (topic logs, journals up to v1MaxGen, their damaged copies) to the backup directory. */
export function finishV1Backup (dir: string, backup: string, v1MaxGen: number, log: Logger): void {
  const to = join(dir, backup)
  let moved = 0
  for (const f of readdirSync(dir)) {
    const journal = /^journal-(\d{1,15})\.ndjson(\.damaged-\d+)?$/.exec(f)
    const v1 = journal !== null ? Number(journal[1]) <= v1MaxGen : isV1File(dir, f)
    if (!v1) continue
    mkdirSync(to, { recursive: true })
    renameSync(join(dir, f), join(to, f))
    moved++
  }
  if (moved > 0) {
    fsyncPath(dir)
    log.info({ dir, backup, moved }, 'v1 files moved to the backup directory')
  }
}

function isV1File (dir: string, f: string): boolean {
  if (isV1TopicLog(dir, f)) return true
  const m = /^(.+)\.json(\.tmp|\.damaged-\d+)$/.exec(f)
  return m !== null && isValidTopicName(m[1])
}

/** Writes one topic's v2 directory into the staging directory; returns how many events it holds. */
async function writeTopic (staging: string, t: V1Topic, created: number, defaultAckTimeoutMs: number, log: Logger): Promise<number> {
  const dir = join(staging, topicDirName(t.name))
  mkdirSync(dir)
  writeSyncedFile(join(dir, TOPIC_META_FILE), JSON.stringify({ topic: t.name, created }) + '\n')
  // Every held event once, in v1 publish order: offsets 1..n.
  const bySeq = new Map<number, Held>()
  for (const s of t.subs.values()) for (const h of s.held.values()) if (!bySeq.has(h.seq)) bySeq.set(h.seq, h)
  const seqs = [...bySeq.keys()].sort((a, b) => a - b)
  const offsetOf = new Map<number, number>()
  const segments = SegmentLog.open(dir, { fsync: 'always', log })
  const CHUNK = 10000
  for (let i = 0; i < seqs.length; i += CHUNK) {
    const entries = []
    for (let k = i; k < Math.min(i + CHUNK, seqs.length); k++) {
      const h = bySeq.get(seqs[k])!
      const offset = k + 1
      offsetOf.set(seqs[k], offset)
      entries.push({ offset, timestamp: timestampOf(h.json), priority: h.priority, json: encodeLine(h.json, offset) })
    }
    await segments.append(entries)
  }
  await segments.close()
  const next = seqs.length + 1
  const images: SubImage[] = []
  for (const [name, s] of t.subs) {
    const waiting = new PendingIndex()
    const delivered: Array<[number, number, number]> = []
    for (const h of s.held.values()) {
      const o = offsetOf.get(h.seq)!
      if (h.deliveries > 0) delivered.push([o, h.priority, h.deliveries])
      else waiting.add(o, h.priority)
    }
    images.push({
      name,
      maxInFlight: s.maxInFlight > 0 ? s.maxInFlight : 1,
      ackTimeoutMs: s.ackTimeoutMs > 0 ? s.ackTimeoutMs : defaultAckTimeoutMs,
      start: 1,
      to: 0,
      tailFrom: next,
      user: s.user,
      waiting,
      forEachDelivered: (fn) => { for (const [o, p, n] of delivered) fn(o, p, n) },
    })
  }
  const grants: Array<[string, string]> = [...t.grants].map(([u, r]) => [u, grantWord(r)])
  const lines = [...snapshotLines({ snapshot: 1, topic: t.name, gen: 0, nextOffset: next, nextAutoId: t.nextAutoId }, images, grants)]
  writeSyncedFile(join(dir, snapshotFileName(1)), lines.join('\n') + '\n')
  fsyncPath(dir)
  return seqs.length
}

/** The broker's timestamp of a v1 event text (its `timestamp` member; 0 when unreadable). */
function timestampOf (json: string): number {
  try {
    const ts = (JSON.parse(json) as { timestamp?: unknown }).timestamp
    return typeof ts === 'number' && Number.isSafeInteger(ts) ? ts : 0
  } catch {
    return 0
  }
}

function fsyncPath (path: string): void {
  const fd = openSync(path, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

// --- the v1 reader (what v1 recovery did) ---

const JOURNAL_FILE = (dir: string, gen: number): string => join(dir, `${JOURNAL_PREFIX}${gen}${JOURNAL_SUFFIX}`)

/**
 * Rebuilds the v1 state from the topic logs, then replays the journal
 * records the logs do not yet reflect. Damaged logs are moved aside, damaged
 * journals copied aside, never deleted; everything readable is recovered.
 */
function readV1 (dir: string, log: Logger, now: () => number): { topics: Map<string, V1Topic>, maxGen: number, problems: number } {
  const topics = new Map<string, V1Topic>()
  let maxGen = 0
  let problems = 0
  const problem = (msg: string, extra: Record<string, unknown>): void => {
    problems++
    log.warn(extra, msg)
  }

  for (const f of readdirSync(dir)) {
    if (!isV1TopicLog(dir, f)) continue
    const name = f.slice(0, -LOG_SUFFIX.length)
    const file = join(dir, f)
    if (!statSync(file).isFile()) {
      problem('not a topic log (not a regular file); ignored', { file })
      continue
    }
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read topic log ${file}: ${(err as Error).message}; fix it or move it away, then start again`)
    }
    try {
      const loaded = parseTopicLog(text, name)
      const rt: V1Topic = { name, seq: loaded.meta.seq, nextAutoId: loaded.meta.nextAutoId, journalGen: loaded.meta.journalGen, subs: new Map(), grants: loaded.grants }
      maxGen = Math.max(maxGen, rt.journalGen)
      for (const [sub, entries] of loaded.subscribers) {
        const held = new Map<string, Held>()
        for (const e of entries) held.set(String(e.id), { seq: e.seq, json: e.json, priority: e.priority, deliveries: e.deliveries })
        const settings = loaded.settings.get(sub)
        rt.subs.set(sub, { maxInFlight: settings?.maxInFlight ?? 0, ackTimeoutMs: settings?.ackTimeoutMs ?? 0, user: userOf(settings?.user), held })
      }
      topics.set(name, rt)
    } catch (err) {
      const aside = moveAside(file, now())
      problem('damaged topic log moved aside; recovering that topic from the journal only', { file, movedTo: aside, error: (err as Error).message })
    }
  }

  for (const gen of listJournalGens(dir)) {
    maxGen = Math.max(maxGen, gen)
    const file = JOURNAL_FILE(dir, gen)
    let lines: string[]
    try {
      lines = readFileSync(file, 'utf8').split('\n')
    } catch (err) {
      throw new ConfigError(`cannot read journal ${file}: ${(err as Error).message}; fix it or move it away, then start again`)
    }
    let damaged = 0
    lines.forEach((line, i) => {
      if (line === '') return
      try {
        const rec = JSON.parse(line) as unknown[]
        if (!Array.isArray(rec)) throw new Error('not a record')
        replayV1(topics, line, rec, gen)
      } catch (err) {
        damaged++
        problem('damaged journal record skipped', { file, line: i + 1, error: (err as Error).message })
      }
    })
    if (damaged > 0) {
      const copy = `${file}.damaged-${now()}`
      try {
        if (!existsSync(copy)) copyFileSync(file, copy)
        log.warn({ file, copy, damaged }, 'journal had damaged records; a copy was kept')
      } catch (err) {
        log.warn({ file, damaged, error: (err as Error).message }, 'journal had damaged records; no copy could be made')
      }
    }
  }
  return { topics, maxGen, problems }
}

/** A stored subscription's user: a string, or null when absent. */
function userOf (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function topicFor (topics: Map<string, V1Topic>, name: string): V1Topic {
  if (!isValidTopicName(name)) throw new Error(`invalid topic name ${JSON.stringify(name)}`)
  let rt = topics.get(name)
  if (rt === undefined) {
    rt = { name, seq: 0, nextAutoId: 1, journalGen: -1, subs: new Map(), grants: new Map() }
    topics.set(name, rt)
  }
  return rt
}

/** Applies one v1 journal record. */
function replayV1 (topics: Map<string, V1Topic>, line: string, rec: unknown[], gen: number): void {
  const rt = topicFor(topics, rec[1] as string)
  if (gen <= rt.journalGen) return // the topic log already reflects this record
  switch (rec[0]) {
    case 'T':
      return
    case 'S': {
      const sub = rt.subs.get(rec[2] as string)
      const ackTimeoutMs = typeof rec[4] === 'number' ? rec[4] : 0
      const user = userOf(rec[5])
      if (sub === undefined) rt.subs.set(rec[2] as string, { maxInFlight: rec[3] as number, ackTimeoutMs, user, held: new Map() })
      else { sub.maxInFlight = rec[3] as number; sub.ackTimeoutMs = ackTimeoutMs; sub.user = user }
      return
    }
    case 'U':
      rt.subs.delete(rec[2] as string)
      return
    case 'P': {
      const p = decodePublishRecordV1(line, rec)
      rt.seq = Math.max(rt.seq, p.seq)
      const key = String(p.id)
      if (/^\d{1,15}$/.test(key)) rt.nextAutoId = Math.max(rt.nextAutoId, Number(key) + 1)
      for (const name of p.subs) rt.subs.get(name)?.held.set(key, { seq: p.seq, json: p.json, priority: p.priority, deliveries: 0 })
      return
    }
    case 'A':
      rt.subs.get(rec[2] as string)?.held.delete(rec[3] as string)
      return
    case 'D': {
      const h = rt.subs.get(rec[2] as string)?.held.get(rec[3] as string)
      if (h !== undefined) h.deliveries = Math.max(h.deliveries, rec[4] as number)
      return
    }
    case 'G': {
      if (typeof rec[2] !== 'string') throw new Error('grant record without a user')
      const rights = grantFromWord(rec[3])
      if (rights === undefined) rt.grants.delete(rec[2])
      else rt.grants.set(rec[2], rights)
      return
    }
    default:
      throw new Error(`unknown record kind ${JSON.stringify(rec[0])}`)
  }
}

