import * as arg from '../../commands/args'
import { digitsValue } from '../../protocol/tokens'
import * as opt from '../../commands/options'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { Topic } from '../../store/topic'
import type { HandlerContext } from '../context'
import { replyLater } from '../replyLater'
import type { Session } from '../session'

/** Events in a page when `limit=` is not given (at most maxPageEvents). */
export const DEFAULT_PAGE_EVENTS = 100

const args = [arg.topic()] as const
const options = [
  opt.offset('from', 'from'),
  opt.option('limit', 'limit', '<n>', 'an integer from 1 to maxPageEvents', 'integer', (text, config) => {
    const n = digitsValue(text, 9)
    return n >= 1 && n <= config.maxPageEvents ? n : undefined
  }),
] as const

/**
 * `events <topic> [from=<offset>] [limit=<n>]`: a page of the topic's
 * retained events, read-only (a peek or a replay that changes no
 * subscription, no ack state): `OK {"topic","from","next","lastOffset","events":[…]}`,
 * each event as its `EVENT` line carries it, in offset order, from `from`
 * (the first retained offset by default, or when `from` is older) for at
 * most `limit` events and about maxLineBytes bytes. `next` is where the next
 * page starts; the last page is the one whose `next` is past `lastOffset`.
 * Reading the segments takes I/O, so the reply comes later (replyLater.ts),
 * still in command order.
 */
export const events = defineCommand({ name: 'events', words: ['events'], args, options, access: 'topic-read', handler })

function handler (ctx: HandlerContext, session: Session, f: FieldsOf<typeof args, typeof options>): void {
  const topic = ctx.store.topic(f.topic)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: f.topic })
  const limit = f.limit ?? Math.min(DEFAULT_PAGE_EVENTS, ctx.config.maxPageEvents)
  const first = topic.firstOffset
  replyLater(ctx, session, page(topic, Math.max(f.from ?? first, first), limit, ctx.config.maxLineBytes))
}

async function page (topic: Topic, from: number, limit: number, maxBytes: number): Promise<string> {
  const last = topic.nextOffset - 1
  const parts: string[] = []
  let bytes = 0
  let at = from
  // Segments first, then what is still in memory: readEvents serves one or the other per call.
  while (parts.length < limit && at <= last && bytes < maxBytes) {
    const evs = await topic.readEvents(at, Math.min(last, at + limit - parts.length - 1), maxBytes - bytes)
    if (evs.length === 0) break
    for (const ev of evs) {
      if (parts.length >= limit || ev.offset < at) continue
      parts.push(ev.json)
      bytes += ev.json.length
      at = ev.offset + 1
    }
  }
  return `OK {"topic":${JSON.stringify(topic.name)},"from":${from},"next":${at},"lastOffset":${last},"events":[${parts.join(',')}]}`
}
