import { fail } from '../../errors'
import { generateSecret } from '../../webhooks/signature'
import type { ClusterHandler } from './handler'

/**
 * `webhook <topic> <name> <url> [max-in-flight [max-deliveries [secret]]]`
 * in cluster mode: the webhook's subscription and spec in Redis, delivered
 * by one live node (src/cluster/webhooks.ts); the reply as on one node.
 */
export const webhook: ClusterHandler = async (node, ctx, session, f) => {
  const topic = f.topic as string
  const name = f.name as string
  const url = f.url as string
  const secret = (f.secret as string | undefined) ?? generateSecret()
  const maxInFlight = (f.maxInFlight as number | undefined) ?? ctx.config.webhooks.maxInFlight
  const maxDeliveries = (f.maxDeliveries as number | undefined) ?? null
  const user = topic.charCodeAt(0) === 0x7e ? ctx.auth.userOf(session) : null
  await node.webhooks.create(ctx, topic, { name, url, secret, maxInFlight, maxDeliveries, user })
  return 'OK ' + JSON.stringify({ topic, name, url, maxInFlight, maxDeliveries, secret })
}

/** `webhooks <topic>` in cluster mode: every webhook of the topic with its holder's state, on any node. */
export const webhooks: ClusterHandler = async (node, _ctx, _session, f) => {
  const topic = f.topic as string
  if (!await node.topicExists(topic)) fail('UNKNOWN_TOPIC', { topic })
  return 'OK ' + JSON.stringify(await node.webhooks.list(topic))
}

/** `unwebhook <topic> <name>` in cluster mode: ends the webhook cluster-wide; its undelivered events are dropped. */
export const unwebhook: ClusterHandler = async (node, _ctx, _session, f) => {
  const topic = f.topic as string
  const name = f.name as string
  if (!await node.topicExists(topic)) fail('UNKNOWN_TOPIC', { topic })
  const dropped = await node.webhooks.remove(topic, name) ?? fail('UNKNOWN_WEBHOOK', { topic, name })
  return `OK deleted webhook ${name} on ${topic}${dropped > 0 ? ` (${dropped} undelivered event${dropped === 1 ? '' : 's'} dropped)` : ''}`
}
