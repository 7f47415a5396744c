import { resolve } from 'node:path'
import type { Clock } from '../clock'
import type { BrokerConfig } from '../config/defaults'
import { DiskUsage } from './diskUsage'
import { PersistenceTimings } from './histogram'
import { PendingAge } from './pendingAge'

/** How stale the log dir's size and free space may be: one walk of the directory serves every reader for this long. */
export const DISK_MEASURE_MS = 5000

/** What GET /metrics, the dashboard and the alerts read besides the store and the stats: shared, so each is measured once. */
export class Monitoring {
  /** Journal and batch latencies (the persistence layer observes them). */
  readonly timings = new PersistenceTimings()
  /** Log dir bytes and free bytes, measured at most every DISK_MEASURE_MS (walking the log dir stats every file). */
  readonly disk: DiskUsage
  /** Oldest owed event's age per topic. */
  readonly ages = new PendingAge()

  constructor (config: BrokerConfig, clock: Clock) {
    this.disk = new DiskUsage(resolve(config.logDir), clock.now, DISK_MEASURE_MS)
  }
}
