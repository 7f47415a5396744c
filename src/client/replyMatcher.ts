import type { AcklineError } from './errors'

/** One command waiting for its reply. */
export interface PendingReply {
  /** The broker answered: `ok` is the text after `OK `, or `err` is set. */
  answered (ok: string | null, err: { code: string, message: string } | null): void
  /** No reply will come (the connection ended). */
  failed (err: AcklineError): void
}

/**
 * Pairs replies with commands. The broker answers every command with exactly
 * one line, in the order the commands were sent, so the oldest command still
 * waiting owns the next reply. No I/O: the connection feeds it replies and
 * its end.
 */
export class ReplyMatcher {
  private queue: Array<PendingReply | undefined> = []
  private head = 0
  private idleWaiters: Array<() => void> = []

  /** Commands sent and not yet answered. */
  get size (): number {
    return this.queue.length - this.head
  }

  /** Registers a command just sent. */
  push (pending: PendingReply): void {
    this.queue.push(pending)
  }

  /** Hands a reply to the oldest waiting command. Returns false when no command was waiting (the broker said something unasked). */
  reply (ok: string | null, err: { code: string, message: string } | null): boolean {
    if (this.head === this.queue.length) return false
    const pending = this.queue[this.head]!
    this.queue[this.head++] = undefined
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    pending.answered(ok, err)
    if (this.size === 0) this.wakeIdle()
    return true
  }

  /** Fails every waiting command, oldest first: the connection is gone. */
  failAll (err: AcklineError): void {
    const waiting = this.queue.slice(this.head)
    this.queue = []
    this.head = 0
    for (const p of waiting) p!.failed(err)
    this.wakeIdle()
  }

  /** Calls `fn` once no command is waiting (at once when none is). */
  whenIdle (fn: () => void): void {
    if (this.size === 0) fn()
    else this.idleWaiters.push(fn)
  }

  private wakeIdle (): void {
    const waiters = this.idleWaiters
    if (waiters.length === 0) return
    this.idleWaiters = []
    for (const fn of waiters) fn()
  }
}
