/**
 * One catalogue of coded errors. Every protocol `ERR` line is produced from a
 * BrokerError by `errLine`, so codes and wording live in one place.
 */
export const ErrorCodes = {
  UNKNOWN_COMMAND: 'unknown command',
  BAD_ARGS: 'wrong arguments',
  BAD_TOPIC: 'invalid topic name',
  BAD_JSON: 'invalid JSON',
  BAD_EVENT: 'invalid event',
  UNKNOWN_TOPIC: 'unknown topic',
  NOT_SUBSCRIBED: 'not subscribed',
  ALREADY_SUBSCRIBED: 'already subscribed',
  NOT_IN_FLIGHT: 'event not in flight',
  DUPLICATE_ID: 'duplicate event id',
  LINE_TOO_LONG: 'line too long',
  CONTROL_CHAR: 'control character in command',
  BAD_NAME: 'invalid client name',
  NAME_IN_USE: 'name in use',
  ALREADY_NAMED: 'connection already named',
  NAME_AFTER_SUB: 'name must come before sub',
  BAD_IN_FLIGHT: 'invalid in-flight cap',
  TOO_MANY_CONNECTIONS: 'too many connections',
  TOO_MANY_CONNECTIONS_PER_IP: 'too many connections from one address',
  TOO_MANY_SUBSCRIPTIONS: 'too many subscriptions on one connection',
  TOO_MANY_TOPICS: 'too many topics',
  IDLE_TIMEOUT: 'connection idle for too long',
  STORAGE_FAILED: 'storage failed',
  BAD_DELAY: 'invalid delay',
  QUEUE_FULL: 'subscriber queue full',
  OVERLOADED: 'broker over its memory limit',
  AUTH_REQUIRED: 'authentication required',
  AUTH_FAILED: 'authentication failed',
  ALREADY_AUTHENTICATED: 'already authenticated',
  RATE_LIMITED: 'too many failed attempts',
  FORBIDDEN: 'permission denied',
  TLS_REQUIRED: 'TLS required',
  INTERNAL: 'internal error',
} as const

export type ErrorCode = keyof typeof ErrorCodes

export class BrokerError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.code = code
    this.name = 'BrokerError'
  }
}

/** Throws a coded error; used by handlers so the happy path stays branch-light. */
export function fail (code: ErrorCode, message: string): never {
  throw new BrokerError(code, message)
}

/** The single place protocol ERR lines are formatted. Messages never contain newlines. */
export function errLine (err: unknown): string {
  if (err instanceof BrokerError) return `ERR ${err.code} ${oneLine(err.message)}`
  return `ERR INTERNAL ${ErrorCodes.INTERNAL}`
}

function oneLine (s: string): string {
  return s.replace(/[\r\n]+/g, ' ')
}

/** Shows untrusted input inside an error message: quoted, control bytes escaped, shortened. */
export function quote (s: string, max = 60): string {
  const cut = s.length > max ? s.slice(0, max) + '…' : s
  return JSON.stringify(cut)
}

/** Errors that stop start-up (bad config, unusable log dir). Not protocol errors. */
export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
