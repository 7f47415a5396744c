import fastq, { type queue } from 'fastq'
import { AuthService } from '../auth/auth'
import { BUILTIN_COMMANDS } from '../commands/builtin'
import { CommandLayer } from '../commands/dispatch'
import { CommandRegistry } from '../commands/registry'
import type { Command } from '../commands/spec'
import type { BrokerConfig } from '../config/defaults'
import type { Logger } from '../log'
import type { Durability } from '../persistence/durability'
import { BrokerStats } from '../stats/stats'
import type { Store } from '../store/store'
import type { HandlerContext } from './context'
import type { Session } from './session'
import { Redelivery } from './redelivery'
import { FlowControl } from './flowControl'
import { WebhookSubscribers, type WebhookEnvironment } from './webhookSubscribers'
import { closeWildcards } from '../routing/wildcard'
import type { SessionHooks } from '../cluster/node'

/**
 * Receives each session's command lines and runs them on a fastq worker pool
 * through the command layer. A session has at most one task in the pool at a
 * time, so its commands are applied and answered in the order they were sent
 * whatever the pool's concurrency.
 */
export class Manager {
  readonly ctx: HandlerContext
  /** The command layer: `runLine` for line transports, `run` for transports with typed fields. */
  readonly commands: CommandLayer
  /** Cluster mode: the node that learns of closed and drained sessions (src/cluster/node.ts); null on a single node. */
  sessionHooks: SessionHooks | null = null
  private readonly pool: queue<Session, void>
  private readonly batchLines: number

  /** commands: the registry's entries (the built-in ones; tests add their own). webhookEnv: what tests inject into webhooks. */
  constructor (config: BrokerConfig, store: Store, log: Logger, durability: Durability, commands: readonly Command[] = BUILTIN_COMMANDS,
    webhookEnv: WebhookEnvironment = {}) {
    this.ctx = {
      config,
      store,
      log,
      durability,
      commands: new CommandRegistry(commands, config),
      names: new Map(),
      stats: new BrokerStats(store.clock),
      clock: store.clock,
      auth: new AuthService(config, store, log),
      redelivery: undefined as unknown as Redelivery,
      webhooks: undefined as unknown as WebhookSubscribers,
      resume: (s) => { if (s.hasLines()) this.schedule(s) },
      // A released publisher runs in a later turn, not inside the ack that released it: the deliveries that ack
      // freed are written first, so the subscriber works on them while the publisher's lines are applied.
      flow: new FlowControl(config.publishHoldPending, config.publishHoldMaxMs, (s) => { if (s.hasLines()) setImmediate(scheduleReleased, this, s) }, store.clock),
    }
    this.ctx.redelivery = new Redelivery(this.ctx)
    this.ctx.webhooks = new WebhookSubscribers(this.ctx, webhookEnv)
    this.commands = new CommandLayer(this.ctx)
    this.batchLines = config.workerBatchLines
    this.pool = fastq(this, this.work, config.workerConcurrency)
  }

  /** Queues a session that has lines waiting, unless it is already queued. */
  schedule (session: Session): void {
    if (session.scheduled) return
    session.scheduled = true
    this.pool.push(session, noop)
  }

  /** The session is gone: anonymous subscriptions end, named ones wait for their owner. */
  disconnect (session: Session): void {
    this.ctx.flow.forget(session)
    closeWildcards(session)
    for (const s of [...session.subscriptions.values()]) {
      const shared = s.sink !== session ? s.sink?.leave : undefined
      if (shared !== undefined) shared.call(s.sink, session) // a consumer group: this member leaves it
      else if (s.named) s.detach()
      else s.topic.unsubscribe(s, 'disconnect')
    }
    session.subscriptions.clear()
    if (session.name !== null && this.ctx.names.get(session.name) === session) this.ctx.names.delete(session.name)
    this.sessionHooks?.disconnected(session)
  }

  /** Deliveries resumed for a session whose socket drained. */
  resumeDeliveries (session: Session): void {
    for (const s of session.subscriptions.values()) s.pump()
    this.sessionHooks?.drained(session)
  }

  /** Worker: applies up to batchLines of one session's lines, then yields so other clients get a turn. */
  private work (session: Session, done: (err: Error | null) => void): void {
    let line: string | undefined
    // The lines of one batch share one reading of the wall time (their events' timestamps, deadlines).
    const clock = this.ctx.clock
    clock.batchStart?.()
    try {
      for (let i = 0; i < this.batchLines && !session.throttled && (line = session.nextLine()) !== undefined; i++) {
        this.commands.runLine(session, line, session.lineStart ?? 0, session.lineEnd ?? line.length)
      }
    } finally {
      clock.batchEnd?.()
    }
    session.scheduled = false
    session.batchDone()
    // A throttled session is rescheduled by flow control when it is released.
    if (session.hasLines() && !session.throttled) setImmediate(() => this.schedule(session))
    done(null)
  }
}

function noop (): void {}

/** A publisher flow control released: scheduled unless it was held again meanwhile (it is then rescheduled at its next release). */
function scheduleReleased (manager: Manager, session: Session): void {
  if (!session.throttled && session.hasLines()) manager.schedule(session)
}
