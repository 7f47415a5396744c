import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import { checkTopicLimit } from '../limits'
import type { Session } from '../session'

const args = [arg.topic()] as const

/**
 * `create <topic>`: creates an empty topic (TOPIC_EXISTS if it exists), so
 * `sub` works before anything is published. Follows the publish ACL.
 * Confirmed once its T record is journaled.
 */
export const create = defineCommand({ name: 'create', words: ['create'], args, access: 'topic-publish', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name }: FieldsOf<typeof args>): void {
  if (ctx.store.topic(name) !== undefined) fail('TOPIC_EXISTS', { topic: name })
  checkTopicLimit(ctx, session, name)
  ctx.store.ensureTopic(name)
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: ctx.auth.userOf(session), topic: name }, 'topic created')
  ctx.durability.reply(session, `OK created ${name}`, ctx.durability.pendingTicket())
}
