import { accessSync, constants, mkdirSync } from 'node:fs'
import type { BrokerConfig } from '../config/defaults'
import { ConfigError } from '../errors'
import { grantWord } from '../auth/acl'
import type { Logger } from '../log'
import type { Session } from '../manager/session'
import type { StoredEvent } from '../store/event'
import type { Store } from '../store/store'
import type { Delivery, Subscription } from '../store/subscription'
import type { StoreObserver, Topic } from '../store/topic'
import { EventsBatcher } from './batcher'
import { acquireLock } from './files'
import { Journal } from './journal'
import { encodePublishRecord } from './publishRecord'
import { recover, type RecoveryResult } from './recovery'

/**
 * What makes the store outlive the process. Handlers report each change
 * here; changes to named subscriptions go to the journal (records below),
 * and every changed topic is marked for the batcher.
 *
 * Journal records, one JSON array per line:
 *   ["T", topic]                         topic created
 *   ["S", topic, sub, maxInFlight, ackTimeoutMs, user?]  named subscription created or its settings
 *                                        (or, on a private topic, its user) changed
 *   ["U", topic, sub]                    named subscription ended
 *   ["P", topic, seq, event, [subs]]     event published to these named subscriptions (event text verbatim: publishRecord.ts)
 *   ["A", topic, sub, id]                acked
 *   ["D", topic, sub, id, n]             delivered for the n-th time
 *   ["G", topic, user, rights]           what a user may now do on a private topic: pub, sub, both or none
 *
 * A reply that confirms a change (`OK` to pub, ack, sub, unsub, grant,
 * revoke) is held until the journal group holding its record is stored.
 */
export class Durability implements StoreObserver {
  readonly batcher: EventsBatcher
  readonly recovery: RecoveryResult
  private readonly journal: Journal | null
  private readonly waiting = new Set<Session>()
  private readonly log: Logger
  private readonly releaseLock: () => void

  /** Locks the log dir, recovers the store from it and starts journaling. Throws ConfigError when it cannot. */
  constructor (config: BrokerConfig, store: Store, log: Logger) {
    this.log = log
    const dir = config.logDir
    try {
      mkdirSync(dir, { recursive: true })
      accessSync(dir, constants.W_OK)
    } catch (err) {
      throw new ConfigError(`log dir ${dir} is not usable: ${(err as Error).message}`)
    }
    this.releaseLock = acquireLock(dir)
    try {
      store.observer = this
      const t0 = performance.now()
      this.recovery = recover(dir, store, log, config.ackTimeoutMs)
      if (this.recovery.topics > 0 || this.recovery.problems > 0) {
        log.info({ ...this.recovery, dirty: this.recovery.dirty.size, ms: Math.round(performance.now() - t0) }, 'recovered from log dir')
      }
      this.journal = config.fsync === 'off'
        ? null
        : new Journal(dir, this.recovery.maxGen + 1, config.fsync, {
          durable: (ticket) => this.released(ticket),
          failed: (ticket, err) => this.failed(ticket, err),
        })
      this.batcher = new EventsBatcher(dir, this.journal, config.fsync !== 'off', log)
      for (const name of this.recovery.dirty) {
        const t = store.topic(name)
        if (t !== undefined) this.batcher.dirty.add(t)
      }
      this.batcher.start(config.batchIntervalMs, store.clock)
    } catch (err) {
      this.releaseLock()
      throw err
    }
  }

  // --- changes reported by handlers; each returns the ticket a confirming reply waits for (0: none) ---

  topicCreated (topic: Topic): void {
    this.batcher.dirty.add(topic)
    this.journal?.append(`["T",${JSON.stringify(topic.name)}]`)
  }

  published (topic: Topic, ev: StoredEvent): number {
    this.batcher.dirty.add(topic)
    if (this.journal === null) return 0
    let named = ''
    for (const s of topic.subscriptions.values()) {
      if (s.named) named += named === '' ? JSON.stringify(s.key) : ',' + JSON.stringify(s.key)
    }
    if (named === '') return 0 // only anonymous subscribers: nothing outlives their connections
    return this.journal.append(encodePublishRecord(topic.name, ev.seq, ev.json, named))
  }

  acked (sub: Subscription, key: string): number {
    if (!sub.named) return 0
    this.batcher.dirty.add(sub.topic)
    return this.journal?.append(`["A",${JSON.stringify(sub.topic.name)},${JSON.stringify(sub.key)},${JSON.stringify(key)}]`) ?? 0
  }

  subscribed (sub: Subscription): number {
    if (!sub.named) return 0
    this.batcher.dirty.add(sub.topic)
    const user = sub.user === null ? '' : ',' + JSON.stringify(sub.user)
    return this.journal?.append(`["S",${JSON.stringify(sub.topic.name)},${JSON.stringify(sub.key)},${sub.maxInFlight},${sub.ackTimeoutMs}${user}]`) ?? 0
  }

  /** `user`'s grant on `topic` changed (grant or revoke): records what it holds now. */
  granted (topic: Topic, user: string): number {
    this.batcher.dirty.add(topic)
    return this.journal?.append(`["G",${JSON.stringify(topic.name)},${JSON.stringify(user)},"${grantWord(topic.grants.get(user))}"]`) ?? 0
  }

  unsubscribed (sub: Subscription): number {
    if (!sub.named) return 0
    this.batcher.dirty.add(sub.topic)
    return this.journal?.append(`["U",${JSON.stringify(sub.topic.name)},${JSON.stringify(sub.key)}]`) ?? 0
  }

  delivered (sub: Subscription, d: Delivery): void {
    this.batcher.dirty.add(sub.topic)
    this.journal?.append(`["D",${JSON.stringify(sub.topic.name)},${JSON.stringify(sub.key)},${JSON.stringify(d.ev.key)},${d.deliveries}]`)
  }

  /** Sends a confirming reply once its ticket is stored; later lines to that session queue behind it. */
  reply (session: Session, line: string, ticket: number): void {
    if (ticket === 0 || (this.journal !== null && ticket <= this.journal.durableTicket && !session.holding)) {
      session.reply(line)
      return
    }
    session.hold(line, ticket)
    this.waiting.add(session)
  }

  /** Shutdown: final batch, journal closed, lock released. */
  async close (): Promise<void> {
    await this.batcher.stop()
    this.journal?.close()
    this.releaseLock()
  }

  private released (ticket: number): void {
    for (const s of this.waiting) {
      if (s.releaseHeld(ticket)) this.waiting.delete(s)
    }
  }

  private failed (ticket: number, err: Error): void {
    this.log.error({ err, ticket }, 'journal write failed: held confirmations are withdrawn and their clients disconnected')
    for (const s of this.waiting) s.failHeld((err as NodeJS.ErrnoException).code ?? err.message)
    this.waiting.clear()
  }
}
