import type { Command } from '../../commands/spec'
import { fail } from '../../errors'

/** Refuses what cluster mode does not do yet: `ERR NOT_IN_CLUSTER <what> is not available in cluster mode yet`. */
export function notInCluster (what: string): never {
  fail('NOT_IN_CLUSTER', { command: what })
}

/** The handler of a command with no cluster handler. */
export function notInClusterHandler (command: Command): () => void {
  return () => notInCluster(command.name)
}
