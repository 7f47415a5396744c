import { fail } from '../../errors'
import { consumerId } from '../keys'
import type { ClusterHandler } from './handler'

/**
 * `name <client-id>` in cluster mode: the name is leased in Redis for this
 * connection (renewed by the node's heartbeat), so no other connection on
 * any node may take it while it lives: NAME_IN_USE.
 */
export const name: ClusterHandler = async (node, _ctx, session, fields) => {
  const id = fields.clientId as string
  if (session.name !== null) fail('ALREADY_NAMED', { name: session.name })
  if (node.subs.countOf(session) > 0) fail('NAME_AFTER_SUB')
  const consumer = consumerId(node.id, session.id)
  if (node.names.has(id) || !await node.leases.acquire(id, consumer)) fail('NAME_IN_USE', { name: id })
  if (node.isGone(session)) {
    await node.leases.release(id, consumer)
    return 'OK'
  }
  node.names.set(id, consumer)
  session.name = id
  return `OK named ${id}`
}
