import { fail } from '../../errors'
import { parseEvent, type ParsedEvent } from '../../store/event'
import { checkTopicName } from '../../store/names'
import { rejectControlChars, skipBlanks, tokenEnd } from '../../protocol/parseCommand'
import type { Handler } from '../context'
import { publishEvent } from '../publish'
import { checkTopicLimit } from '../limits'

/** `pub <topic> <event-json>`: creates the topic if needed, fans the event out to current subscribers. */
export const pub: Handler = (ctx, session, args) => {
  const nameEnd = tokenEnd(args, 0) // splitToken by index: no array per pub
  const name = args.slice(0, nameEnd)
  const json = args.slice(skipBlanks(args, nameEnd))
  checkTopicName(name)
  if (json === '') fail('BAD_ARGS.missingEvent', { usage: ctx.table.usage('pub') })
  let parsed: ParsedEvent
  try {
    parsed = parseEvent(json)
  } catch (err) {
    rejectControlChars(json) // JSON.parse refused a raw control character: say so (parseCommand skipped the JSON)
    throw err
  }
  checkTopicLimit(ctx, session, name)
  const topic = ctx.store.ensureTopic(name)
  // Reply before fan-out so a publisher subscribed to its own topic sees OK before the EVENT.
  publishEvent(ctx, topic, parsed, ({ ev, subscribers: n, ticket, dropped }) => {
    const note = dropped > 0 ? `; ${dropped} lowest-priority event${dropped === 1 ? '' : 's'} dropped from full queues` : ''
    ctx.durability.reply(session, `OK ${ev.key} published to ${name} (${n} subscriber${n === 1 ? '' : 's'}${note})`, ticket)
  })
  if (topic.subscriptions.size > 0) ctx.flow.afterPublish(session, topic)
}
