import type { Durability } from '../persistence/durability'
import type { Session } from '../manager/session'

/**
 * The durability of a cluster node: none of its own. State and confirmation
 * live in Redis (a reply goes out once its script and WAIT are done), so
 * there is no log dir, no lock and no journal: several nodes may run in one
 * process or directory. What the shared code calls (replies, tickets, close)
 * answers at once; the single-node handlers that would report store changes
 * are replaced in cluster mode (src/cluster/commands.ts).
 */
export function noDurability (): Durability {
  const none = {
    reply: (session: Session, line: string) => session.reply(line),
    pendingTicket: () => 0,
    published: () => 0,
    acked: () => 0,
    subscribed: () => 0,
    unsubscribed: () => 0,
    ended: () => 0,
    close: async () => {},
  }
  return none as unknown as Durability
}
