import { AcklineError } from './errors'
import type { Link } from './link'
import { parsePublished } from './replies'

/** The broker's answer to one publish. */
export interface PublishResult {
  /** The event id in its text form (the publisher's, or the one the broker assigned). */
  id: string
  /** True when the broker already had this event and did not store it again (always false with today's broker). */
  duplicate: boolean
  /** Subscriptions that took the event, or null when the reply does not say. */
  subscribers: number | null
  /** Events dropped from full drop-oldest queues to make room (see `overflowDropOldest`). */
  dropped: number
}

interface QueuedPublish {
  line: string
  resolve (r: PublishResult): void
  reject (err: AcklineError): void
}

/**
 * Pipelined publishing within a window: at most `window` publishes are sent
 * and unanswered; the rest wait here, in order, and go out as replies come
 * back (or once the client is connected again). A publish that was sent when
 * the connection was lost rejects with DISCONNECTED: the broker may or may
 * not have stored it.
 */
export class Publisher {
  private queue: Array<QueuedPublish | undefined> = []
  private head = 0
  private sent = 0

  /** link: the connection to send on, or null while there is none. */
  constructor (private readonly window: number, private readonly link: () => Link | null) {}

  /** Publishes waiting for the window or for a connection. */
  get queued (): number {
    return this.queue.length - this.head
  }

  publish (line: string): Promise<PublishResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject })
      this.pump()
    })
  }

  /** Sends queued publishes while the window has room and there is a connection. */
  pump (): void {
    const link = this.link()
    if (link === null) return
    while (this.sent < this.window && this.head < this.queue.length && link.isOpen) {
      const p = this.queue[this.head]!
      this.queue[this.head++] = undefined
      this.sent++
      link.request(p.line, {
        answered: (ok, err) => {
          this.sent--
          if (err === null) p.resolve(publishResult(ok!))
          else p.reject(new AcklineError(err.code, err.message, { command: p.line }))
          this.pump()
        },
        failed: (err) => {
          this.sent--
          p.reject(new AcklineError(err.code, `${err.message}; this publish may or may not have been stored`, { command: p.line, cause: err }))
        },
      })
    }
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  /** Rejects every publish not yet sent (the client is closing or gave up). */
  rejectQueued (err: AcklineError): void {
    const queued = this.queue.slice(this.head)
    this.queue = []
    this.head = 0
    for (const p of queued) p!.reject(err)
  }
}

function publishResult (text: string): PublishResult {
  const parsed = parsePublished(text)
  if (parsed !== null) return { id: parsed.id, duplicate: false, subscribers: parsed.subscribers, dropped: parsed.dropped }
  // An OK always means published; a wording this client does not know still starts with the id.
  const sp = text.indexOf(' ')
  const id = sp === -1 ? text : text.slice(0, sp)
  // `<id> duplicate, already published to <topic>`: the broker had it already (idempotent publish), nothing new was stored.
  if (text.startsWith(' duplicate, ', sp)) return { id, duplicate: true, subscribers: 0, dropped: 0 }
  return { id, duplicate: false, subscribers: null, dropped: 0 }
}
