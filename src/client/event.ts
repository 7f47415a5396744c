import { AcklineError } from './errors'
import { ackLine, nackLine, touchLine } from './commands'

/** Sends an event's ack, nack or touch on the connection it came on. */
export interface Settler {
  /** Resolves true when the broker confirmed, false when the event was no longer in flight for this subscriber. */
  settle (gen: number, line: string): Promise<boolean>
}

/**
 * One delivery. `ack()`, `nack()` and `touch()` resolve `true` when the broker
 * confirmed them and `false` when the event was no longer in flight for this
 * subscriber: its ack timeout passed, it was already acked, the subscription
 * ended, or the connection it came on was lost. An event that was not acked
 * comes again to a named subscriber (with `deliveries` one higher), so false
 * means "expect it again", never "lost". They reject only for a bad argument
 * or a broker error other than these.
 *
 * On an at-most-once subscription (`ack: 'none'`) the broker forgot the event
 * once it sent it: `ack()` sends nothing and resolves true (it will not come
 * again), `nack()` and `touch()` send nothing and resolve false (nothing is in
 * flight to give back or extend).
 */
export class AcklineEvent {
  /** The topic it was delivered on. */
  readonly topic: string
  /** The event's JSON exactly as the broker sent it (the publisher's bytes, with the broker's fields). */
  readonly raw: string
  /** The parsed event: the publisher's fields plus `id`, `priority`, `timestamp`, `offset` and, on a redelivery, `deliveries`. */
  readonly data: Record<string, unknown>
  /** The event id in its text form, as `ack` takes it. */
  readonly id: string
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  readonly deliveries: number
  /** The event's place in its topic (unique, increasing), as the broker numbers it. */
  readonly offset: number

  /** @internal Built by the client from an EVENT line; throws if the JSON is not an event. */
  constructor (private readonly settler: Settler, private readonly gen: number, topic: string, raw: string, private readonly atMostOnce = false) {
    this.topic = topic
    this.raw = raw
    const data = JSON.parse(raw) as unknown
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new AcklineError('PROTOCOL', `EVENT on ${topic} is not a JSON object`)
    this.data = data as Record<string, unknown>
    const id = this.data.id
    if (typeof id === 'string') this.id = id
    else if (typeof id === 'number') this.id = String(id)
    else throw new AcklineError('PROTOCOL', `EVENT on ${topic} has no id`)
    const deliveries = this.data.deliveries
    this.deliveries = typeof deliveries === 'number' ? deliveries : 1
    const offset = this.data.offset
    if (typeof offset !== 'number') throw new AcklineError('PROTOCOL', `EVENT on ${topic} has no offset`)
    this.offset = offset
  }

  /** `ack`: done with it; the broker forgets it for this subscriber. */
  ack (): Promise<boolean> {
    if (this.atMostOnce) return Promise.resolve(true)
    return this.settler.settle(this.gen, ackLine(this.topic, this.id))
  }

  /** `nack [delayMs]`: give it back to be delivered again, at once or after `delayMs`. */
  nack (delayMs?: number): Promise<boolean> {
    return this.send(() => nackLine(this.topic, this.id, delayMs))
  }

  /** `touch [extendMs]`: restart its ack timeout (the subscription's, or `extendMs` from now). */
  touch (extendMs?: number): Promise<boolean> {
    return this.send(() => touchLine(this.topic, this.id, extendMs))
  }

  private send (build: () => string): Promise<boolean> {
    let line: string
    try {
      line = build()
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.atMostOnce) return Promise.resolve(false)
    return this.settler.settle(this.gen, line)
  }
}
