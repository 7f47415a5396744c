import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.topic()] as const

/** `webhooks <topic>`: `OK [json, …]`, the topic's webhooks with their delivery state (never their secrets). */
export const webhooks = defineCommand({ name: 'webhooks', words: ['webhooks'], args, access: 'topic-read', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name }: FieldsOf<typeof args>): void {
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  session.reply('OK ' + JSON.stringify(ctx.webhooks.list(topic)))
}
