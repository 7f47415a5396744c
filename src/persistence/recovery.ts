import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { grantFromWord } from '../auth/acl'
import { ConfigError } from '../errors'
import { join } from 'node:path'
import type { Logger } from '../log'
import type { StoredEvent } from '../store/event'
import { isValidTopicName } from '../store/names'
import type { Store } from '../store/store'
import { Subscription } from '../store/subscription'
import type { GrantRights } from '../store/topic'
import { JOURNAL_PREFIX, JOURNAL_SUFFIX } from './journal'
import { moveAside } from './files'
import { decodePublishRecord } from './publishRecord'
import { LOG_SUFFIX, parseTopicLog } from './topicLog'

interface Held { ev: StoredEvent, deliveries: number }

/** A topic being rebuilt: plain maps, so journal replay can remove any event cheaply. */
interface RecoveringTopic {
  name: string
  seq: number
  nextAutoId: number
  /** Journal generations up to this one are already reflected. */
  journalGen: number
  /** Events by publish order (unique within a topic): one object per event, however many subscribers hold it. */
  events: Map<number, StoredEvent>
  subs: Map<string, RecoveringSub>
  /** Private topics: grants by user. */
  grants: Map<string, GrantRights>
}

interface RecoveringSub {
  maxInFlight: number
  ackTimeoutMs: number
  /** On a private topic, the user that made the subscription (revoke ends it). */
  user: string | null
  held: Map<string, Held>
}

export interface RecoveryResult {
  /** Highest journal generation seen (files or logs); the new journal starts above it. */
  maxGen: number
  /** Topics whose state came (partly) from the journal or a damaged file: rewrite them at the next batch. */
  dirty: Set<string>
  topics: number
  events: number
  problems: number
}

const JOURNAL_NAME = /^journal-(\d{1,15})\.ndjson$/

export function listJournalGens (dir: string): number[] {
  const gens: number[] = []
  for (const f of readdirSync(dir)) {
    const m = JOURNAL_NAME.exec(f)
    if (m !== null) gens.push(Number(m[1]))
  }
  return gens.sort((a, b) => a - b)
}

/**
 * Rebuilds the store from the topic logs, then replays the journal records
 * the logs do not yet reflect. Damaged files are moved (logs) or copied
 * (journals) aside, never deleted; everything readable is recovered.
 */
export function recover (dir: string, store: Store, log: Logger, defaultAckTimeoutMs: number): RecoveryResult {
  const topics = new Map<string, RecoveringTopic>()
  const dirty = new Set<string>()
  let maxGen = 0
  let problems = 0
  const problem = (msg: string, extra: Record<string, unknown>): void => {
    problems++
    log.warn(extra, msg)
  }

  for (const f of readdirSync(dir)) {
    if (!f.endsWith(LOG_SUFFIX)) continue
    const name = f.slice(0, -LOG_SUFFIX.length)
    if (!isValidTopicName(name)) continue
    const file = join(dir, f)
    if (!statSync(file).isFile()) {
      problem('not a topic log (not a regular file); ignored', { file })
      continue
    }
    // A file that cannot be read is not damaged: refuse to start rather than serve without its events.
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read topic log ${file}: ${(err as Error).message}; fix it or move it away, then start again`)
    }
    try {
      const loaded = parseTopicLog(text, name)
      const rt: RecoveringTopic = { name, seq: loaded.meta.seq, nextAutoId: loaded.meta.nextAutoId, journalGen: loaded.meta.journalGen, events: new Map(), subs: new Map(), grants: loaded.grants }
      maxGen = Math.max(maxGen, rt.journalGen)
      for (const [sub, entries] of loaded.subscribers) {
        const held = new Map<string, Held>()
        for (const e of entries) {
          const ev = eventFrom(rt, e)
          held.set(ev.key, { ev, deliveries: e.deliveries })
        }
        const settings = loaded.settings.get(sub)
        rt.subs.set(sub, { maxInFlight: settings?.maxInFlight ?? 0, ackTimeoutMs: settings?.ackTimeoutMs ?? 0, user: userOf(settings?.user), held })
      }
      topics.set(name, rt)
    } catch (err) {
      const aside = moveAside(file, store.clock.now())
      dirty.add(name)
      problem('damaged topic log moved aside; recovering that topic from the journal only', { file, movedTo: aside, error: (err as Error).message })
    }
  }

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
    lines.forEach((line, i) => {
      if (line === '') return
      try {
        const rec = JSON.parse(line) as unknown[]
        if (!Array.isArray(rec)) throw new Error('not a record')
        replay(topics, line, rec, gen, dirty)
      } catch (err) {
        damaged++
        problem('damaged journal record skipped', { file, line: i + 1, error: (err as Error).message })
      }
    })
    if (damaged > 0) {
      const copy = `${file}.damaged-${store.clock.now()}`
      try {
        copyFileSync(file, copy)
        log.warn({ file, copy, damaged }, 'journal had damaged records; a copy was kept')
      } catch (err) {
        // A full disk must not stop recovery; the original stays until the next batch has absorbed it.
        log.warn({ file, damaged, error: (err as Error).message }, 'journal had damaged records; no copy could be made')
      }
    }
  }

  let events = 0
  for (const rt of topics.values()) events += materialize(rt, store, defaultAckTimeoutMs)
  return { maxGen, dirty, topics: topics.size, events, problems }
}

/** A stored subscription's user: a string, or null when absent (public topics, files from before users were stored). */
function userOf (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

/** The one event object for a read-back event (from a topic log or the journal), kept with its exact text. */
function eventFrom (rt: RecoveringTopic, e: { seq: number, json: string, id: string | number, priority: number }): StoredEvent {
  const known = rt.events.get(e.seq)
  if (known !== undefined) return known
  const ev: StoredEvent = { id: e.id, key: String(e.id), priority: e.priority, seq: e.seq, json: e.json, refs: 0 }
  rt.events.set(e.seq, ev)
  return ev
}

function topicFor (topics: Map<string, RecoveringTopic>, name: string): RecoveringTopic {
  if (!isValidTopicName(name)) throw new Error(`invalid topic name ${JSON.stringify(name)}`)
  let rt = topics.get(name)
  if (rt === undefined) {
    rt = { name, seq: 0, nextAutoId: 1, journalGen: -1, events: new Map(), subs: new Map(), grants: new Map() }
    topics.set(name, rt)
  }
  return rt
}

/** Applies one journal record (see Durability for the record kinds). */
function replay (topics: Map<string, RecoveringTopic>, line: string, rec: unknown[], gen: number, dirty: Set<string>): void {
  const rt = topicFor(topics, rec[1] as string)
  if (gen <= rt.journalGen) return // the topic log already reflects this record
  dirty.add(rt.name)
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
      const p = decodePublishRecord(line, rec)
      const ev = eventFrom(rt, p)
      rt.seq = Math.max(rt.seq, p.seq)
      if (/^\d{1,15}$/.test(ev.key)) rt.nextAutoId = Math.max(rt.nextAutoId, Number(ev.key) + 1)
      for (const name of p.subs) rt.subs.get(name)?.held.set(ev.key, { ev, deliveries: 0 })
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

/** Turns a rebuilt topic into store objects; returns how many events it holds. */
function materialize (rt: RecoveringTopic, store: Store, defaultAckTimeoutMs: number): number {
  const topic = store.ensureTopic(rt.name, false)
  topic.seq = rt.seq
  topic.nextAutoId = rt.nextAutoId
  for (const [user, rights] of rt.grants) topic.grants.set(user, rights)
  for (const [name, s] of rt.subs) {
    const sub = new Subscription(topic, name, true, s.maxInFlight > 0 ? s.maxInFlight : 1, s.ackTimeoutMs > 0 ? s.ackTimeoutMs : defaultAckTimeoutMs)
    sub.user = s.user
    topic.subscriptions.set(name, sub)
    for (const h of s.held.values()) {
      h.ev.refs++
      topic.restoreLive(h.ev)
      if (h.deliveries > 0) sub.restoreDelivered(h.ev, h.deliveries)
      else sub.restoreWaiting(h.ev)
    }
    sub.restoreDone()
  }
  return topic.live.size
}
