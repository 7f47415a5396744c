import { AcklineError } from './errors'
import type { AcklineEvent } from './event'
import type { Subscribed, SubscriptionEnd } from './replies'

/** What the broker said to the `sub`. */
export type SubscribeInfo = Subscribed

interface Waiter {
  resolve (r: IteratorResult<AcklineEvent>): void
  reject (err: AcklineError): void
}

/**
 * A subscription as an async iterator of events. The client sends `sub` at
 * once; events wait here until the loop asks for them (at most the in-flight
 * cap of them, since the broker sends no more until some are acked).
 *
 * Leaving a `for await` loop early (`break`, `return`, or an exception out of
 * its body) unsubscribes: for a named client that ends the durable
 * subscription and drops what it held. `client.close()` instead ends the loop
 * and keeps a named subscription for the next connection.
 */
export class Subscription implements AsyncIterableIterator<AcklineEvent> {
  /** Resolves once the broker has accepted the first `sub` (rejects if it refused it). */
  readonly ready: Promise<SubscribeInfo>
  /** True once the broker has accepted `sub` at least once. */
  subscribed = false
  /** How the broker ended it (`END <topic> …`): a range done, or the topic deleted; null otherwise. */
  endedBy: SubscriptionEnd | null = null
  /** At-most-once only: events dropped, oldest first, because the loop fell `maxBuffered` behind. */
  dropped = 0
  private buffer: AcklineEvent[] = []
  private head = 0
  private waiters: Waiter[] = []
  private done = false
  private failure: AcklineError | null = null
  private resolveReady!: (info: SubscribeInfo) => void
  private rejectReady!: (err: AcklineError) => void

  /**
   * @internal Made by `client.subscribe()`. `maxBuffered`: events held for
   * the loop at most before the oldest is dropped (at-most-once; otherwise the
   * broker's in-flight cap bounds them).
   */
  constructor (readonly topic: string, private readonly onUnsubscribe: (sub: Subscription) => Promise<void>, private readonly maxBuffered = Infinity) {
    this.ready = new Promise<SubscribeInfo>((resolve, reject) => {
      this.resolveReady = resolve
      this.rejectReady = reject
    })
    this.ready.catch(() => {}) // rejection is reported through the iterator too; awaiting ready is optional
  }

  [Symbol.asyncIterator] (): this {
    return this
  }

  /** The next event; waits for one. Done once the subscription ended; throws if the broker refused it. */
  next (): Promise<IteratorResult<AcklineEvent>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head]
      this.buffer[this.head++] = undefined as unknown as AcklineEvent
      if (this.head === this.buffer.length) {
        this.buffer = []
        this.head = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.failure !== null) {
      const err = this.failure
      this.failure = null // thrown once; after that the iterator is simply done
      return Promise.reject(err)
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** Called when a `for await` loop is left early: unsubscribes. */
  async return (): Promise<IteratorResult<AcklineEvent>> {
    await this.unsubscribe()
    return { value: undefined, done: true }
  }

  /** Ends the subscription (`unsub`), dropping the events not yet handed out; resolves once the broker confirmed (or the connection is gone). */
  async unsubscribe (): Promise<void> {
    if (this.done) return
    this.finish(null)
    await this.onUnsubscribe(this)
  }

  /** Events received and not yet handed out. */
  get buffered (): number {
    return this.buffer.length - this.head
  }

  /** @internal An event arrived. */
  deliver (ev: AcklineEvent): void {
    if (this.done) return
    const w = this.waiters.shift()
    if (w !== undefined) {
      w.resolve({ value: ev, done: false })
      return
    }
    if (this.buffered >= this.maxBuffered) {
      this.buffer[this.head++] = undefined as unknown as AcklineEvent
      this.dropped++
      if (this.head >= 1024 && this.head * 2 >= this.buffer.length) {
        this.buffer = this.buffer.slice(this.head)
        this.head = 0
      }
    }
    this.buffer.push(ev)
  }

  /** @internal The broker accepted `sub`. */
  accepted (info: SubscribeInfo): void {
    if (!this.subscribed) {
      this.subscribed = true
      this.resolveReady(info)
    }
  }

  /** @internal The connection is gone: events not handed out are dropped (a named subscription gets them again). */
  dropBuffered (): void {
    this.buffer = []
    this.head = 0
  }

  /**
   * @internal Ends the iterator: `err` makes the next `next()` throw it, null
   * ends it quietly. Events not yet handed out are dropped, unless
   * `keepBuffered` (the broker ended it: they are handed out first).
   */
  finish (err: AcklineError | null, keepBuffered = false): void {
    if (this.done) return
    this.done = true
    if (!keepBuffered) this.dropBuffered()
    this.rejectReady(err ?? new AcklineError('CLOSED', `subscription to ${this.topic} ended before the broker accepted it`))
    const waiters = this.waiters
    this.waiters = []
    if (err !== null && waiters.length === 0) this.failure = err
    for (const w of waiters) {
      if (err === null) w.resolve({ value: undefined, done: true })
      else w.reject(err)
    }
  }

  /** @internal */
  get ended (): boolean {
    return this.done
  }
}
