import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import { topicSnapshot } from '../../stats/stats'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.optional(arg.topic())] as const

/** `stats [topic]`: one line `OK {json}`, broker-wide or for one topic's subscribers. */
export const stats = defineCommand({ name: 'stats', words: ['stats'], args, access: 'topic-read', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name }: FieldsOf<typeof args>): void {
  if (name === undefined) {
    session.reply('OK ' + JSON.stringify(ctx.stats.snapshot(ctx.store, ctx.clock.now())))
    return
  }
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  session.reply('OK ' + JSON.stringify(topicSnapshot(topic)))
}
