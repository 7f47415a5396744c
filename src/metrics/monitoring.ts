import { resolve } from 'node:path'
import type { Clock } from '../clock'
import type { BrokerConfig } from '../config/defaults'
import { DiskUsage } from './diskUsage'
import { PersistenceTimings } from './histogram'
import { PendingAge } from './pendingAge'

/** What GET /metrics, the dashboard and the alerts read besides the store and the stats: shared, so each is measured once. */
export class Monitoring {
  /** Journal and batch latencies (the persistence layer observes them). */
  readonly timings = new PersistenceTimings()
  /** Log dir bytes and free bytes, measured at most once a second. */
  readonly disk: DiskUsage
  /** Oldest owed event's age per topic. */
  readonly ages = new PendingAge()

  constructor (config: BrokerConfig, clock: Clock) {
    this.disk = new DiskUsage(resolve(config.logDir), clock.now)
  }
}
