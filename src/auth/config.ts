/**
 * Config types and JSON-schema fragments of the security features (auth,
 * rate limit, TLS). Kept here so the shared config files only import them.
 */

/** One configured user. */
export interface UserConfig {
  /** `scrypt$<N>$<r>$<p>$<saltB64>$<hashB64>`, as printed by `ackline hash-password`. */
  passwordHash: string
  /** Topic patterns this user may publish to (see docs/security.md); none when absent. */
  publish?: string[]
  /** Topic patterns this user may subscribe to; none when absent. */
  subscribe?: string[]
}

export interface AuthConfig {
  /** When true, only auth/help/ping/quit work before a successful `auth`. */
  required: boolean
  users: Record<string, UserConfig>
}

export type ClientCertMode = 'none' | 'request' | 'require'

export interface TlsConfig {
  /** TLS port; 0 picks an ephemeral port. */
  port: number
  /** Address to bind; the plain listener's `host` when absent. */
  host?: string
  certFile: string
  keyFile: string
  /** CA bundle that client certificates are verified against. */
  caFile?: string
  /** `none` (default): no client certificate; `request`: asked for, not required; `require`: a valid one is required. */
  clientCert?: ClientCertMode
  /** When true the plain port refuses every connection with ERR TLS_REQUIRED. */
  required?: boolean
}

/** User names: no `.`, so a private topic `~<user>.<rest>` names its owner unambiguously. */
export const USER_NAME = /^[A-Za-z0-9_-]{1,64}$/
export const USER_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

/** A topic pattern: `*` (every public topic), `<prefix>.*` (topics under a prefix) or an exact topic name. */
export const TOPIC_PATTERN = '^(\\*|[A-Za-z0-9._-]{1,200}|[A-Za-z0-9._-]{1,198}\\.\\*)$'

const patterns = { type: 'array', uniqueItems: true, items: { type: 'string', pattern: TOPIC_PATTERN, description: '*, <prefix>.* or a topic name' } }

export const authSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['required', 'users'],
  properties: {
    required: { type: 'boolean' },
    users: {
      type: 'object',
      propertyNames: { pattern: USER_NAME_PATTERN, description: '1 to 64 letters, digits, _ or -' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['passwordHash'],
        properties: {
          passwordHash: {
            type: 'string',
            pattern: '^scrypt\\$\\d{1,8}\\$\\d{1,3}\\$\\d{1,3}\\$[A-Za-z0-9+/]+={0,2}\\$[A-Za-z0-9+/]+={0,2}$',
            // Shown when the pattern fails: a person pasted a password, not its hash.
            description: 'a hash printed by npx ackline hash-password (scrypt$<N>$<r>$<p>$<salt>$<hash>), not the password itself',
          },
          publish: patterns,
          subscribe: patterns,
        },
      },
    },
  },
} as const

export const tlsSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['port', 'certFile', 'keyFile'],
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string', minLength: 1 },
    certFile: { type: 'string', minLength: 1 },
    keyFile: { type: 'string', minLength: 1 },
    caFile: { type: 'string', minLength: 1 },
    clientCert: { enum: ['none', 'request', 'require'] },
    required: { type: 'boolean' },
  },
} as const
