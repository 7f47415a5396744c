import { fail } from '../../errors'
import { DEFAULT_PAGE_EVENTS } from '../../manager/handlers/events'
import type { ClusterHandler } from './handler'

/**
 * `events <topic> [from=<offset>] [limit=<n>]` in cluster mode: the same
 * read-only page of retained events as on one node
 * (`OK {"topic","from","next","lastOffset","events":[…]}`), read from Redis
 * by one script, at most `limit` events and about maxLineBytes bytes.
 */
export const events: ClusterHandler = async (node, ctx, _session, fields) => {
  const name = fields.topic as string
  const limit = (fields.limit as number | undefined) ?? Math.min(DEFAULT_PAGE_EVENTS, ctx.config.maxPageEvents)
  const from = fields.from as number | undefined
  const r = await node.store.run('acklinePage', name, [from ?? '', limit, ctx.config.maxLineBytes], false)
  if (r[0] === -1) fail('UNKNOWN_TOPIC', { topic: name })
  const texts = r.slice(3).map(String)
  return `OK {"topic":${JSON.stringify(name)},"from":${Number(r[0])},"next":${Number(r[1])},"lastOffset":${Number(r[2])},"events":[${texts.join(',')}]}`
}
