import type { DeliverySink, Subscription } from '../store/subscription'

/**
 * What the manager needs of a client connection. The server's Connection
 * implements it; tests may implement it without a socket.
 */
export interface Session extends DeliverySink {
  readonly id: number
  /** Durable subscriber identity set by `name`, or null for an anonymous client. */
  name: string | null
  /** The client's IP address, for logs and the failed-auth limit (absent for socket-less test sessions). */
  readonly remoteAddress?: string
  /** This session's subscriptions by topic name. */
  readonly subscriptions: Map<string, Subscription>
  /** Cluster mode: how many subscriptions the session holds (their state is in Redis, not in `subscriptions`). */
  clusterSubscriptions?: number
  /** Set by the manager while the session has a task in the worker pool. */
  scheduled: boolean
  /** Set by flow control: the session's further lines wait until a lagging subscriber catches up. */
  throttled: boolean
  /** Set (with `throttled`) while a command's reply is being prepared off the event loop's turn (replyLater.ts). */
  replyPending?: boolean
  /** Sends one reply line (no newline). */
  reply: (line: string) => void
  /**
   * The next queued command line, or undefined when none are queued. The
   * line is the text returned, or text[lineStart, lineEnd) when the session
   * sets those (a connection's line may lie in the text of a whole read).
   */
  nextLine: () => string | undefined
  readonly lineStart?: number
  readonly lineEnd?: number
  hasLines: () => boolean
  /** Called after each worker batch: a chance to resume reading and flush. */
  batchDone: () => void
  /** Closes the session once what was replied so far is flushed. */
  end: () => void
  /** True while a confirming reply waits for the journal: every later line queues behind it. */
  readonly holding: boolean
  /** Queues a line until `ticket` is durable (0: behind what is already held). */
  hold: (line: string, ticket: number) => void
  /** Sends held lines whose tickets are now durable; true when nothing is held any more. */
  releaseHeld: (durableTicket: number) => boolean
  /** Storage failed: drops held lines, sends one ERR line and closes. */
  failHeld: (cause: string) => void
}
