import type { ServerResponse } from 'node:http'
import type { Clock, Timer } from '../clock'
import type { Logger } from '../log'
import type { DashboardData, TopicRow } from './snapshot'

/** One open dashboard: its response stream, its user, and the topic page it shows (if any). */
interface LiveClient {
  res: ServerResponse
  user: string | null
  topic: string | null
  /** The socket did not take the last frame: frames are skipped until it drains (a slow tab never piles up memory). */
  blocked: boolean
}

/**
 * The dashboard's live updates: Server-Sent Events, one `data:` frame per
 * tick with the overview, the topics the user may see and the topic page's
 * figures. One timer for every open dashboard, running only while one is
 * open; each tick builds the overview once and the topics list once per user.
 */
export class LiveFeed {
  private readonly clients = new Set<LiveClient>()
  private timer: Timer | null = null
  private busy = false

  constructor (private readonly data: DashboardData, private readonly clock: Clock, private readonly intervalMs: number, private readonly log: Logger) {}

  /** Open dashboards (tests, benchmarks). */
  get size (): number {
    return this.clients.size
  }

  /** Streams to `res` until it closes; the first frame goes out at once. */
  add (res: ServerResponse, user: string | null, topic: string | null): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`retry: ${this.intervalMs}\n\n`)
    const client: LiveClient = { res, user, topic, blocked: false }
    this.clients.add(client)
    res.on('close', () => {
      this.clients.delete(client)
      if (this.clients.size === 0) this.stop()
    })
    res.on('drain', () => { client.blocked = false })
    if (this.timer === null) this.timer = this.clock.every(this.intervalMs, () => { void this.tick() })
    this.send([client]).catch(err => this.log.error({ err }, 'dashboard live update failed'))
  }

  stop (): void {
    this.timer?.cancel()
    this.timer = null
  }

  /** Ends every stream (the listener is closing). */
  close (): void {
    this.stop()
    for (const c of this.clients) c.res.end()
    this.clients.clear()
  }

  private async tick (): Promise<void> {
    if (this.busy) return // the last tick is still reading the disk: skip this one
    this.busy = true
    try {
      await this.send([...this.clients])
    } catch (err) {
      this.log.error({ err }, 'dashboard live update failed')
    } finally {
      this.busy = false
    }
  }

  private async send (clients: LiveClient[]): Promise<void> {
    const overview = await this.data.overview()
    const topicsByUser = new Map<string | null, TopicRow[]>()
    // Tabs of one user on one page get the same frame: built and serialized once per tick.
    const frames = new Map<string, string>()
    for (const c of clients) {
      if (c.blocked || c.res.destroyed) continue
      const key = `${c.user ?? ''}\u0000${c.topic ?? ''}`
      let frame = frames.get(key)
      if (frame === undefined) {
        let topics = topicsByUser.get(c.user)
        if (topics === undefined) topicsByUser.set(c.user, (topics = await this.data.topics(c.user)))
        const topic = c.topic === null ? null : await this.data.topic(c.user, c.topic)
        frame = `data: ${JSON.stringify({ overview, topics, topic })}\n\n`
        frames.set(key, frame)
      }
      if (!c.res.write(frame)) c.blocked = true
    }
  }
}
