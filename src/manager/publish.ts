import { PatternSet } from '../auth/acl'
import { fail } from '../errors'
import { sealEvent, type ParsedEvent, type StoredEvent } from '../store/event'
import type { Topic } from '../store/topic'
import type { HandlerContext } from './context'

export interface Published {
  ev: StoredEvent
  /** Subscriptions that took the event. */
  subscribers: number
  /** Journal ticket a confirming reply waits for. */
  ticket: number
  /** Events dropped from full queues under the drop-oldest policy. */
  dropped: number
}

const dropOldestCache = new WeakMap<readonly string[], PatternSet>()

function dropsOldest (ctx: HandlerContext, topic: string): boolean {
  const patterns = ctx.config.overflowDropOldest
  if (patterns.length === 0) return false
  let set = dropOldestCache.get(patterns)
  if (set === undefined) {
    set = new PatternSet(patterns)
    dropOldestCache.set(patterns, set)
  }
  return set.matches(topic)
}

/** What admitEvent settled: the event's id, and whether full queues drop their oldest to take it. */
export interface Admission {
  id: string | number
  key: string
  dropping: boolean
}

/**
 * Idempotent publish: whether an event with this publisher-given id was
 * published to the topic less than `dedupeWindowMs` ago, or is still held by
 * some subscription. `pub` then answers `OK <id> duplicate, …` and stores nothing.
 */
export function alreadyPublished (ctx: HandlerContext, topic: Topic, key: string): boolean {
  const seen = topic.ids.get(key)
  if (seen === undefined) return false
  return ctx.clock.now() - topic.ids.stampOf(key)! < ctx.config.dedupeWindowMs || topic.holds(seen, key)
}

/**
 * The one way an event enters a topic, for `pub` (which has ruled out a
 * duplicate first: alreadyPublished, and which replies between storeEvent and
 * the fan-out, without a closure per event), `route` and dead letters:
 * admitEvent, then storeEvent, then the fan-out.
 */
export function publishEvent (ctx: HandlerContext, topic: Topic, parsed: ParsedEvent): Published {
  const result = storeEvent(ctx, topic, parsed, admitEvent(ctx, topic, parsed))
  topic.publish(result.ev, parsed.id !== undefined)
  return result
}

/**
 * Checks, before anything changes (so a refused event changes nothing),
 * that the event's id is not pending, the broker's pending-bytes limit and
 * every subscriber's queue bound. `givenId`: an id the caller assigned when
 * the event has none (route: one id for every topic it reaches).
 */
export function admitEvent (ctx: HandlerContext, topic: Topic, parsed: ParsedEvent, givenId?: string): Admission {
  let id = parsed.id
  let key: string
  if (id === undefined && givenId !== undefined) {
    id = key = givenId
  } else if (id === undefined) {
    id = topic.assignId()
    key = topic.assignedKey
  } else {
    key = String(id)
    const seen = topic.ids.get(key)
    if (seen !== undefined && topic.holds(seen, key)) fail('DUPLICATE_ID', { id: key, topic: topic.name })
  }
  const store = ctx.store
  const max = ctx.config.maxPendingPerSubscriber
  let dropping = false
  // Only subscriptions that ack are owed the event: a topic with at-most-once ones alone is not refused for the
  // bytes others hold, and their queues are bounded by their own (AtMostOnceQueue).
  if (topic.owingSubscriptions > 0) {
    if (store.pendingBytes >= ctx.config.maxPendingBytes) {
      store.refreshPendingBytes() // acks since the last count may have freed some
      if (store.pendingBytes >= ctx.config.maxPendingBytes) fail('OVERLOADED', { held: store.pendingBytes, max: ctx.config.maxPendingBytes })
    }
    for (const s of topic.subscriptions.values()) {
      if (s.atMostOnce !== null || s.pending + s.inFlight.size < max) continue // at most once (asked first: no pending count)
      if (dropsOldest(ctx, topic.name)) { dropping = true; break }
      fail('QUEUE_FULL', { subscriber: s.named ? s.key : 'anonymous', topic: topic.name, max })
    }
  }
  if (dropping) {
    // Every full queue must be able to drop before any does: a refused pub changes nothing.
    for (const s of topic.subscriptions.values()) {
      if (s.atMostOnce === null && s.pending + s.inFlight.size >= max && !s.canDropLowest()) {
        fail('QUEUE_FULL.allDelivered', { subscriber: s.named ? s.key : 'anonymous', topic: topic.name, max })
      }
    }
  }
  return { id, key, dropping }
}

/**
 * Gives an admitted event the topic's next offset (full queues drop their
 * oldest first under drop-oldest) and journals it; the caller fans it out
 * with `topic.publish(ev, parsed.id !== undefined)`.
 */
export function storeEvent (ctx: HandlerContext, topic: Topic, parsed: ParsedEvent, a: Admission): Published {
  let dropped = 0
  if (a.dropping) {
    const max = ctx.config.maxPendingPerSubscriber
    for (const s of topic.subscriptions.values()) {
      if (s.atMostOnce !== null || s.pending + s.inFlight.size < max) continue
      const gone = s.dropLowest()
      ctx.durability.acked(s, gone)
      ctx.store.counters.dropped++
      dropped++
      ctx.log.warn({ topic: topic.name, subscriber: s.key, offset: gone, priority: s.waiting.lastPriority }, 'queue full: dropped lowest-priority oldest event')
    }
  }
  const ev = sealEvent(parsed, a.id, topic.nextOffset, ctx.clock.now(), a.key)
  return { ev, subscribers: topic.subscriptions.size, ticket: ctx.durability.published(topic, ev), dropped }
}
