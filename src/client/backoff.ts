import type { ReconnectOptions } from './options'

/**
 * The wait before reconnection attempt `attempt` (1 for the first):
 * exponential, capped, with a random part so that many clients cut off at
 * once do not come back at the same instant. `random` returns [0, 1).
 */
export function backoffDelay (attempt: number, opts: ReconnectOptions, random: () => number = Math.random): number {
  const base = Math.min(opts.maxDelayMs, opts.initialDelayMs * Math.pow(opts.factor, attempt - 1))
  return Math.round(base * (1 - opts.jitter * random()))
}
