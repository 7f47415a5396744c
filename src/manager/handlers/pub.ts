import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { admitEvent, alreadyPublished, storeEvent } from '../publish'
import { checkTopicLimit } from '../limits'
import { publishedReply } from '../replyText'

const args = [arg.topic(), arg.event()] as const

/**
 * `pub <topic> <event-json>`: creates the topic if needed, fans the event out to current subscribers.
 * An id published to the topic within dedupeWindowMs (or still pending) is a duplicate: stored and delivered
 * no more, answered `OK <id> duplicate, already published to <topic>` once the first copy is stored.
 */
export const pub = defineCommand({ name: 'pub', words: ['pub', 'PUBLISH'], args, access: 'topic-publish', borrowsLine: true, handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, event: parsed }: FieldsOf<typeof args>): void {
  checkTopicLimit(ctx, session, name)
  const topic = ctx.store.ensureTopic(name)
  if (parsed.id !== undefined) {
    const key = String(parsed.id)
    if (alreadyPublished(ctx, topic, key)) {
      // The first copy's P record may still be in the journal group being filled: confirm after it.
      ctx.durability.reply(session, `OK ${key} duplicate, already published to ${name}`, ctx.durability.pendingTicket())
      return
    }
  }
  const { ev, subscribers: n, ticket, dropped } = storeEvent(ctx, topic, parsed, admitEvent(ctx, topic, parsed))
  // Reply before fan-out so a publisher subscribed to its own topic sees OK before the EVENT.
  const reply = dropped === 0
    ? publishedReply(ev.key, name, n)
    : `OK ${ev.key} published to ${name} (${n} subscriber${n === 1 ? '' : 's'}; ${dropped} lowest-priority event${dropped === 1 ? '' : 's'} dropped from full queues)`
  ctx.durability.reply(session, reply, ticket)
  topic.publish(ev, parsed.id !== undefined)
  if (topic.owingSubscriptions > 0) ctx.flow.afterPublish(session, topic) // an at-most-once subscriber holds no publisher back
  ctx.stats.published++
}
