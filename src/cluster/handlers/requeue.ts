import { BrokerError, brokerError, fail } from '../../errors'
import { originalOf } from '../../manager/handlers/requeue'
import { checkStoredEvent, type StoredEvent } from '../../store/event'
import { DLQ_SUFFIX } from '../../store/names'
import { eventParts } from '../eventText'
import { granteeOf, grantsOf } from '../grants'
import { topicPrefix } from '../keys'
import type { ClusterHandler } from './handler'
import { plural } from './handler'
import { subscriberOf } from './pub'

/** A dead letter read from Redis, with the event it goes back as. */
interface Letter {
  offset: number
  key: string
  topic: string
  priority: number
  body: string
  /** Its original id, in its topic. */
  topicId: string
}

/** How often `requeue <topic>.dlq` (the oldest) reads again when another node moved the one it read first. */
const RETRIES = 3

/**
 * `requeue <topic>.dlq [<id>|all]` in cluster mode, with the single-node
 * replies: the `deadLetters` script reads what the `dead-letters` reader
 * owes, the node rebuilds each original event as one node does (originalOf,
 * byte for byte), and the `requeue` script publishes them to their topic
 * and takes them out of the reader, in one atomic step per batch: a dead
 * letter's `deadLetter.topic` is always the topic it came from (publishers
 * cannot write that field), which shares its `.dlq` topic's hash tag. A refusal (FORBIDDEN, DUPLICATE_ID, QUEUE_FULL)
 * names the dead letter and how many went before it; those stay moved.
 */
export const requeue: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const which = fields.which as string | undefined
  if (!name.endsWith(DLQ_SUFFIX) || name.length === DLQ_SUFFIX.length) fail('BAD_TOPIC.notDeadLetter', { topic: name })
  for (let attempt = 1; ; attempt++) {
    const r = await node.store.run('acklineDeadLetters', name, [which ?? '', ctx.config.requeueMaxEvents], false)
    if (r[0] === -1) fail('UNKNOWN_TOPIC', { topic: name })
    const picked: StoredEvent[] = []
    for (let i = 1; i < r.length; i += 2) {
      const json = String(r[i + 1])
      const { id, priority } = checkStoredEvent(json)
      picked.push({ id, key: String(id), priority, offset: Number(r[i]), timestamp: 0, json })
    }
    if (picked.length === 0 && which === undefined) fail('NO_DEAD_LETTER.empty', { topic: name })
    if (picked.length === 0 && which !== 'all') fail('NO_DEAD_LETTER', { id: which!, topic: name })
    const moved = await move(picked)
    // The one asked for was moved by another node between the two scripts: the oldest is read again.
    if (moved.done === 0 && picked.length > 0 && which !== 'all') {
      if (which !== undefined) fail('NO_DEAD_LETTER', { id: which, topic: name })
      if (attempt < RETRIES) continue
      fail('NO_DEAD_LETTER.empty', { topic: name })
    }
    const left = moved.left ?? Number(r[0])
    const what = which === 'all' || which === undefined ? `${moved.done} dead letter${plural(moved.done)}` : `dead letter ${which}`
    const to = moved.done === 0 ? '' : ` to ${moved.source}`
    ctx.log.info({ topic: name, requeued: moved.done, left }, 'dead letters requeued')
    return `OK requeued ${what} from ${name}${to} (${left} left)`
  }

  /** Moves the dead letters in order, one script per run with the same target; throws at the first refusal. */
  async function move (picked: StoredEvent[]): Promise<{ done: number, left: number | null, source: string }> {
    const user = ctx.auth.userOf(session)
    let done = 0
    let left: number | null = null
    let source = ''
    let batch: Letter[] = []
    const refused = (key: string, err: BrokerError): BrokerError => {
      const before = done === 0 ? '' : `; ${done} requeued before it`
      return new BrokerError(err.code, `dead letter ${key} of ${name} not requeued: ${err.message}${before}`)
    }
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const target = batch[0].topic
      const args: Array<string | number> = [topicPrefix(target), ctx.config.maxPendingPerSubscriber]
      for (const l of batch) args.push(l.offset, l.topicId, l.priority, l.body)
      await node.ensureRegistered(target)
      const r = await node.store.run('acklineRequeue', name, args, true)
      const letters = batch
      batch = []
      done += Number(r[1])
      if (Number(r[1]) > 0) {
        source = target
        node.announce(target)
        node.announce(name) // the reader's slots are free again
      }
      if (r[0] === 1) {
        const key = letters.find(l => l.offset === Number(r[2]))!.key
        if (r[3] === 'dup') throw refused(key, brokerError('DUPLICATE_ID', { id: letters.find(l => l.offset === Number(r[2]))!.topicId, topic: target }))
        throw refused(key, brokerError('QUEUE_FULL', { subscriber: subscriberOf(String(r[4])), topic: target, max: ctx.config.maxPendingPerSubscriber }))
      }
      if (Number(r[4]) === 1) await node.store.registerTopic(target)
      left = Number(r[2])
    }
    for (const dead of picked) {
      let original
      try {
        original = originalOf(dead)
      } catch (err) {
        await flush() // as on one node, the ones before it are moved
        throw err
      }
      const topic = original.topic
      if (batch.length > 0 && batch[0].topic !== topic) await flush()
      if (batch.length === 0) {
        try {
          const grantee = granteeOf(ctx, session, topic)
          const grants = grantee === null ? undefined : await grantsOf(node, topic, grantee)
          if (user !== null && !ctx.auth.rights(user, topic, grants).pub) fail('FORBIDDEN', { user, right: 'publish to', topic })
        } catch (err) {
          if (err instanceof BrokerError) throw refused(dead.key, err)
          throw err
        }
      }
      const { body } = eventParts(original.event, ctx.clock.now())
      batch.push({ offset: dead.offset, key: dead.key, topic, priority: original.event.priority, body, topicId: String(original.event.id) })
    }
    await flush()
    return { done, left, source }
  }
}
