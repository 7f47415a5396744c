import type { Command } from '../../commands/spec'
import { fail } from '../../errors'

/** Refuses what cluster mode does not do yet: `ERR NOT_IN_CLUSTER <what> is not available in cluster mode yet`. */
export function notInCluster (what: string): never {
  fail('NOT_IN_CLUSTER', { command: what })
}

/**
 * Private topics (`~owner.…`) are refused in cluster mode: their grants live
 * in a node's own store, so a cluster could not protect them.
 */
export function refusePrivate (topic: string): void {
  if (topic.charCodeAt(0) === 0x7e) notInCluster('a private topic (~owner.…)')
}

/** The handler of a command with no cluster handler. */
export function notInClusterHandler (command: Command): () => void {
  return () => notInCluster(command.name)
}
