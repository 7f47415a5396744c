import { systemClock, type Clock, type Timer } from '../clock'
import type { Socket } from 'node:net'
import type { BrokerConfig } from '../config/defaults'
import { errorLine } from '../errors'
import type { Logger } from '../log'
import type { BrokerStats } from '../stats/stats'
import type { Connection } from './connection'

/** What a live connection needs for the idle check. */
interface Tracked {
  ip: string
  /** Last time any input arrived (or the connection opened). */
  lastInput: number
}

/**
 * Connection-level limits: maxConnections, maxConnectionsPerIp and
 * idleTimeoutMs. Keeps per-address counts and the last-input time of each
 * connection; one unref'd timer sweeps for idle connections, so the data
 * path only stores a timestamp.
 *
 * Idle means: no input for idleTimeoutMs AND no subscriptions (a subscriber
 * waiting for events is not idle) AND nothing queued in either direction
 * (input lines, replies held for the journal, unsent output; a
 * client that does not read is the drain timeout's business). Any input
 * resets the clock: `ping` keeps a connection alive.
 */
export class ConnectionLimits {
  private readonly perIp = new Map<string, number>()
  private readonly tracked = new Map<Connection, Tracked>()
  private timer: Timer | null = null

  constructor (
    private readonly config: BrokerConfig,
    private readonly stats: BrokerStats,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  private now (): number {
    return this.clock.now()
  }

  /** The ERR line refusing a new socket, or null when it may connect. Counts and logs refusals. */
  refusal (socket: Socket, open: number): string | null {
    const ip = addressOf(socket)
    if (open >= this.config.maxConnections) {
      this.stats.limitHits.maxConnections++
      this.log.warn({ limit: 'maxConnections', max: this.config.maxConnections, ip }, 'limit hit: connection refused')
      return errorLine('TOO_MANY_CONNECTIONS', { max: this.config.maxConnections })
    }
    const fromIp = this.perIp.get(ip) ?? 0
    if (fromIp >= this.config.maxConnectionsPerIp) {
      this.stats.limitHits.maxConnectionsPerIp++
      this.log.warn({ limit: 'maxConnectionsPerIp', max: this.config.maxConnectionsPerIp, ip }, 'limit hit: connection refused')
      return errorLine('TOO_MANY_CONNECTIONS_PER_IP', { ip, max: this.config.maxConnectionsPerIp })
    }
    return null
  }

  /** A connection was accepted: count it and watch its input. */
  opened (conn: Connection): void {
    const ip = addressOf(conn.socket)
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    const t: Tracked = { ip, lastInput: this.now() }
    this.tracked.set(conn, t)
    conn.socket.on('data', () => { t.lastInput = this.now() })
    this.stats.connections++
    this.stats.accepted++
    this.log.debug({ session: conn.id, ip, connections: this.stats.connections }, 'connection opened')
    if (this.timer === null) {
      const every = Math.min(Math.max(Math.floor(this.config.idleTimeoutMs / 4), 10), 5000)
      this.timer = this.clock.every(every, () => this.sweep())
    }
  }

  /** A connection closed (any reason). */
  closed (conn: Connection): void {
    const t = this.tracked.get(conn)
    if (t === undefined) return
    this.tracked.delete(conn)
    const n = (this.perIp.get(t.ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(t.ip)
    else this.perIp.set(t.ip, n)
    this.stats.connections--
    this.log.debug({ session: conn.id, ip: t.ip, connections: this.stats.connections }, 'connection closed')
  }

  /** Last input time of a connection (for tests and inspection). */
  lastInput (conn: Connection): number | undefined {
    return this.tracked.get(conn)?.lastInput
  }

  /** Closes every idle connection as of `at`; returns how many. Exposed so tests need no real waiting. */
  sweep (at: number = this.now()): number {
    const limit = this.config.idleTimeoutMs
    let n = 0
    for (const [conn, t] of this.tracked) {
      if (at - t.lastInput < limit) continue
      if (conn.socket.writableEnded) {
        // The session already ended (quit, or closed earlier) but the client never closed its side.
        conn.socket.destroy()
        continue
      }
      if (conn.subscriptions.size > 0 || conn.clusterSubscriptions > 0 || conn.hasLines() || conn.scheduled || conn.holding || conn.outboundBytes > 0) continue
      n++
      this.stats.limitHits.idleTimeoutMs++
      this.log.warn({ limit: 'idleTimeoutMs', max: limit, session: conn.id, ip: t.ip }, 'limit hit: idle connection closed')
      conn.reply(errorLine('IDLE_TIMEOUT', { ms: limit }))
      conn.end()
    }
    return n
  }

  stop (): void {
    this.timer?.cancel()
    this.timer = null
  }
}

function addressOf (socket: Socket): string {
  return socket.remoteAddress ?? 'unknown'
}
