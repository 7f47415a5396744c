import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { StartPosition } from './commands'

/** How the client retries after losing its connection. */
export interface ReconnectOptions {
  /** Delay before the first attempt. */
  initialDelayMs: number
  /** The delay never grows past this. */
  maxDelayMs: number
  /** Each failed attempt multiplies the delay by this. */
  factor: number
  /** Fraction of each delay that is random (0: none, 1: anywhere from 0 to the delay), so clients do not come back in step. */
  jitter: number
  /** Attempts before giving up (`Infinity`: never). */
  maxAttempts: number
}

/** TLS settings passed to `node:tls` (`ca` for a private CA, `servername`, client `cert`/`key`, ...). */
export type TlsOptions = Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'servername' | 'rejectUnauthorized' | 'minVersion'>

/** Options of `connect()`. Every field is optional; `CLIENT_DEFAULTS` has the defaults. */
export interface ConnectOptions {
  /** Broker host. Default: `ACKLINE_HOST` from the environment, else 127.0.0.1. */
  host?: string
  /** Broker port. Default: `ACKLINE_PORT` from the environment, else 8000. */
  port?: number
  /** Connect with TLS: `true`, or options for `node:tls`. */
  tls?: boolean | TlsOptions
  /** Sends `auth <user> <password>` on every (re)connect. */
  user?: string
  password?: string
  /** Durable client id: sends `name <name>` on every (re)connect, so subscriptions resume. */
  name?: string
  /** Publishes sent and not yet answered, at most. Further publishes wait in the client, in order. */
  publishWindow?: number
  /** Opening a connection (TCP, TLS, auth and name) must finish within this. */
  connectTimeoutMs?: number
  /** `close()` waits this long for pending replies before it drops the connection. */
  closeTimeoutMs?: number
  /** Longest line accepted from the broker, in bytes (the broker's highest `maxLineBytes` plus room for the EVENT envelope). */
  maxLineBytes?: number
  /** WebSocket only: command lines are packed into frames of at most this many bytes (the broker's `http.maxFrameBytes`). */
  maxFrameBytes?: number
  /** Reconnection after a lost connection; `false` turns it off. */
  reconnect?: false | Partial<ReconnectOptions>
}

/** The client's defaults, in one place. */
export const CLIENT_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  publishWindow: 1000,
  connectTimeoutMs: 10_000,
  closeTimeoutMs: 10_000,
  maxLineBytes: 257 * 1024 * 1024,
  maxFrameBytes: 1024 * 1024,
  maxBuffered: 10_000,
  reconnect: {
    initialDelayMs: 100,
    maxDelayMs: 5000,
    factor: 2,
    jitter: 0.5,
    maxAttempts: Infinity,
  } satisfies ReconnectOptions,
} as const

/** Options with every default filled in. */
export interface ResolvedOptions {
  /** A `ws://` or `wss://` URL to connect to over WebSocket, or null for TCP to host and port. */
  url: string | null
  host: string
  port: number
  tls: false | TlsOptions
  user: string | null
  password: string
  name: string | null
  publishWindow: number
  connectTimeoutMs: number
  closeTimeoutMs: number
  maxLineBytes: number
  maxFrameBytes: number
  reconnect: ReconnectOptions | null
}

/** The environment, where there is one (not in a browser). */
function environment (): Record<string, string | undefined> {
  return typeof process === 'undefined' ? {} : process.env
}

function positiveInt (value: number, what: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`${what} must be an integer of at least ${min}, got ${String(value)}`)
  return value
}

/**
 * Fills in defaults (environment, then CLIENT_DEFAULTS) and checks the values;
 * throws TypeError for a bad one. `url` (ws:// or wss://) selects the
 * WebSocket transport; host and port are then unused.
 */
export function resolveOptions (opts: ConnectOptions, env: Record<string, string | undefined> = environment(), url: string | null = null): ResolvedOptions {
  if (url !== null && !/^wss?:\/\/[^/\s]+/i.test(url)) throw new TypeError(`a broker URL must start with ws:// or wss:// (WebSocket); got ${JSON.stringify(url)}`)
  const envPort = env.ACKLINE_PORT
  const port = opts.port ?? (envPort !== undefined && envPort !== '' ? Number(envPort) : CLIENT_DEFAULTS.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`port must be an integer from 1 to 65535, got ${String(opts.port ?? envPort)}`)
  const host = opts.host ?? (env.ACKLINE_HOST !== undefined && env.ACKLINE_HOST !== '' ? env.ACKLINE_HOST : CLIENT_DEFAULTS.host)
  if ((opts.user === undefined) !== (opts.password === undefined)) throw new TypeError('user and password go together')
  let reconnect: ReconnectOptions | null = null
  if (opts.reconnect !== false) {
    reconnect = { ...CLIENT_DEFAULTS.reconnect, ...opts.reconnect }
    if (!(reconnect.initialDelayMs >= 0) || !(reconnect.maxDelayMs >= reconnect.initialDelayMs)) {
      throw new TypeError('reconnect delays must satisfy 0 <= initialDelayMs <= maxDelayMs')
    }
    if (!(reconnect.factor >= 1)) throw new TypeError('reconnect.factor must be at least 1')
    if (!(reconnect.jitter >= 0 && reconnect.jitter <= 1)) throw new TypeError('reconnect.jitter must be from 0 to 1')
    if (!(reconnect.maxAttempts >= 1)) throw new TypeError('reconnect.maxAttempts must be at least 1')
  }
  return {
    url,
    host,
    port,
    tls: opts.tls === undefined || opts.tls === false ? false : opts.tls === true ? {} : opts.tls,
    user: opts.user ?? null,
    password: opts.password ?? '',
    name: opts.name ?? null,
    publishWindow: positiveInt(opts.publishWindow ?? CLIENT_DEFAULTS.publishWindow, 'publishWindow'),
    connectTimeoutMs: positiveInt(opts.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs, 'connectTimeoutMs'),
    closeTimeoutMs: positiveInt(opts.closeTimeoutMs ?? CLIENT_DEFAULTS.closeTimeoutMs, 'closeTimeoutMs'),
    maxLineBytes: positiveInt(opts.maxLineBytes ?? CLIENT_DEFAULTS.maxLineBytes, 'maxLineBytes', 64),
    maxFrameBytes: positiveInt(opts.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes, 'maxFrameBytes', 64),
    reconnect,
  }
}

/** Options of `subscribe()`: the parts of `sub` after the topic (docs/protocol.md#sub). */
export interface SubscribeOptions {
  /** This subscription's in-flight cap (`sub <topic> <n>`); default: the broker's `maxInFlight`. */
  maxInFlight?: number
  /** This subscription's ack timeout in ms (`sub <topic> <n> <ms>`); needs `maxInFlight`. Default: the broker's `ackTimeoutMs`. */
  ackTimeoutMs?: number
  /**
   * Where to start (`from=`): `'beginning'` (every retained event), `'latest'`
   * (the newest retained one, then new ones), an offset, or a time (a Date or
   * `{ time: <unix ms> }`). Default: new events only, or where a durable
   * subscription left off. A durable subscription takes it when it is created;
   * an anonymous one made again after a reconnect starts at "now" instead.
   */
  from?: StartPosition
  /**
   * The last offset of a range (`to=`): once all of it is acked the broker
   * ends the subscription and the loop ends. An anonymous range does not
   * survive a lost connection: its loop throws DISCONNECTED.
   */
  to?: number
  /** Consumer group (`group=`): the group's members share one durable queue, each event going to one of them. */
  group?: string
  /** `'none'`: at most once (`ack=none`), nothing to ack and no redelivery; `ev.ack()` is a no-op. Default `'each'`. */
  ack?: 'each' | 'none'
  /**
   * At most once only: events held for a loop that falls behind, at most;
   * past it the oldest is dropped (counted in `sub.dropped`). With acks the
   * in-flight cap bounds them instead. Default `CLIENT_DEFAULTS.maxBuffered`.
   */
  maxBuffered?: number
}
