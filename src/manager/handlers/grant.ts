import { addGrant, grantWord } from '../../auth/acl'
import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import { checkTopicLimit } from '../limits'
import type { Session } from '../session'

/** The arguments of `grant` and `revoke`; the gate has checked that the user owns the topic (access `owner`). */
export const grantArgs = [arg.topic(), arg.userName(), arg.optional(arg.choice('rights', 'rights', ['pub', 'sub', 'both']))] as const

/** The granting user, who may not grant to or revoke from themselves. */
export function grantingUser (ctx: HandlerContext, session: Session, topic: string, user: string): string {
  const owner = ctx.auth.userOf(session)!
  if (user === owner) fail('BAD_ARGS.ownTopic', { topic })
  return owner
}

/** What a user may now do, for the reply: `pub,sub`, `pub`, `sub` or `none`. */
export function rightsText (r: { pub: boolean, sub: boolean } | undefined): string {
  const word = grantWord(r)
  return word === 'both' ? 'pub,sub' : word
}

/**
 * `grant <topic> <user> [pub|sub|both]`: the owner of a private topic shares
 * it. A grant on a topic that does not exist yet creates it (the grant is
 * stored with the topic), within `maxTopics`. Confirmed once journaled.
 */
export const grant = defineCommand({ name: 'grant', words: ['grant'], args: grantArgs, access: 'owner', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, user, rights }: FieldsOf<typeof grantArgs>): void {
  const owner = grantingUser(ctx, session, name, user)
  const kind = rights ?? 'both'
  checkTopicLimit(ctx, session, name)
  const topic = ctx.store.ensureTopic(name)
  const now = addGrant(topic.grants, user, kind)
  const ticket = ctx.durability.granted(topic, user)
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind }, 'granted')
  ctx.durability.reply(session, `OK ${user} may now ${rightsText(now)} on ${name}`, ticket)
}
