import type { AddressInfo } from 'node:net'
import type { BrokerConfig } from './config/defaults'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { Manager } from './manager/manager'
import { BrokerServer } from './server/server'
import { Store } from './store/store'
import { silentLogger, type Logger } from './log'

/** The whole broker: store, manager (with its worker pool) and TCP server, wired together. */
export class Broker {
  readonly config: BrokerConfig
  readonly store = new Store()
  readonly manager: Manager
  readonly server: BrokerServer
  address: AddressInfo | null = null

  readonly log: Logger

  constructor (config: BrokerConfig, log: Logger = silentLogger) {
    this.config = config
    this.log = log
    this.manager = new Manager(config, this.store, log)
    this.server = new BrokerServer(config, this.manager)
  }

  async start (): Promise<AddressInfo> {
    this.address = await this.server.listen(this.config.port, this.config.host)
    this.manager.ctx.stats.start()
    this.log.info({ host: this.address.address, port: this.address.port, logDir: this.config.logDir }, 'listening')
    return this.address
  }

  async stop (): Promise<void> {
    await this.server.close()
  }
}

/** Resolves config (defaults, config/default.json, optional file, overrides) and starts a broker. */
export async function startBroker (opts: { file?: string, overrides?: ConfigOverrides, log?: Logger } = {}): Promise<Broker> {
  const broker = new Broker(resolveConfig(opts), opts.log)
  await broker.start()
  return broker
}
