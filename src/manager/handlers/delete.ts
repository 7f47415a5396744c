import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.topic()] as const

/**
 * `delete <topic>`: deletes a topic and its files. Every subscriber, named
 * ones included (durably), gets `END <topic> deleted` and loses the
 * subscription; a later pub makes a new topic from offset 1. Follows the
 * publish ACL. Confirmed once its X record is journaled.
 */
export const del = defineCommand({ name: 'delete', words: ['delete'], args, access: 'topic-publish', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name }: FieldsOf<typeof args>): void {
  const topic = ctx.store.deleteTopic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  ctx.flow.progressed(topic) // publishers held for its subscribers go on
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: ctx.auth.userOf(session), topic: name }, 'topic deleted')
  ctx.durability.reply(session, `OK deleted ${name}`, ctx.durability.pendingTicket())
}
