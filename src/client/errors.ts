import type { ErrorCode } from '../errors'

/**
 * Codes the client itself gives, next to the broker's `ERR` codes:
 * - `DISCONNECTED`: the connection was lost before the command's reply came.
 *   The command may or may not have been applied (a `pub` may be stored).
 * - `CLOSED`: `close()` was called (or the client gave up reconnecting); the
 *   command was not sent.
 * - `CONNECT_FAILED`: the connection could not be opened (refused, timed out,
 *   TLS handshake failed).
 * - `PROTOCOL`: the broker sent something this client does not understand.
 * - `TOPIC_DELETED`: a subscription's topic was deleted (`END <topic> deleted`).
 * - `GROUP_FORGOTTEN`: a consumer group was ended (`unsub <topic> forget
 *   group=<name>`) while this client was a member (`END <topic> forgotten`).
 * - `SUBSCRIPTION_ENDED`: the broker ended a subscription for a reason this
 *   client does not know (an `END` line it cannot read).
 */
export type ClientErrorCode = 'DISCONNECTED' | 'CLOSED' | 'CONNECT_FAILED' | 'PROTOCOL' | 'TOPIC_DELETED' | 'GROUP_FORGOTTEN' | 'SUBSCRIPTION_ENDED'

/** A broker code, a client code, or a code a newer broker may add. */
export type AcklineErrorCode = ErrorCode | ClientErrorCode | (string & Record<never, never>)

/** Every failure the client reports: `.code` is the broker's `ERR` code or a client code. */
export class AcklineError extends Error {
  readonly code: AcklineErrorCode
  /** The command line that failed (without a password), when there was one. */
  readonly command: string | undefined

  constructor (code: AcklineErrorCode, message: string, opts: { command?: string, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'AcklineError'
    this.code = code
    this.command = opts.command
  }
}

/**
 * Broker codes that end the connection rather than answer a command: sent on
 * connect (limits, TLS), unasked (idle), or instead of every held reply
 * (storage). The client treats them as the connection's end.
 */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'TOO_MANY_CONNECTIONS', 'TOO_MANY_CONNECTIONS_PER_IP', 'TLS_REQUIRED', 'IDLE_TIMEOUT', 'STORAGE_FAILED',
])
