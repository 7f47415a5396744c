import type { AddressInfo } from 'node:net'
import type { BrokerConfig } from './config/defaults'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { silentLogger, type Logger } from './log'
import { Manager } from './manager/manager'
import { Durability } from './persistence/durability'
import { BrokerServer } from './server/server'
import { Store } from './store/store'

/** The whole broker: store, durability (journal, batcher, logs), manager with its worker pool, TCP server. */
export class Broker {
  readonly config: BrokerConfig
  readonly store = new Store()
  readonly log: Logger
  durability!: Durability
  manager!: Manager
  server!: BrokerServer
  address: AddressInfo | null = null

  constructor (config: BrokerConfig, log: Logger = silentLogger) {
    this.config = config
    this.log = log
  }

  /** Locks and recovers the log dir, then listens. Throws ConfigError for an unusable log dir. */
  async start (): Promise<AddressInfo> {
    this.durability = new Durability(this.config, this.store, this.log)
    this.manager = new Manager(this.config, this.store, this.log, this.durability)
    this.server = new BrokerServer(this.config, this.manager)
    try {
      this.address = await this.server.listen(this.config.port, this.config.host)
      this.manager.ctx.stats.start()
    } catch (err) {
      await this.durability.close()
      throw err
    }
    this.log.info({ host: this.address.address, port: this.address.port, logDir: this.config.logDir }, 'listening')
    return this.address
  }

  /** Stops accepting, closes clients, writes the final batch and releases the log dir. */
  async stop (): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        await this.server.close()
        await this.durability.close()
      })()
    }
    return this.stopping
  }

  private stopping: Promise<void> | null = null
}

/** Resolves config (defaults, config/default.json, optional file, overrides) and starts a broker. */
export async function startBroker (opts: { file?: string, overrides?: ConfigOverrides, log?: Logger } = {}): Promise<Broker> {
  const broker = new Broker(resolveConfig(opts), opts.log)
  await broker.start()
  return broker
}
