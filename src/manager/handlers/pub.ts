import { fail } from '../../errors'
import { parseEvent, sealEvent } from '../../store/event'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler } from '../context'
import { checkTopicLimit } from '../limits'

/** `pub <topic> <event-json>`: creates the topic if needed, fans the event out to current subscribers. */
export const pub: Handler = (ctx, session, args) => {
  const [name, json] = splitToken(args)
  checkTopicName(name)
  if (json === '') fail('BAD_ARGS', `missing event JSON; usage: ${ctx.table.usage('pub')}`)
  const parsed = parseEvent(json)
  checkTopicLimit(ctx, session, name)
  const topic = ctx.store.ensureTopic(name)
  let id = parsed.id
  if (id === undefined) {
    id = topic.assignId()
  } else if (topic.live.has(String(id))) {
    fail('DUPLICATE_ID', `event id ${String(id)} is still pending on ${name}; ids must be unique among a topic's unacked events`)
  } else {
    topic.noteId(String(id))
  }
  const ev = sealEvent(parsed, id, ++topic.seq, ctx.now())
  const ticket = ctx.durability.published(topic, ev)
  // Reply before fan-out so a publisher subscribed to its own topic sees OK before the EVENT.
  const n = topic.subscriptions.size
  ctx.durability.reply(session, `OK ${ev.key} published to ${name} (${n} subscriber${n === 1 ? '' : 's'})`, ticket)
  topic.publish(ev)
}
