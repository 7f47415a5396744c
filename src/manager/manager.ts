import fastq, { type queue } from 'fastq'
import { AuthService } from '../auth/auth'
import type { BrokerConfig } from '../config/defaults'
import { BrokerError, errLine } from '../errors'
import type { Logger } from '../log'
import type { Durability } from '../persistence/durability'
import { CommandTable } from '../protocol/commandTable'
import { parseCommand, type ParsedCommand } from '../protocol/parseCommand'
import { BrokerStats } from '../stats/stats'
import type { Store } from '../store/store'
import type { HandlerContext } from './context'
import type { Session } from './session'
import { ack } from './handlers/ack'
import { nack } from './handlers/nack'
import { touch } from './handlers/touch'
import { Redelivery } from './redelivery'
import { FlowControl } from './flowControl'
import { auth, grant, revoke } from './handlers/auth'
import { help } from './handlers/help'
import { name } from './handlers/name'
import { ping } from './handlers/ping'
import { pub } from './handlers/pub'
import { quit } from './handlers/quit'
import { stats } from './handlers/stats'
import { sub } from './handlers/sub'
import { unsub } from './handlers/unsub'

/**
 * Receives each session's command lines, runs them on a fastq worker pool
 * and dispatches them to one handler per command. A session has at most one
 * task in the pool at a time, so its commands are applied and answered in
 * the order they were sent whatever the pool's concurrency.
 */
export class Manager {
  readonly ctx: HandlerContext
  private readonly pool: queue<Session, void>
  private readonly batchLines: number
  /** The `auth` usage text for AUTH_REQUIRED, built once (the command table is fixed). */
  private readonly authUsage: string

  constructor (config: BrokerConfig, store: Store, log: Logger, durability: Durability) {
    this.ctx = {
      config,
      store,
      log,
      durability,
      table: new CommandTable(config.commands),
      names: new Map(),
      stats: new BrokerStats(store.clock),
      clock: store.clock,
      auth: new AuthService(config, store, log),
      redelivery: undefined as unknown as Redelivery,
      flow: new FlowControl(config.publishHoldPending, config.publishHoldMaxMs, (s) => { if (s.hasLines()) this.schedule(s) }, store.clock),
    }
    this.ctx.redelivery = new Redelivery(this.ctx)
    this.batchLines = config.workerBatchLines
    this.authUsage = this.ctx.table.usage('auth')
    this.pool = fastq(this, this.work, config.workerConcurrency)
  }

  /** Queues a session that has lines waiting, unless it is already queued. */
  schedule (session: Session): void {
    if (session.scheduled) return
    session.scheduled = true
    this.pool.push(session, noop)
  }

  /** Applies one line for a session; exactly one reply comes out (none for a blank line). */
  execute (session: Session, line: string): void {
    let cmd: ParsedCommand | null
    try {
      cmd = parseCommand(line, this.ctx.table)
      if (cmd === null) return
      this.dispatch(cmd, session)
    } catch (err) {
      if (!(err instanceof BrokerError)) this.ctx.log.error({ err, session: session.id }, 'command failed unexpectedly')
      session.reply(errLine(err))
    }
  }

  /** The session is gone: anonymous subscriptions end, named ones wait for their owner. */
  disconnect (session: Session): void {
    this.ctx.flow.forget(session)
    for (const s of session.subscriptions.values()) {
      if (s.named) {
        s.detach()
      } else {
        s.topic.subscriptions.delete(s.key)
        s.destroy()
      }
    }
    session.subscriptions.clear()
    if (session.name !== null && this.ctx.names.get(session.name) === session) this.ctx.names.delete(session.name)
  }

  /** Deliveries resumed for a session whose socket drained. */
  resumeDeliveries (session: Session): void {
    for (const s of session.subscriptions.values()) s.pump()
  }

  private dispatch (cmd: ParsedCommand, session: Session): void {
    const ctx = this.ctx
    ctx.auth.gate(cmd.action, cmd.args, session, this.authUsage)
    switch (cmd.action) {
      case 'pub': pub(ctx, session, cmd.args); ctx.stats.published++; return
      case 'sub': return sub(ctx, session, cmd.args)
      case 'unsub': return unsub(ctx, session, cmd.args)
      case 'ack': ack(ctx, session, cmd.args); ctx.stats.acked++; return
      case 'nack': return nack(ctx, session, cmd.args)
      case 'touch': return touch(ctx, session, cmd.args)
      case 'name': return name(ctx, session, cmd.args)
      case 'help': return help(ctx, session, cmd.args)
      case 'ping': return ping(ctx, session, cmd.args)
      case 'quit': return quit(ctx, session, cmd.args)
      case 'auth': return auth(ctx, session, cmd.args)
      case 'grant': return grant(ctx, session, cmd.args)
      case 'revoke': return revoke(ctx, session, cmd.args)
      case 'stats': return stats(ctx, session, cmd.args)
    }
  }

  /** Worker: applies up to batchLines of one session's lines, then yields so other clients get a turn. */
  private work (session: Session, done: (err: Error | null) => void): void {
    let line: string | undefined
    for (let i = 0; i < this.batchLines && !session.throttled && (line = session.nextLine()) !== undefined; i++) {
      this.execute(session, line)
    }
    session.scheduled = false
    session.batchDone()
    // A throttled session is rescheduled by flow control when it is released.
    if (session.hasLines() && !session.throttled) setImmediate(() => this.schedule(session))
    done(null)
  }
}

function noop (): void {}
