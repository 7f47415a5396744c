/**
 * Failed-auth limiter per IP, sliding window: an IP with `limit` failures in
 * the last `windowMs` is limited until the oldest of them leaves the window.
 * Attempts refused while limited are not counted (the window does not keep
 * sliding forward for an IP that keeps trying). Memory is bounded by the
 * number of IPs with a failure in the window; stale IPs are swept lazily.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>()
  private lastSweep = 0

  constructor (private readonly limit: number, private readonly windowMs: number) {}

  isLimited (ip: string, now: number): boolean {
    const times = this.recent(ip, now)
    return times !== undefined && times.length >= this.limit
  }

  recordFailure (ip: string, now: number): void {
    const times = this.recent(ip, now)
    if (times === undefined) this.failures.set(ip, [now])
    else times.push(now)
    this.sweep(now)
  }

  /** IPs currently tracked (for tests). */
  get size (): number {
    return this.failures.size
  }

  private recent (ip: string, now: number): number[] | undefined {
    const times = this.failures.get(ip)
    if (times === undefined) return undefined
    const cutoff = now - this.windowMs
    let drop = 0
    while (drop < times.length && times[drop] <= cutoff) drop++
    if (drop > 0) times.splice(0, drop)
    if (times.length === 0) {
      this.failures.delete(ip)
      return undefined
    }
    return times
  }

  private sweep (now: number): void {
    if (now - this.lastSweep < this.windowMs) return
    this.lastSweep = now
    for (const ip of [...this.failures.keys()]) this.recent(ip, now)
  }
}
