import type { WebhookConfig } from './config'

/**
 * When a failed webhook delivery is tried again. The n-th failure waits
 * `retryScheduleMs[n - 1]` (the last entry repeats for ever), scaled by a
 * random factor in [1 - retryJitter, 1 + retryJitter) so that many events
 * (or many brokers) failing together do not retry together. A `Retry-After`
 * the receiver sent with 429 or 503 replaces the schedule: it is only ever
 * lengthened by the jitter (a receiver that says "not before" is not asked
 * earlier), never made shorter than the first step (a receiver answering
 * `Retry-After: 0` is not hammered), and cut to `maxRetryAfterMs`.
 */

/** A source of uniform random numbers in [0, 1); Math.random unless a test injects one. */
export type Random = () => number

/** The delay after the n-th failure (n >= 1), with jitter. */
export function scheduledDelay (cfg: WebhookConfig, n: number, random: Random): number {
  const schedule = cfg.retryScheduleMs
  const base = schedule[Math.min(Math.max(n, 1), schedule.length) - 1]
  return Math.max(1, Math.round(base * (1 + cfg.retryJitter * (2 * random() - 1))))
}

/** The delay a `Retry-After` of `ms` asks for, with upward jitter, within [first step, maxRetryAfterMs]. */
export function retryAfterDelay (cfg: WebhookConfig, ms: number, random: Random): number {
  const floor = Math.min(cfg.retryScheduleMs[0], cfg.maxRetryAfterMs)
  const wanted = Math.max(ms, floor)
  return Math.min(cfg.maxRetryAfterMs, Math.round(wanted * (1 + cfg.retryJitter * random())))
}

/**
 * Milliseconds a `Retry-After` header value asks to wait, from `nowMs`:
 * delta-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`,
 * 0 when already past). Null when absent or not one of those forms.
 */
export function parseRetryAfter (value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null
  const text = value.trim()
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000
  // An HTTP date names a weekday and a month; anything Date.parse accepts beyond that is not one.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null
  const at = Date.parse(text)
  if (Number.isNaN(at)) return null
  return Math.max(0, at - nowMs)
}
