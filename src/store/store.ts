import { Topic } from './topic'

/** The shared store: every topic, its subscriptions and their queues. Knows nothing of sockets or files. */
export class Store {
  readonly topics = new Map<string, Topic>()

  topic (name: string): Topic | undefined {
    return this.topics.get(name)
  }

  ensureTopic (name: string): Topic {
    let t = this.topics.get(name)
    if (t === undefined) {
      t = new Topic(name)
      this.topics.set(name, t)
    }
    return t
  }

  /** Totals for tests and `stats`. */
  counts (): { topics: number, subscriptions: number, pending: number, inFlight: number } {
    let subscriptions = 0
    let pending = 0
    let inFlight = 0
    for (const t of this.topics.values()) {
      for (const s of t.subscriptions.values()) {
        subscriptions++
        pending += s.pending
        inFlight += s.inFlight.size
      }
    }
    return { topics: this.topics.size, subscriptions, pending, inFlight }
  }
}
