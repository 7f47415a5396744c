import type { AddressInfo } from 'node:net'
import type { BrokerConfig } from './config/defaults'
import { resolveConfig, type ConfigOverrides } from './config/loadConfig'
import { Manager } from './manager/manager'
import { BrokerServer } from './server/server'
import { Store } from './store/store'

/** The whole broker: store, manager (with its worker pool) and TCP server, wired together. */
export class Broker {
  readonly config: BrokerConfig
  readonly store = new Store()
  readonly manager: Manager
  readonly server: BrokerServer
  address: AddressInfo | null = null

  constructor (config: BrokerConfig) {
    this.config = config
    this.manager = new Manager(config, this.store)
    this.server = new BrokerServer(config, this.manager)
  }

  async start (): Promise<AddressInfo> {
    this.address = await this.server.listen(this.config.port, this.config.host)
    return this.address
  }

  async stop (): Promise<void> {
    await this.server.close()
  }
}

/** Resolves config (defaults, config/default.json, optional file, overrides) and starts a broker. */
export async function startBroker (opts: { file?: string, overrides?: ConfigOverrides } = {}): Promise<Broker> {
  const broker = new Broker(resolveConfig(opts))
  await broker.start()
  return broker
}
