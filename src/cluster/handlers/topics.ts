import type { ClusterHandler } from './handler'

/**
 * `topics` in cluster mode: the same `OK [{"topic","firstOffset","lastOffset","retainedEvents",
 * "retainedBytes","subscribers","pending"}, …]` as on one node, from Redis, sorted by name.
 */
export const topics: ClusterHandler = async (node, ctx, session) => {
  const user = ctx.auth.userOf(session)
  const names = (await node.store.topicNames()).filter(n => n.charCodeAt(0) !== 0x7e || ctx.auth.rights(user, n).visible).sort()
  const infos = await Promise.all(names.map(async topic => ({ topic, r: await node.store.run('acklineInfo', topic, [], false) })))
  const out = []
  for (const { topic, r } of infos) {
    if (r[0] === -1) continue // deleted meanwhile
    const lastOffset = Number(r[0])
    const retainedEvents = Number(r[1])
    out.push({
      topic,
      firstOffset: lastOffset - retainedEvents + 1,
      lastOffset,
      retainedEvents,
      retainedBytes: Number(r[2]),
      subscribers: Number(r[3]),
      pending: Number(r[4]) + Number(r[5]),
    })
  }
  return 'OK ' + JSON.stringify(out)
}
