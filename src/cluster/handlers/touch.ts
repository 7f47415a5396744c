import { fail } from '../../errors'
import type { ClusterHandler } from './handler'
import { subscribed } from './subscribed'

/** `touch <topic> <event-id> [extend-ms]` in cluster mode: the event's ack deadline moves to now + extend-ms (Redis time). */
export const touch: ClusterHandler = async (node, _ctx, session, fields) => {
  const name = fields.topic as string
  const id = fields.id as string
  const extend = fields.extendMs as number | undefined
  const local = await subscribed(node, session, name)
  const r = await node.store.run('acklineTouch', name, [local.key, local.consumer, id, extend ?? ''], true)
  if (r[0] === -1) fail('NOT_IN_FLIGHT', { id, topic: name })
  return `OK touched ${id} on ${name} (ack due in ${Number(r[0])} ms)`
}
