import { fail } from '../../errors'
import type { ClusterHandler } from './handler'

/**
 * `delete <topic>` in cluster mode: every key of the topic goes in one
 * script; every subscriber, on any node, gets `END <topic> deleted` (this
 * node's at once, the others' through the announcement).
 */
export const del: ClusterHandler = async (node, _ctx, _session, fields) => {
  const name = fields.topic as string
  const r = await node.store.run('acklineRemove', name, [], true)
  if (r[0] === -1) fail('UNKNOWN_TOPIC', { topic: name })
  await node.unregister(name)
  node.endLocal(name, 'deleted')
  node.announcer.announce('x', name)
  return `OK deleted ${name}`
}
