import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { systemClock, type Clock } from './clock'
import { BUILTIN_COMMANDS } from './commands/builtin'
import type { Command } from './commands/spec'
import type { BrokerConfig } from './config/defaults'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { silentLogger, type Logger } from './log'
import { Manager } from './manager/manager'
import { Monitoring } from './metrics/monitoring'
import type { AlertEngine } from './alerts/alerts'
import type { HttpListener } from './http/server'
import { Durability } from './persistence/durability'
import { keepsNothing, retentionFor } from './persistence/retention'
import { BrokerServer } from './server/server'
import { TlsListener } from './server/tls'
import { Store } from './store/store'
import type { ClusterNode } from './cluster/node'

/** The whole broker: store, durability (journal, batcher, logs), manager with its worker pool, TCP (and TLS) listeners. */
export class Broker {
  readonly config: BrokerConfig
  readonly store: Store
  readonly log: Logger
  durability!: Durability
  manager!: Manager
  server!: BrokerServer
  address: AddressInfo | null = null
  /** The TLS listener when `tls` is configured. */
  tls: TlsListener | null = null
  tlsAddress: AddressInfo | null = null
  /** The HTTP API and WebSocket listener unless `http` is null. */
  http: HttpListener | null = null
  httpAddress: AddressInfo | null = null
  /** Latency histograms, disk usage and queue ages: GET /metrics, the dashboard and the alerts read them. */
  readonly monitoring: Monitoring
  /** The `alerts` rules; null when there are none. */
  alerts: AlertEngine | null = null
  /** Cluster mode (`cluster` configured): this node of the cluster, its state in Redis; null on a single node. */
  cluster: ClusterNode | null = null
  private stopping: Promise<void> | null = null
  private readonly clock: Clock

  /** The commands this broker speaks (the registry's entries). */
  readonly commands: readonly Command[]

  /**
   * clock: the broker's only source of time and timers (tests pass a manual one).
   * commands: the command registry's entries (tests add their own to the built-in ones).
   */
  constructor (config: BrokerConfig, log: Logger = silentLogger, clock: Clock = systemClock, commands: readonly Command[] = BUILTIN_COMMANDS) {
    this.config = config
    this.commands = commands
    this.log = log
    this.store = new Store(clock, config.eventCacheBytes, (topic) => keepsNothing(retentionFor(topic, config.retention)))
    this.monitoring = new Monitoring(config, clock)
    this.clock = clock
  }

  /** Locks and recovers the log dir, then listens. Throws ConfigError for an unusable log dir. */
  async start (): Promise<AddressInfo> {
    if (this.config.alerts.length > 0) {
      // Loaded only when used; checks the rules, so a bad one stops start-up before the log dir is touched.
      const { AlertEngine } = await import('./alerts/alerts')
      this.alerts = new AlertEngine(this.config, this.store, this.monitoring, this.clock, this.log)
    }
    if (this.config.cluster !== null) {
      await this.startClusterNode()
    } else {
      this.durability = await Durability.open(this.config, this.store, this.log, this.monitoring.timings)
      this.manager = new Manager(this.config, this.store, this.log, this.durability, this.commands)
      this.manager.ctx.redelivery.start()
      // Recovered webhook subscribers start delivering (their back-off and 410s as they were).
      this.manager.ctx.webhooks.start()
    }
    this.server = new BrokerServer(this.config, this.manager)
    this.tls = this.config.tls === null ? null : new TlsListener(this.config.tls, this.config.host, this.server, this.log)
    try {
      this.address = await this.server.listen(this.config.port, this.config.host)
      // debug, not info: the CLI prints the same as its one human line on stdout, so a terminal shows it once.
      this.log.debug({ host: this.address.address, port: this.address.port, logDir: resolve(this.config.logDir) }, 'listening')
      if (this.tls !== null) {
        this.tlsAddress = await this.tls.listen()
        this.server.tlsPort = this.tlsAddress.port
        this.log.debug({ host: this.tlsAddress.address, port: this.tlsAddress.port }, 'listening for TLS')
      }
      if (this.config.http !== null) {
        // Loaded only when used: fastify is most of the CLI's start-up time (`ackline --help`, bench).
        const { HttpListener } = await import('./http/server')
        this.http = new HttpListener(this.config, this.config.http, this.manager, this.server, this.monitoring)
        this.httpAddress = await this.http.listen()
        this.log.debug({ host: this.httpAddress.address, port: this.httpAddress.port }, 'listening for HTTP')
      }
      this.manager.ctx.stats.start()
      this.alerts?.start()
    } catch (err) {
      this.manager.ctx.redelivery.stop()
      this.manager.ctx.webhooks.close()
      await this.http?.close()
      await this.server.close()
      await this.cluster?.stop()
      await this.durability.close()
      throw err
    }
    return this.address
  }

  /**
   * Cluster mode: no log dir; the node connects to the Redis Cluster
   * (loaded only then: `npm start` needs no Redis) and the registry's core
   * commands get their cluster handlers (src/cluster/commands.ts).
   */
  private async startClusterNode (): Promise<void> {
    const { ClusterNode } = await import('./cluster/node')
    const { clusterCommands } = await import('./cluster/commands')
    const { noDurability } = await import('./cluster/noDurability')
    const node = await ClusterNode.start(this.config, this.log, this.clock)
    this.cluster = node
    this.durability = noDurability()
    this.manager = new Manager(this.config, this.store, this.log, this.durability, clusterCommands(this.commands, node))
    this.manager.sessionHooks = node
    node.attach(this.manager.ctx)
  }

  /** Stops accepting, closes clients, writes the final batch and releases the log dir. */
  async stop (): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        this.manager.ctx.redelivery.stop()
        this.manager.ctx.webhooks.close()
        await Promise.all([this.server.close(), this.tls?.close(), this.http?.close(), this.alerts?.stop()])
        await this.cluster?.stop()
        await this.durability.close()
      })()
    }
    return this.stopping
  }
}

/** Resolves config (defaults, config/default.json, optional file, overrides) and starts a broker. */
export async function startBroker (opts: { file?: string, overrides?: ConfigOverrides, log?: Logger, clock?: Clock, commands?: readonly Command[] } = {}): Promise<Broker> {
  const broker = new Broker(resolveConfig(opts), opts.log, opts.clock, opts.commands)
  await broker.start()
  return broker
}
