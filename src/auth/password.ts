import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes: `scrypt$<N>$<r>$<p>$<saltB64>$<hashB64>` (node:crypto
 * scrypt). The parameters travel with the hash so they can be raised later
 * without invalidating existing entries.
 */
export interface ScryptHash {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

/** Defaults of `ackline hash-password`: N=2^14, r=8, p=1 (about 16 MiB and tens of ms per check). */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const

/** Parameter bounds accepted in config: keep one check's memory and CPU bounded (at most 128 MiB). */
const MAX_MEM_BYTES = 128 * 1024 * 1024

/** Parses and checks a hash string; returns an error message instead when it is unusable. */
export function parseScryptHash (text: string): ScryptHash | string {
  const parts = text.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'must look like scrypt$<N>$<r>$<p>$<salt>$<hash> (see ackline hash-password)'
  const [N, r, p] = parts.slice(1, 4).map(Number)
  if (!Number.isInteger(N) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return 'N must be a power of two from 2 to 2^20'
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'r must be an integer from 1 to 32'
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'p must be an integer from 1 to 16'
  if (128 * N * r > MAX_MEM_BYTES) return 'N and r need more than 128 MiB per check (128*N*r)'
  const salt = Buffer.from(parts[4], 'base64')
  const hash = Buffer.from(parts[5], 'base64')
  if (salt.length < 8) return 'salt must be at least 8 bytes'
  if (hash.length < 16 || hash.length > 128) return 'hash must be 16 to 128 bytes'
  return { N, r, p, salt, hash }
}

/**
 * Why `auth <user> <password>` could never send this password, or null when
 * it can. The password is the rest of the command line, so blanks (space,
 * tab) before and after it are separators and are dropped, while spaces
 * inside it are kept as typed; a control character (tab included) cannot be
 * typed on a telnet line reliably. `ackline hash-password` refuses what this
 * names, so no user gets a hash nobody can log in with.
 */
export function passwordProblem (password: string): string | null {
  if (password === '') return 'empty password'
  const first = password.charCodeAt(0)
  const last = password.charCodeAt(password.length - 1)
  if (first === 32 || first === 9 || last === 32 || last === 9) {
    return 'the password starts or ends with a space or tab, which `auth <user> <password>` cannot send (blanks around the password are separators); choose a password without them'
  }
  const control = /[\u0000-\u001f\u007f]/.exec(password)
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).padStart(2, '0')
    return `the password contains the control character 0x${code}, which a command line cannot carry; choose a password of printable characters`
  }
  return null
}

function derive (password: string, h: Pick<ScryptHash, 'N' | 'r' | 'p' | 'salt'>, keyBytes: number): Buffer {
  return scryptSync(password, h.salt, keyBytes, { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.N * h.r + 1024 * 1024 })
}

export function hashPassword (password: string, opts: { N?: number, r?: number, p?: number } = {}): string {
  const N = opts.N ?? SCRYPT_DEFAULTS.N
  const r = opts.r ?? SCRYPT_DEFAULTS.r
  const p = opts.p ?? SCRYPT_DEFAULTS.p
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes)
  const hash = derive(password, { N, r, p, salt }, SCRYPT_DEFAULTS.keyBytes)
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** Constant-time check of a password against a parsed hash. */
export function verifyPassword (password: string, h: ScryptHash): boolean {
  const got = derive(password, h, h.hash.length)
  return timingSafeEqual(got, h.hash)
}
