import { grantFromWord } from '../../auth/acl'
import { grantingUser, rightsText } from '../../manager/handlers/grant'
import { plural, type ClusterHandler } from './handler'

/**
 * `revoke <topic> <user> [pub|sub|both]` in cluster mode: one script takes
 * the rights back and, when the user may no longer subscribe, ends every
 * subscription it made (on any node, named ones waiting for their client
 * too) and its group memberships (what they held goes back to the group).
 * Their nodes learn it at their next pull, announced at once, and forget the
 * subscription quietly, as on one node. Replies as on one node.
 */
export const revoke: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const user = fields.user as string
  const owner = grantingUser(ctx, session, name, user)
  const kind = (fields.rights as string | undefined) ?? 'both'
  const r = await node.store.run('acklineRevoke', name, [user, kind], true)
  const dropped = Number(r[1])
  if (dropped > 0) node.announce(name)
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind, dropped }, 'revoked')
  const ended = dropped > 0 ? ` (${dropped} subscription${plural(dropped)} ended)` : ''
  return `OK ${user} may now ${rightsText(grantFromWord(r[0]))} on ${name}${ended}`
}
