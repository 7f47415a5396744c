import type { Command, CommandHandler, Fields } from '../commands/spec'
import { ack } from './handlers/ack'
import { bind, unbind } from './handlers/bind'
import { commit } from './handlers/commit'
import { create } from './handlers/create'
import { del } from './handlers/delete'
import type { ClusterHandler } from './handlers/handler'
import { events } from './handlers/events'
import { exchange } from './handlers/exchange'
import { exchanges } from './handlers/exchanges'
import { grant } from './handlers/grant'
import { nack } from './handlers/nack'
import { name } from './handlers/name'
import { notInClusterHandler } from './handlers/notInCluster'
import { pub } from './handlers/pub'
import { route } from './handlers/route'
import { requeue } from './handlers/requeue'
import { revoke } from './handlers/revoke'
import { stats } from './handlers/stats'
import { sub } from './handlers/sub'
import { topics } from './handlers/topics'
import { touch } from './handlers/touch'
import { unsub } from './handlers/unsub'
import { unwebhook, webhook, webhooks } from './handlers/webhook'
import { gatedHandler } from './grants'
import type { ClusterNode } from './node'

/** The cluster handlers, by registry name (src/commands/builtin.ts). */
export const CLUSTER_HANDLERS: Readonly<Record<string, ClusterHandler>> = {
  pub, sub, unsub, ack, nack, touch, commit, name, create, delete: del, topics, stats, events, grant, revoke, requeue,
  // Exchanges (src/cluster/exchangeStore.ts).
  exchange, bind, unbind, exchanges, route,
  // Webhooks (src/cluster/webhooks.ts).
  webhook, webhooks, unwebhook,
}

/**
 * Commands that need no state beyond the connection: their single-node
 * handler serves cluster mode as it is.
 */
export const CONNECTION_COMMANDS: ReadonlySet<string> = new Set(['help', 'ping', 'quit', 'auth'])

/**
 * The command registry's entries for a cluster node: the same specs (words,
 * typed arguments, options, access class; so usage, help, the auth gate and
 * every transport are unchanged), each with its cluster handler, the
 * single-node handler for connection-only commands, or `ERR NOT_IN_CLUSTER`.
 * A cluster handler runs the auth gate itself (gatedHandler: a private
 * topic's grants are in Redis), so its entry's `topicGate` is off.
 */
export function clusterCommands (commands: readonly Command[], node: ClusterNode): Command[] {
  return commands.map(command => {
    if (CONNECTION_COMMANDS.has(command.name)) return command
    const cluster = CLUSTER_HANDLERS[command.name]
    if (cluster === undefined) return Object.freeze({ ...command, handler: notInClusterHandler(command) })
    const handler: CommandHandler<Fields> = gatedHandler(command, cluster, node)
    return Object.freeze({ ...command, handler, topicGate: false })
  })
}
