import { removeGrant } from '../../auth/acl'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { grantArgs, grantingUser, rightsText } from './grant'

/**
 * `revoke <topic> <user> [pub|sub|both]`: takes rights back; a lost sub right
 * ends the user's subscriptions. Confirmed once the changed grant and the
 * ended named subscriptions are journaled.
 */
export const revoke = defineCommand({ name: 'revoke', words: ['revoke'], args: grantArgs, access: 'owner', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, user, rights }: FieldsOf<typeof grantArgs>): void {
  const owner = grantingUser(ctx, session, name, user)
  const kind = rights ?? 'both'
  const topic = ctx.store.topic(name) // a revoke creates nothing
  let ticket = 0
  let left
  let dropped = 0
  if (topic !== undefined) {
    const before = topic.grants.get(user)
    left = removeGrant(topic.grants, user, kind)
    if (before !== undefined) ticket = ctx.durability.granted(topic, user)
    if (left?.sub !== true) dropped = ctx.auth.dropSubscriptions(topic, user, t => { ticket = Math.max(ticket, t) })
  }
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind, dropped }, 'revoked')
  const ended = dropped > 0 ? ` (${dropped} subscription${dropped === 1 ? '' : 's'} ended)` : ''
  ctx.durability.reply(session, `OK ${user} may now ${rightsText(left)} on ${name}${ended}`, ticket)
}
