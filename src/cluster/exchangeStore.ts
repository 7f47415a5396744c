import { fail } from '../errors'
import { Exchange, ExchangeTable, type ExchangeInfo, type ExchangeType } from '../routing/exchanges'
import { EXCHANGES_KEY, EXCHANGES_PREFIX } from './keys'
import type { ClusterNode } from './node'
import type { ScriptName } from './scripts'

/**
 * Exchanges in cluster mode (docs/cluster.md#exchanges): their definitions
 * and bindings live in Redis under the `{exchanges}` tag, each change one
 * script there (src/cluster/scripts/exchanges.ts). Nothing is cached: a
 * route reads the exchange's bindings each time, so a bind on one node
 * applies to the next route on any node. What is read back is put in the
 * single-node Exchange and ExchangeTable, so matching and listing are theirs.
 */

/** Runs an exchange script on the `{exchanges}` slot; `confirmed`: with WAIT, as every change. */
export async function runExchangeScript (node: ClusterNode, name: ScriptName, args: ReadonlyArray<string | number>, confirmed: boolean): Promise<Array<number | string>> {
  return await node.store.runAt(name, EXCHANGES_KEY, EXCHANGES_PREFIX, args, confirmed)
}

/** The exchange named `name` with its bindings as they are now in Redis, else UNKNOWN_EXCHANGE. */
export async function readExchange (node: ClusterNode, name: string): Promise<Exchange> {
  const r = await runExchangeScript(node, 'acklineExchangeRead', [name], false)
  if (r.length === 0) fail('UNKNOWN_EXCHANGE', { name })
  const x = new Exchange(name, String(r[0]) as ExchangeType)
  for (let i = 1; i < r.length; i++) bindMember(x, String(r[i]))
  return x
}

/** Every exchange with its bindings, sorted by name (one snapshot of the `{exchanges}` slot). */
export async function listExchanges (node: ClusterNode): Promise<ExchangeInfo[]> {
  const r = await runExchangeScript(node, 'acklineExchangeList', [], false)
  const table = new ExchangeTable()
  let i = 0
  while (i < r.length) {
    const x = table.declare(String(r[i]), String(r[i + 1]) as ExchangeType)
    const n = Number(r[i + 2])
    i += 3
    for (const end = i + n; i < end; i++) bindMember(x, String(r[i]))
  }
  return table.list()
}

/** A binding as stored: `<topic> <key>` (topic names hold no blank; key '' for a fanout binding given none). */
function bindMember (x: Exchange, member: string): void {
  const blank = member.indexOf(' ')
  x.bind(member.slice(0, blank), member.slice(blank + 1))
}
