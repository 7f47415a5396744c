import { ack } from '../manager/handlers/ack'
import { auth } from '../manager/handlers/auth'
import { commit } from '../manager/handlers/commit'
import { create } from '../manager/handlers/create'
import { del } from '../manager/handlers/delete'
import { events } from '../manager/handlers/events'
import { grant } from '../manager/handlers/grant'
import { help } from '../manager/handlers/help'
import { nack } from '../manager/handlers/nack'
import { name } from '../manager/handlers/name'
import { ping } from '../manager/handlers/ping'
import { pub } from '../manager/handlers/pub'
import { quit } from '../manager/handlers/quit'
import { requeue } from '../manager/handlers/requeue'
import { revoke } from '../manager/handlers/revoke'
import { stats } from '../manager/handlers/stats'
import { sub } from '../manager/handlers/sub'
import { topics } from '../manager/handlers/topics'
import { touch } from '../manager/handlers/touch'
import { unsub } from '../manager/handlers/unsub'
import { unwebhook } from '../manager/handlers/unwebhook'
import { webhook } from '../manager/handlers/webhook'
import { webhooks } from '../manager/handlers/webhooks'
import { exchange } from '../manager/handlers/exchange'
import { bind } from '../manager/handlers/bind'
import { unbind } from '../manager/handlers/unbind'
import { exchanges } from '../manager/handlers/exchanges'
import { route } from '../manager/handlers/route'

/**
 * Every command the broker speaks, in the order `help` lists them. A new
 * command is one file in src/manager/handlers/ (its words, argument spec,
 * access class and handler, through `defineCommand`) and one line here: the
 * config schema, DEFAULTS.commands, usage texts, `help` and the auth gate
 * all follow from the entry.
 */
export const BUILTIN_COMMANDS = [pub, sub, unsub, ack, nack, touch, commit, create, del, topics, name, help, ping, quit, stats, events, webhook, webhooks, unwebhook, requeue, exchange, bind, unbind, exchanges, route, auth, grant, revoke] as const

/** A built-in command's registry name: the key of the config's `commands` table. */
export type Action = typeof BUILTIN_COMMANDS[number]['name']

/** The registry names, in `help` order. */
export const COMMAND_NAMES: readonly Action[] = BUILTIN_COMMANDS.map(c => c.name)

/** Each command's default words, as the config's `commands` table holds them. */
export function defaultCommandWords (): Record<Action, string[]> {
  return Object.fromEntries(BUILTIN_COMMANDS.map(c => [c.name, [...c.words]])) as Record<Action, string[]>
}
