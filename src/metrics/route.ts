import type { HttpListener } from '../http/server'
import type { BrokerMetrics } from './metrics'
import type { Monitoring } from './monitoring'

/**
 * GET /metrics on the HTTP listener: the Prometheus text format. When
 * `auth.required`, a scraper sends HTTP Basic credentials of any configured
 * user (per-topic series never name private topics).
 */
export function registerMetrics (http: HttpListener, monitoring: Monitoring): void {
  const ctx = http.broker.ctx
  let metrics: BrokerMetrics | null = null
  http.app.get('/metrics', async (req, reply) => {
    http.identify(req)
    if (metrics === null) {
      // prom-client is loaded at the first scrape: a broker nobody scrapes starts faster.
      const { BrokerMetrics } = await import('./metrics')
      metrics ??= new BrokerMetrics({
        config: ctx.config.metrics,
        store: ctx.store,
        stats: ctx.stats,
        auth: ctx.auth,
        clock: ctx.clock,
        timings: monitoring.timings,
        disk: monitoring.disk,
        ages: monitoring.ages,
      })
    }
    const { text, contentType } = await metrics.render()
    reply.type(contentType).send(text)
  })
}
