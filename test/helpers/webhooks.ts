import { parseEvent, sealEvent, type StoredEvent } from '../../src/store/event'
import { WEBHOOK_DEFAULTS, type WebhookConfig } from '../../src/webhooks/config'
import type { WebhookOutcomes } from '../../src/webhooks/webhook'

/** One call a webhook made on its outcome port. */
export type Outcome =
  | { call: 'acked', key: string }
  | { call: 'retryLater', key: string, delayMs: number }
  | { call: 'deadLetter', key: string, reason: string }
  | { call: 'disabled', reason: string }
  | { call: 'ready' }

/** An outcome port that records every call and lets a test wait for the next one. */
export class RecordedOutcomes implements WebhookOutcomes {
  readonly calls: Outcome[] = []
  private read = 0
  private waiter: (() => void) | null = null

  acked = (key: string): void => this.push({ call: 'acked', key })
  retryLater = (key: string, delayMs: number): void => this.push({ call: 'retryLater', key, delayMs })
  deadLetter = (key: string, reason: string): void => this.push({ call: 'deadLetter', key, reason })
  disabled = (reason: string): void => this.push({ call: 'disabled', reason })
  ready = (): void => this.push({ call: 'ready' })

  /** The next call not yet returned by next(), waiting for it if needed. */
  async next (): Promise<Outcome> {
    while (this.read >= this.calls.length) await new Promise<void>(resolve => { this.waiter = resolve })
    return this.calls[this.read++]
  }

  /** Calls not yet returned by next(). */
  unread (): Outcome[] {
    return this.calls.slice(this.read)
  }

  private push (o: Outcome): void {
    this.calls.push(o)
    const w = this.waiter
    this.waiter = null
    w?.()
  }
}

/** Webhook config for tests: loopback receivers allowed, jitter as configured. */
export function testWebhookConfig (overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { ...WEBHOOK_DEFAULTS, allowPrivateAddresses: true, ...overrides }
}

/** A stored event as `pub` would make it (sealed with the broker's timestamp). */
export function storedEvent (id: string, seq: number, body: Record<string, unknown> = { msg: id }, now = 1_700_000_000_000): StoredEvent {
  return sealEvent(parseEvent(JSON.stringify({ id, ...body })), id, seq, now)
}

/** The random draw that makes jitter a factor of exactly 1 (scheduled delays as configured). */
export const NO_JITTER = (): number => 0.5
