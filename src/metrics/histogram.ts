/** Bucket upper bounds in seconds for latencies from 50 µs to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** One value of a metric as prom-client's Registry renders it. */
interface MetricValue {
  value: number
  labels: Record<string, string | number>
  metricName?: string
}

/**
 * A Prometheus histogram whose hot path is a few typed-array increments
 * (`observe`, no allocation, no label lookup), registered in a prom-client
 * Registry as a metric object (`get()` renders the buckets at scrape). It can
 * observe one value for several samples at once (`observe(v, n)`): a journal
 * group confirms all its records at the same moment.
 */
export class PlainHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly counts: Float64Array
  private sum = 0
  private count = 0

  constructor (readonly name: string, readonly help: string, private readonly buckets: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Float64Array(buckets.length)
  }

  /** Records `n` samples of `seconds`. */
  observe (seconds: number, n = 1): void {
    const b = this.buckets
    let i = 0
    while (i < b.length && seconds > b[i]) i++
    if (i < b.length) this.counts[i] += n
    this.sum += seconds * n
    this.count += n
  }

  /** Samples so far (tests). */
  get samples (): number {
    return this.count
  }

  reset (): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }

  /** What the Registry renders: cumulative `_bucket{le}`, `_sum`, `_count`. */
  async get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: MetricValue[] }> {
    const values: MetricValue[] = []
    let cumulative = 0
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i]
      values.push({ metricName: this.name + '_bucket', labels: { le: this.buckets[i] }, value: cumulative })
    }
    values.push({ metricName: this.name + '_bucket', labels: { le: '+Inf' }, value: this.count })
    values.push({ metricName: this.name + '_sum', labels: {}, value: this.sum })
    values.push({ metricName: this.name + '_count', labels: {}, value: this.count })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

/**
 * The latencies the persistence layer reports (the journal and the batcher
 * hold this object; they know nothing of Prometheus).
 */
export class PersistenceTimings {
  /** From a journal group's write starting to it being durable (write, plus fdatasync under `always`). */
  readonly journalCommit = new PlainHistogram('ackline_journal_commit_seconds', 'Time to write (and fdatasync under fsync always) one journal group commit.')
  /** One batch of the batcher (segments and state logs appended, journal rotated). */
  readonly batch = new PlainHistogram('ackline_batch_duration_seconds', 'Duration of one batch: events appended to segments, state logs written, journal rotated.')
  /** From a record's journal group starting to fill to the group being durable, once per record. */
  readonly publishConfirm = new PlainHistogram('ackline_publish_confirm_seconds', 'Time a journaled change (a publish to a topic with durable subscribers, an ack) waits until its confirmation may go out.')
}
