import { grantFromWord, isPrivate, privateOwner } from '../auth/acl'
import type { Command, CommandHandler, Fields } from '../commands/spec'
import { fail } from '../errors'
import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'
import { isPatternName } from '../routing/topicPattern'
import type { GrantRights, TopicGrants } from '../store/topic'
import { runClusterHandler, type ClusterHandler } from './handlers/handler'
import { grantsKey } from './keys'
import type { ClusterNode } from './node'
import type { Reply } from './redisStore'

/**
 * Private topics in cluster mode (docs/cluster.md#private-topics): their
 * grants are in Redis (keys.ts grantsKey), so the auth gate, which on one
 * node reads them from the node's store, reads them from Redis for a user
 * who is not the owner; and `pub`, `sub` and a group `sub` by such a user
 * run a script that checks the grant in the same step (scripts/grants.ts).
 */

/** The user whose grant on `topic` decides (a private topic's non-owner, logged in), else null. */
export function granteeOf (ctx: HandlerContext, session: Session, topic: string | undefined): string | null {
  if (topic === undefined || !isPrivate(topic) || isPatternName(topic)) return null
  const owner = privateOwner(topic)
  const user = ctx.auth.userOf(session)
  return owner === null || user === null || user === owner ? null : user
}

/** `user`'s grant on `topic`, as the one-entry grants map AuthService.rights reads. */
export async function grantsOf (node: ClusterNode, topic: string, user: string): Promise<ReadonlyMap<string, GrantRights>> {
  const word = await node.store.bounded('HGET', node.store.redis.hget(grantsKey(topic), user))
  const rights = word === null ? undefined : grantFromWord(word)
  return rights === undefined ? new Map() : new Map([[user, rights]])
}

/**
 * The grants the gate needs for a command that spans topics (`route`,
 * `exchanges`): for each private topic of `topics` whose owner is not the
 * session's user, that user's grant, read from Redis.
 */
export async function grantsForTopics (node: ClusterNode, ctx: HandlerContext, session: Session, topics: Iterable<string>): Promise<TopicGrants> {
  const out = new Map<string, ReadonlyMap<string, GrantRights>>()
  const reads: Array<Promise<void>> = []
  for (const topic of new Set(topics)) {
    const user = granteeOf(ctx, session, topic)
    if (user !== null) reads.push(grantsOf(node, topic, user).then(g => { out.set(topic, g) }))
  }
  await Promise.all(reads)
  return out
}

/**
 * The registry handler of a cluster command: the auth gate (which the
 * command layer skips in cluster mode: `topicGate` false), then the cluster
 * handler. The gate is the single-node one, run at once for public topics and
 * owners, and after reading the user's grant from Redis for a private topic's
 * other users.
 */
export function gatedHandler (command: Command, cluster: ClusterHandler, node: ClusterNode): CommandHandler<Fields> {
  if (!command.topicGate) return (ctx, session, fields) => runClusterHandler(cluster, node, ctx, session, fields)
  const remote: ClusterHandler = async (node, ctx, session, fields) => {
    const topic = fields.topic as string
    ctx.auth.authorize(command, topic, session, await grantsOf(node, topic, ctx.auth.userOf(session)!))
    return await cluster(node, ctx, session, fields)
  }
  return (ctx, session, fields) => {
    const topic = fields.topic as string | undefined
    if (command.access !== 'owner' && granteeOf(ctx, session, topic) !== null) return runClusterHandler(remote, node, ctx, session, fields)
    ctx.auth.authorize(command, topic, session)
    runClusterHandler(cluster, node, ctx, session, fields)
  }
}

/** The scripts that have a grant-checked variant (scripts/grants.ts). */
const CHECKED = { acklinePublish: 'acklinePublishGranted', acklineSubscribe: 'acklineSubscribeGranted', acklineJoin: 'acklineJoinGranted' } as const

/**
 * Runs `script` on `topic`, for a private topic's grantee its variant that
 * checks the grant in the same step: a grant revoked since the gate read it
 * refuses as the gate would have (UNKNOWN_TOPIC when none is left,
 * FORBIDDEN without the right).
 */
export async function runChecked (node: ClusterNode, ctx: HandlerContext, session: Session, script: keyof typeof CHECKED,
  topic: string, args: Array<string | number>, right: 'pub' | 'sub'): Promise<Reply> {
  const user = granteeOf(ctx, session, topic)
  if (user === null) return await node.store.run(script, topic, args, true)
  const r = await node.store.run(CHECKED[script], topic, [...args, user, right], true)
  if (r[0] === -3) fail(right === 'sub' ? 'UNKNOWN_TOPIC.sub' : 'UNKNOWN_TOPIC', { topic })
  if (r[0] === -4) fail('FORBIDDEN', { user, right: right === 'sub' ? 'subscribe to' : 'publish to', topic })
  return r
}
