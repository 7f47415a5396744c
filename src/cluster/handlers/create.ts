import { fail } from '../../errors'
import type { ClusterHandler } from './handler'

/** `create <topic>` in cluster mode: an empty topic (TOPIC_EXISTS if it exists). */
export const create: ClusterHandler = async (node, _ctx, _session, fields) => {
  const name = fields.topic as string
  await node.ensureRegistered(name, true)
  const r = await node.store.run('acklineCreate', name, [], true)
  if (Number(r) !== 1) fail('TOPIC_EXISTS', { topic: name })
  await node.store.registerTopic(name) // also when this node thought it registered (deleted elsewhere since)
  return `OK created ${name}`
}
