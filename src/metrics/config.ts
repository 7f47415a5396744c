/** The `metrics` config section (GET /metrics). */
export interface MetricsConfig {
  /**
   * Per-topic series (a `topic` label on the pending, in-flight, pending-bytes
   * and oldest-pending-age gauges, and per-topic published and retained figures)
   * instead of broker-wide totals. Off by default: a label per topic multiplies
   * the series a Prometheus server must keep.
   */
  perTopic: boolean
}

export const METRICS_DEFAULTS: Readonly<MetricsConfig> = Object.freeze({ perTopic: false })

export const metricsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    perTopic: { type: 'boolean' },
  },
} as const
