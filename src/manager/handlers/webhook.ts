import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import { generateSecret } from '../../webhooks/signature'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.topic(), arg.webhookName(), arg.webhookUrl(), arg.optional(arg.inFlight()), arg.optional(arg.maxDeliveries()), arg.optional(arg.webhookSecret())] as const

/**
 * `webhook <topic> <name> <url> [max-in-flight [max-deliveries [secret]]]`:
 * creates a webhook subscriber, a durable subscription owed every event
 * published from now on, delivered by signed HTTP POST (docs/webhooks.md).
 * The reply is `OK {json}` with the webhook's settings and its secret (given,
 * or generated): the only time the secret is shown.
 */
export const webhook = defineCommand({ name: 'webhook', words: ['webhook'], args, access: 'topic-subscribe', handler })

function handler (ctx: HandlerContext, session: Session, f: FieldsOf<typeof args>): void {
  const topic = ctx.store.topic(f.topic)
  if (topic === undefined) fail('UNKNOWN_TOPIC.sub', { topic: f.topic })
  const secret = f.secret ?? generateSecret()
  const maxInFlight = f.maxInFlight ?? ctx.config.webhooks.maxInFlight
  const user = f.topic.charCodeAt(0) === 0x7e ? ctx.auth.userOf(session) : null
  const { ticket } = ctx.webhooks.create(topic, { name: f.name, url: f.url, secret, maxInFlight, maxDeliveries: f.maxDeliveries ?? null, user })
  const created = { topic: f.topic, name: f.name, url: f.url, maxInFlight, maxDeliveries: f.maxDeliveries ?? null, secret }
  ctx.durability.reply(session, 'OK ' + JSON.stringify(created), ticket)
}
