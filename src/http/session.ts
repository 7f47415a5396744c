import { errorLine } from '../errors'
import type { Session } from '../manager/session'
import type { Subscription } from '../store/subscription'

/**
 * One HTTP request as a manager Session: the command layer's replies are
 * collected, and a confirming reply held for the journal is awaited
 * (`settled()`) before the response is sent, as a TCP client waits for its OK.
 * It never subscribes, so it takes no deliveries.
 */
export class HttpSession implements Session {
  name: string | null = null
  readonly subscriptions = new Map<string, Subscription>()
  scheduled = false
  throttled = false
  replyPending = false
  /** Reply lines in order, once released. */
  readonly lines: string[] = []
  private held: Array<[number, string]> = []
  private wake: (() => void) | null = null

  constructor (readonly id: number, readonly remoteAddress: string | undefined) {}

  reply (line: string): void {
    if (this.held.length > 0) this.held.push([0, line])
    else this.lines.push(line)
    if (this.held.length === 0 && !this.replyPending) this.wake?.()
  }

  get holding (): boolean {
    return this.held.length > 0
  }

  hold (line: string, ticket: number): void {
    this.held.push([ticket, line])
  }

  releaseHeld (durableTicket: number): boolean {
    let i = 0
    while (i < this.held.length && this.held[i][0] <= durableTicket) this.lines.push(this.held[i++][1])
    this.held = this.held.slice(i)
    if (this.held.length > 0) return false
    if (!this.replyPending) this.wake?.()
    return true
  }

  failHeld (cause: string): void {
    this.held = []
    this.lines.push(errorLine('STORAGE_FAILED', { cause }))
    this.wake?.()
  }

  /** Resolves once no reply waits for the journal or for I/O (a reply given later: replyLater.ts). */
  settled (): Promise<void> {
    if (this.held.length === 0 && !this.replyPending) return Promise.resolve()
    return new Promise(resolve => { this.wake = resolve })
  }

  canDeliver (): boolean { return false }
  stalled (): boolean { return true }
  deliver (): void {}
  nextLine (): string | undefined { return undefined }
  hasLines (): boolean { return false }
  batchDone (): void {}
  end (): void {}
}
