import { fail } from '../../errors'
import { splitToken } from '../../protocol/parseCommand'
import { checkTopicName } from '../../store/names'
import { topicSnapshot } from '../../stats/stats'
import type { Handler } from '../context'

/** `stats [topic]`: one line `OK {json}`, broker-wide or for one topic's subscribers. */
export const stats: Handler = (ctx, session, args) => {
  const [name, extra] = splitToken(args)
  if (extra !== '') fail('BAD_ARGS.unexpected', { extra, usage: ctx.table.usage('stats') })
  if (name === '') {
    session.reply('OK ' + JSON.stringify(ctx.stats.snapshot(ctx.store, ctx.clock.now())))
    return
  }
  checkTopicName(name)
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  session.reply('OK ' + JSON.stringify(topicSnapshot(topic)))
}
