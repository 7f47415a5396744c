import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { TOPICS_DIR } from './topicDir'

/**
 * The storage v2 log dir, beside the topic directories (topicDir.ts):
 *
 *   format.json            {"format":2, …}: a v2 log dir (written first in a new one, last by the v1 migration)
 *   ackline.lock           the lock (files.ts)
 *   journal-<gen>.ndjson   the journal (journal.ts)
 *   topics/<dir>/          one directory per topic
 *   trash/                 directories of deleted topics, removed in the background (and at start-up)
 *   topics.migrating/      a v1 migration under way (removed and redone if a crash cut it short)
 *   v1-backup-<ms>/        the files of a migrated v1 log dir, kept, never read
 */
export { TOPICS_DIR }
export const FORMAT_FILE = 'format.json'
export const TRASH_DIR = 'trash'
export const MIGRATING_DIR = 'topics.migrating'
export const STORAGE_FORMAT = 2

/** What format.json says. `v1Backup`/`v1MaxGen`: where a migration put the v1 files, and the last v1 journal generation. */
export interface FormatInfo {
  format: number
  v1Backup?: string
  v1MaxGen?: number
}

/** format.json of a v2 log dir, or null when there is none (a new or a v1 log dir). A v1 log of the topic `format` is not one. */
export function readFormat (dir: string): FormatInfo | null {
  let text: string
  try {
    text = readFileSync(join(dir, FORMAT_FILE), 'utf8')
  } catch {
    return null
  }
  let info: unknown
  try {
    info = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof info !== 'object' || info === null || Object.hasOwn(info, '#meta')) return null
  const f = (info as FormatInfo).format
  if (f !== STORAGE_FORMAT) throw new Error(`${join(dir, FORMAT_FILE)} says format ${JSON.stringify(f)}; this broker reads format ${STORAGE_FORMAT}`)
  return info as FormatInfo
}

export function writeFormat (dir: string, info: FormatInfo): void {
  writeSyncedFile(join(dir, FORMAT_FILE), JSON.stringify(info) + '\n')
  fsyncDirSync(dir)
}

/** Writes a file whole, durably: temporary file, fsync, rename (the caller syncs the directory). */
export function writeSyncedFile (file: string, text: string): void {
  const tmp = file + '.tmp'
  const fd = openSync(tmp, 'w')
  try {
    const buf = Buffer.from(text, 'utf8')
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
}

export function fsyncDirSync (dir: string): void {
  const fd = openSync(dir, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

const JOURNAL_NAME = /^journal-(\d{1,15})\.ndjson$/

/** The journal generations present, in order. */
export function listJournalGens (dir: string): number[] {
  const gens: number[] = []
  for (const f of readdirSync(dir)) {
    const m = JOURNAL_NAME.exec(f)
    if (m !== null) gens.push(Number(m[1]))
  }
  return gens.sort((a, b) => a - b)
}
