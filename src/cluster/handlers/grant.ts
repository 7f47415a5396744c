import { grantFromWord } from '../../auth/acl'
import { grantingUser, rightsText } from '../../manager/handlers/grant'
import type { ClusterHandler } from './handler'

/**
 * `grant <topic> <user> [pub|sub|both]` in cluster mode: the grant script
 * adds the rights to the topic's grants in Redis (creating the topic, within
 * maxTopics counted over the cluster). The gate has checked the owner.
 * Replies as on one node.
 */
export const grant: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const user = fields.user as string
  const owner = grantingUser(ctx, session, name, user)
  const kind = (fields.rights as string | undefined) ?? 'both'
  await node.ensureRegistered(name, true)
  const r = await node.store.run('acklineGrant', name, [user, kind], true)
  if (Number(r[1]) === 1) await node.store.registerTopic(name) // created here: registered again, in case it was deleted elsewhere since
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind }, 'granted')
  return `OK ${user} may now ${rightsText(grantFromWord(r[0]))} on ${name}`
}
