import { createHash } from 'node:crypto'

/**
 * Recently verified `Authorization: Basic` credentials, so scrypt runs once
 * per user and password per `credentialCacheMs` rather than per request.
 * Keys are SHA-256 digests of the header value: no password is kept in memory.
 */
export class CredentialCache {
  private readonly verified = new Map<string, { user: string, until: number }>()

  constructor (private readonly ttlMs: number, private readonly maxEntries = 10000) {}

  /** The user a header was verified for, while its entry is fresh. */
  get (header: string, now: number): string | null {
    if (this.ttlMs === 0) return null
    const key = digest(header)
    const hit = this.verified.get(key)
    if (hit === undefined) return null
    if (hit.until <= now) {
      this.verified.delete(key)
      return null
    }
    return hit.user
  }

  remember (header: string, user: string, now: number): void {
    if (this.ttlMs === 0) return
    if (this.verified.size >= this.maxEntries) this.verified.clear() // bounded: a flood of distinct headers costs scrypt again, not memory
    this.verified.set(digest(header), { user, until: now + this.ttlMs })
  }
}

function digest (s: string): string {
  return createHash('sha256').update(s).digest('base64')
}

/** Splits `Basic base64(user:password)`; null when the header is not Basic or not well formed. */
export function parseBasic (header: string): { user: string, password: string } | null {
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header)
  if (m === null) return null
  const text = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon <= 0) return null
  return { user: text.slice(0, colon), password: text.slice(colon + 1) }
}
