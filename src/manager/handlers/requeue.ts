import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { BrokerError, fail } from '../../errors'
import { RESERVED_FIELDS, type ParsedEvent, type StoredEvent } from '../../store/event'
import { objectMembers } from '../../store/jsonText'
import { DLQ_SUFFIX } from '../../store/names'
import type { Topic } from '../../store/topic'
import type { HandlerContext } from '../context'
import { publishEvent } from '../publish'
import { DEAD_LETTER_READER } from '../redelivery'
import type { Session } from '../session'

/** `[event-id|all]`: a dead letter's id in the dead-letter topic, or `all`. */
const which = arg.optional({ ...arg.eventId('which'), label: 'event-id|all' })
const args = [arg.topic(), which] as const

/**
 * `requeue <topic>.dlq [<id>|all]`: moves dead letters back to the topic they
 * came from, as they were first published (their original id, priority and
 * fields, byte for byte), and takes them out of the dead-letter queue. Without
 * an id, the oldest dead letter goes; `all` moves up to requeueMaxEvents.
 * The dead letters are those the `dead-letters` subscription still owes.
 */
export const requeue = defineCommand({ name: 'requeue', words: ['requeue'], args, access: 'topic-publish', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, which }: FieldsOf<typeof args>): void {
  if (!name.endsWith(DLQ_SUFFIX) || name.length === DLQ_SUFFIX.length) fail('BAD_TOPIC.notDeadLetter', { topic: name })
  const dlq = ctx.store.topic(name)
  if (dlq === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  const reader = dlq.subscriptions.get(DEAD_LETTER_READER)
  const owed = reader?.owedOffsets() ?? []
  let picked: StoredEvent[]
  if (which === 'all') {
    picked = dlq.eventsAtSync(owed.slice(0, ctx.config.requeueMaxEvents))
  } else if (which === undefined) {
    picked = dlq.eventsAtSync(owed.slice(0, 1))
    if (picked.length === 0) fail('NO_DEAD_LETTER.empty', { topic: name })
  } else {
    picked = findDeadLetter(dlq, owed, which)
    if (picked.length === 0) fail('NO_DEAD_LETTER', { id: which, topic: name })
  }
  const user = ctx.auth.userOf(session)
  let done = 0
  let source = ''
  let ticket = 0
  for (const dead of picked) {
    const original = originalOf(dead)
    source = original.topic
    try {
      if (user !== null && !ctx.auth.rights(user, original.topic).pub) fail('FORBIDDEN', { user, right: 'publish to', topic: original.topic })
      const target = ctx.store.ensureTopic(original.topic)
      publishEvent(ctx, target, original.event)
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err
      const before = done === 0 ? '' : `; ${done} requeued before it`
      throw new BrokerError(err.code, `dead letter ${dead.key} of ${name} not requeued: ${err.message}${before}`)
    }
    reader!.forget(dead.offset, dead.key)
    ticket = ctx.durability.acked(reader!, dead.offset)
    done++
  }
  if (reader !== undefined && done > 0) {
    reader.pump()
    ctx.flow.progressed(dlq)
  }
  const left = owed.length - done
  const what = which === 'all' || which === undefined ? `${done} dead letter${done === 1 ? '' : 's'}` : `dead letter ${which}`
  const to = done === 0 ? '' : ` to ${source}`
  ctx.durability.reply(session, `OK requeued ${what} from ${name}${to} (${left} left)`, ticket)
  ctx.log.info({ topic: name, requeued: done, left }, 'dead letters requeued')
}

/**
 * The owed dead letter whose id (in the dead-letter topic) is `key`. The
 * dead-letter topic numbers its dead letters 1, 2, … as it numbers offsets,
 * so the offset equal to the id is tried first; otherwise every owed one is read.
 */
function findDeadLetter (dlq: Topic, owed: number[], key: string): StoredEvent[] {
  const guess = /^\d{1,15}$/.test(key) ? Number(key) : -1
  if (owed.includes(guess)) {
    const evs = dlq.eventsAtSync([guess])
    if (evs[0]?.key === key) return evs
  }
  return dlq.eventsAtSync(owed).filter(e => e.key === key).slice(0, 1)
}

/**
 * The event as first published, from its dead letter: the `deadLetter`
 * record's id and topic, the dead letter's own members byte for byte except
 * the dead-letter topic's id, `deadLetter` and the broker's fields. Cluster
 * mode's requeue rebuilds it the same way.
 */
export function originalOf (dead: StoredEvent): { topic: string, event: ParsedEvent } {
  const json = dead.json
  let info: { topic?: unknown, id?: unknown } | undefined
  let text = ''
  for (const m of objectMembers(json)) {
    if (m.name === 'deadLetter') {
      info = (JSON.parse('{' + json.slice(m.start, m.end) + '}') as { deadLetter: typeof info }).deadLetter
      continue
    }
    if (m.name === 'id' || RESERVED_FIELDS.includes(m.name)) continue
    text += ',' + json.slice(m.start, m.end)
  }
  const id = info?.id
  const topic = info?.topic
  if (typeof topic !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) fail('NO_DEAD_LETTER', { id: dead.key, topic: 'its dead-letter topic (no deadLetter record)' })
  return { topic, event: { text: `{"id":${JSON.stringify(id)}${text}}`, id, priority: dead.priority, hasPriority: true } }
}
