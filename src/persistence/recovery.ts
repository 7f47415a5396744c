import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { grantFromWord } from '../auth/acl'
import { ConfigError } from '../errors'
import type { Logger } from '../log'
import { isValidTopicName } from '../store/names'
import type { Store } from '../store/store'
import { Subscription } from '../store/subscription'
import { storedEventOf, type Topic } from '../store/topic'
import { JOURNAL_PREFIX, JOURNAL_SUFFIX } from './journal'
import { FORMAT_FILE, MIGRATING_DIR, TOPICS_DIR, TRASH_DIR, listJournalGens, readFormat, writeFormat, STORAGE_FORMAT } from './layout'
import { finishV1Backup, hasV1Files, migrateV1 } from './migrateV1'
import { decodePublishRecord } from './publishRecord'
import { EXCHANGES_FILE, readExchangeFile } from './exchangeFile'
import { moveAside } from './files'
import type { SegmentLine } from './segmentCodec'
import { parseStateLine } from './stateCodec'
import { topicDirPath } from './topicDir'
import { TopicFiles, topicOfDir, trashTopicDirSync, type TopicFilesOptions } from './topicFiles'
import { TopicState } from './topicState'

export interface RecoveryOptions extends TopicFilesOptions {
  defaultAckTimeoutMs: number
  dedupeWindowMs: number
  dedupeMaxIds: number
}

export interface RecoveryResult {
  /** Highest journal generation seen (files, or a migrated v1 log dir); the new journal starts above it. */
  maxGen: number
  topics: number
  /** Events retained, over every topic. */
  events: number
  /** Events owed to named subscriptions, over every topic. */
  pending: number
  /** Journal records replayed (not yet reflected by the topics' files). */
  replayed: number
  problems: number
  /** A v1 log dir was migrated. */
  migrated: boolean
  /** Exchange records replayed from the journal (exchanges.json does not hold them yet). */
  exchangeRecords: number
}

/** What recovery hands the durability layer besides the store. */
export interface Recovered {
  result: RecoveryResult
  /** Each topic's open directory. */
  files: Map<Topic, TopicFiles>
  /** Replayed journal records per topic, to be written to its state log at the first batch (the journal is deleted after it). */
  changes: Map<Topic, string[]>
}

/** A topic being rebuilt. */
interface Loading {
  name: string
  files: TopicFiles | null
  state: TopicState
  /** Events from the journal that no segment holds yet, in offset order. */
  unflushed: SegmentLine[]
  /** Replayed records, as state-log lines. */
  changes: string[]
  /** Deleted by a replayed `X` and not made again by a later record. */
  deleted?: boolean
}

/** Recovery reads segments in slices this big: what a slice decodes is garbage young enough to be cheap. */
const READ_BYTES = 256 * 1024

/**
 * Rebuilds the store from a storage v2 log dir (migrating a v1 one first):
 * every topic directory (segments: torn tails cut, damaged segments moved
 * aside; state: newest readable snapshot and the logs after it), then the
 * journal generations the topics do not reflect yet (damaged lines skipped,
 * the journal copied aside), then the tail of events after each topic's
 * snapshot, listed from the segments and the journal.
 */
export async function recover (dir: string, store: Store, log: Logger, o: RecoveryOptions): Promise<Recovered> {
  let problems = 0
  const problem = (msg: string, extra: Record<string, unknown>): void => {
    problems++
    log.warn(extra, msg)
  }
  let migrated = false
  let format
  try {
    format = readFormat(dir)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  if (format === null) {
    rmSync(join(dir, MIGRATING_DIR), { recursive: true, force: true })
    if (hasV1Files(dir)) {
      const m = await migrateV1(dir, log, o.now, o.defaultAckTimeoutMs)
      problems += m.problems
      migrated = true
      format = readFormat(dir)!
    } else {
      format = { format: STORAGE_FORMAT }
      writeFormat(dir, format)
    }
  } else if (format.v1Backup !== undefined) {
    finishV1Backup(dir, format.v1Backup, format.v1MaxGen ?? 0, log)
  }
  let maxGen = format.v1MaxGen ?? 0
  rmSync(join(dir, TRASH_DIR), { recursive: true, force: true })
  rmSync(join(dir, FORMAT_FILE + '.tmp'), { force: true })
  const topicsDir = join(dir, TOPICS_DIR)
  mkdirSync(topicsDir, { recursive: true })

  const loading = new Map<string, Loading>()
  for (const name of readdirSync(topicsDir).sort()) {
    const path = join(topicsDir, name)
    if (!statSync(path).isDirectory()) continue
    const { topic, problem: why } = topicOfDir(path)
    if (topic === null) {
      problem('not a topic directory; ignored', { dir: path, problem: why })
      continue
    }
    const { files, state } = TopicFiles.open(path, topic, o)
    problems += files.problems
    // The new journal must start above every generation a topic's files claim to reflect.
    maxGen = Math.max(maxGen, state.gen)
    loading.set(topic, { name: topic, files, state, unflushed: [], changes: [] })
  }

  let exchangesGen = -1
  try {
    const stored = readExchangeFile(dir)
    if (stored !== null) {
      exchangesGen = stored.gen
      // The new journal must start above the generation the table reflects, as above every topic's.
      maxGen = Math.max(maxGen, stored.gen)
      const bad = store.exchanges.load(stored.exchanges)
      if (bad > 0) problem('exchanges.json: entries that do not parse were skipped', { file: join(dir, EXCHANGES_FILE), bad })
    }
  } catch (err) {
    const aside = moveAside(join(dir, EXCHANGES_FILE), o.now())
    problem('exchanges.json is damaged; moved aside, the exchanges in the journal are recovered', { file: aside, error: (err as Error).message })
  }
  let exchangeRecords = 0

  let replayed = 0
  for (const gen of listJournalGens(dir)) {
    maxGen = Math.max(maxGen, gen)
    const file = join(dir, `${JOURNAL_PREFIX}${gen}${JOURNAL_SUFFIX}`)
    let lines: string[]
    try {
      lines = readFileSync(file, 'utf8').split('\n')
    } catch (err) {
      throw new ConfigError(`cannot read journal ${file}: ${(err as Error).message}; fix it or move it away, then start again`)
    }
    let damaged = 0
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]
      if (line === '') continue
      try {
        const rec = JSON.parse(line) as unknown[]
        if (!Array.isArray(rec)) throw new Error('not a record')
        if (typeof rec[0] === 'string' && rec[0].length === 2 && rec[0][0] === 'X') {
          // An exchange record: one the stored table does not reflect yet.
          if (gen > exchangesGen) {
            store.exchanges.apply(rec)
            exchangeRecords++
            replayed++
          }
        } else if (replay(loading, line, rec, gen, dir, o.now)) replayed++
      } catch (err) {
        damaged++
        problem('damaged journal record skipped', { file, line: i + 1, error: (err as Error).message })
      }
    }
    if (damaged > 0) {
      const copy = `${file}.damaged-${o.now()}`
      try {
        copyFileSync(file, copy)
        log.warn({ file, copy, damaged }, 'journal had damaged records; a copy was kept')
      } catch (err) {
        // A full disk must not stop recovery; the original stays until the next batch has absorbed it.
        log.warn({ file, damaged, error: (err as Error).message }, 'journal had damaged records; no copy could be made')
      }
    }
  }

  const files = new Map<Topic, TopicFiles>()
  const changes = new Map<Topic, string[]>()
  let events = 0
  let pending = 0
  for (const lt of loading.values()) {
    if (lt.deleted === true) continue
    const topic = await build(lt, store, log, o)
    if (lt.files !== null) files.set(topic, lt.files)
    if (lt.changes.length > 0 || lt.unflushed.length > 0 || lt.files === null) changes.set(topic, lt.changes)
    events += topic.retainedEvents
    for (const s of topic.subscriptions.values()) pending += s.pending + s.inFlight.size
  }
  if (!existsSync(join(dir, FORMAT_FILE))) throw new Error('format.json vanished during recovery')
  return { result: { maxGen, topics: store.topics.size, events, pending, replayed, problems, migrated, exchangeRecords }, files, changes }
}

function loadingFor (loading: Map<string, Loading>, name: unknown): Loading {
  if (typeof name !== 'string' || !isValidTopicName(name)) throw new Error(`invalid topic name ${JSON.stringify(name)}`)
  let lt = loading.get(name)
  if (lt === undefined) {
    lt = { name, files: null, state: new TopicState(name), unflushed: [], changes: [] }
    loading.set(name, lt)
  }
  lt.deleted = false
  return lt
}

/**
 * Applies one journal record (see Durability for the kinds); false when the
 * topic's files already reflect it (its generation is at or below the
 * topic's last batch marker, or the event is already in a segment).
 */
function replay (loading: Map<string, Loading>, line: string, rec: unknown[], gen: number, dir: string, now: () => number): boolean {
  const lt = loadingFor(loading, rec[1])
  if (lt.files !== null && gen <= lt.state.gen) return false
  const kind = rec[0]
  switch (kind) {
    case 'T':
      return true
    case 'X': {
      // Deleted: its directory goes now; records after this one make a new topic.
      if (lt.files !== null) trashTopicDirSync(dir, lt.files.dir, now())
      else trashTopicDirSync(dir, topicDirPath(dir, lt.name), now())
      loading.set(lt.name, { name: lt.name, files: null, state: new TopicState(lt.name), unflushed: [], changes: [], deleted: true })
      return true
    }
    case 'P': {
      const { event } = decodePublishRecord(line, rec)
      const stored = lt.files?.segments.lastOffset ?? 0
      const last = lt.unflushed.length > 0 ? lt.unflushed[lt.unflushed.length - 1].offset : stored
      if (event.offset <= Math.max(stored, last)) return false // stored already (or older than what is: never inserted in the middle)
      lt.unflushed.push(event)
      return true
    }
    case 'S': case 'U': case 'D': case 'A': case 'C': case 'R': case 'H': case 'F': {
      const stateRec = [kind, ...rec.slice(2)]
      const text = JSON.stringify(stateRec)
      lt.state.apply(parseStateLine(text))
      lt.changes.push(text)
      return true
    }
    default:
      throw new Error(`unknown record kind ${JSON.stringify(kind)}`)
  }
}

/**
 * An event whose id the broker assigned: it leads the event as `{"id":<digits>`
 * (a publisher's id sits where the publisher put it, and a numeric one put
 * first is taken for the broker's). Unique by construction: not worth
 * remembering, nor decoding at start-up.
 */
function assignedId (buf: Buffer, start: number, end: number): boolean {
  // {"id":
  if (end - start < 8 || buf[start] !== 0x7b || buf[start + 1] !== 0x22 || buf[start + 2] !== 0x69 || buf[start + 3] !== 0x64 || buf[start + 4] !== 0x22 || buf[start + 5] !== 0x3a) return false
  const c = buf[start + 6]
  return (c >= 0x30 && c <= 0x39) || c === 0x2d
}

/** Turns a rebuilt topic into store objects: lists the tail, restores subscriptions and the recent ids. */
async function build (lt: Loading, store: Store, log: Logger, o: RecoveryOptions): Promise<Topic> {
  const { state, files } = lt
  const segments = files?.segments ?? null
  const autoId = { next: state.nextAutoId }
  const noteAuto = (key: string): void => {
    if (key.length < 16 && /^\d+$/.test(key)) autoId.next = Math.max(autoId.next, Number(key) + 1)
  }
  // The tail: events after the snapshot, owed to each subscription that has not taken them yet.
  const from = state.tailFrom()
  if (from !== Infinity && segments !== null) {
    for (let at = from; at <= segments.lastOffset;) {
      const lines = await segments.readRange(at, segments.lastOffset, READ_BYTES)
      if (lines.length === 0) break
      for (const l of lines) { state.addTail(l.offset, l.priority); noteAuto(l.key) }
      at = lines[lines.length - 1].offset + 1
    }
  }
  for (const ev of lt.unflushed) {
    if (ev.offset >= from) state.addTail(ev.offset, ev.priority)
    noteAuto(ev.key)
  }
  const lastUnflushed = lt.unflushed.length > 0 ? lt.unflushed[lt.unflushed.length - 1].offset + 1 : 1
  state.finishTail(Math.max(state.nextOffset, segments?.nextOffset ?? 1, lastUnflushed))

  const topic = store.ensureTopic(lt.name, false)
  topic.nextOffset = state.nextOffset
  topic.nextAutoId = autoId.next
  if (segments !== null) topic.log = segments
  for (const [user, word] of state.grants) {
    const rights = grantFromWord(word)
    if (rights !== undefined) topic.grants.set(user, rights)
  }
  for (const ev of lt.unflushed) topic.restoreUnflushed(storedEventOf(ev))

  let lost = 0
  const delivered: Array<{ key: string, offset: number, timestamp: number }> = []
  for (const s of state.subs.values()) {
    const sub = new Subscription(topic, s.name, true, s.maxInFlight > 0 ? s.maxInFlight : 1, s.ackTimeoutMs > 0 ? s.ackTimeoutMs : o.defaultAckTimeoutMs, s.start, s.to)
    sub.user = s.user
    sub.hook = s.hook
    sub.restoreWaiting(s.waiting)
    for (const [offset, deliveries] of [...s.delivered.keys()].map(k => [k, s.deliveriesOf(k)])) {
      const ev = topic.eventAt(offset) ?? (await topic.readEvents(offset, offset, 0))[0]
      if (ev === undefined || ev.offset !== offset) { lost++; continue }
      sub.restoreDelivered(ev, deliveries)
      delivered.push(ev)
    }
    sub.restoreDone()
    topic.adopt(sub)
  }
  if (lost > 0) log.warn({ topic: lt.name, lost }, 'events delivered and not acked are gone from the segments (a damaged segment was moved aside); skipped')

  // The recent ids: those of the events of the last dedupeWindowMs (at most dedupeMaxIds of them), and of those delivered.
  const now = o.now()
  delivered.sort((a, b) => a.offset - b.offset)
  for (const ev of delivered) topic.ids.note(ev.key, ev.offset, ev.timestamp)
  if (segments !== null && segments.count > 0) {
    let at = Math.max(segments.offsetAtTimeSync(now - o.dedupeWindowMs), segments.nextOffset - o.dedupeMaxIds, segments.firstOffset)
    while (at <= segments.lastOffset) {
      // A read that the filter leaves empty has gone to the end of the range.
      const lines = await segments.readRange(at, segments.lastOffset, READ_BYTES, assignedId)
      if (lines.length === 0) break
      for (const l of lines) topic.ids.note(l.key, l.offset, l.timestamp)
      at = lines[lines.length - 1].offset + 1
    }
  }
  for (const ev of lt.unflushed) topic.ids.note(ev.key, ev.offset, ev.timestamp)
  topic.refreshOwed()
  return topic
}
