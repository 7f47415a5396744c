import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.topic(), arg.webhookName()] as const

/** `unwebhook <topic> <name>`: ends a webhook subscriber for good, as `unsub` ends a subscription; its undelivered events are dropped. */
export const unwebhook = defineCommand({ name: 'unwebhook', words: ['unwebhook'], args, access: 'topic-subscribe', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, name: hook }: FieldsOf<typeof args>): void {
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  const sub = ctx.webhooks.find(topic, hook) ?? fail('UNKNOWN_WEBHOOK', { topic: name, name: hook })
  const { dropped, ticket } = ctx.webhooks.remove(sub)
  ctx.durability.reply(session, `OK deleted webhook ${hook} on ${name}${dropped > 0 ? ` (${dropped} undelivered event${dropped === 1 ? '' : 's'} dropped)` : ''}`, ticket)
}
