import { addGrant, grantWord, removeGrant } from '../../auth/acl'
import { parseGrantKind } from '../../auth/auth'
import { USER_NAME } from '../../auth/config'
import { fail } from '../../errors'
import { splitToken } from '../../protocol/parseCommand'
import { checkTopicName } from '../../store/names'
import type { Handler, HandlerContext } from '../context'
import { checkTopicLimit } from '../limits'
import type { Session } from '../session'

/** `auth <user> <password>`: the password is the rest of the line (inner spaces kept). */
export const auth: Handler = (ctx, session, args) => {
  const [user, password] = splitToken(args)
  if (user === '' || password === '') fail('BAD_ARGS', { usage: ctx.table.usage('auth') })
  const who = ctx.auth.login(session, user, password, ctx.clock.now())
  session.reply(`OK authenticated as ${who}`)
}

function parseGrantArgs (ctx: HandlerContext, session: Session, args: string, action: 'grant' | 'revoke'): { topic: string, user: string, owner: string, kind: 'pub' | 'sub' | 'both' } {
  const [topic, rest] = splitToken(args)
  checkTopicName(topic)
  const [user, rest2] = splitToken(rest)
  const [kindText, extra] = splitToken(rest2)
  const kind = parseGrantKind(kindText)
  if (user === '' || kind === null || extra !== '') fail('BAD_ARGS', { usage: ctx.table.usage(action) })
  if (!USER_NAME.test(user)) fail('BAD_ARGS.badUserName', { user })
  const owner = ctx.auth.userOf(session)!
  ctx.auth.checkOwner(session, owner, topic, action)
  if (user === owner) fail('BAD_ARGS.ownTopic', { topic })
  return { topic, user, owner, kind }
}

function rightsText (r: { pub: boolean, sub: boolean } | undefined): string {
  const word = grantWord(r)
  return word === 'both' ? 'pub,sub' : word
}

/**
 * `grant <topic> <user> [pub|sub|both]`: the owner of a private topic shares
 * it. A grant on a topic that does not exist yet creates it (the grant is
 * stored with the topic), within `maxTopics`. Confirmed once journaled.
 */
export const grant: Handler = (ctx, session, args) => {
  const { topic: name, user, owner, kind } = parseGrantArgs(ctx, session, args, 'grant')
  checkTopicLimit(ctx, session, name)
  const topic = ctx.store.ensureTopic(name)
  const now = addGrant(topic.grants, user, kind)
  const ticket = ctx.durability.granted(topic, user)
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind }, 'granted')
  ctx.durability.reply(session, `OK ${user} may now ${rightsText(now)} on ${name}`, ticket)
}

/**
 * `revoke <topic> <user> [pub|sub|both]`: takes rights back; a lost sub right
 * ends the user's subscriptions. Confirmed once the changed grant and the
 * ended named subscriptions are journaled.
 */
export const revoke: Handler = (ctx, session, args) => {
  const { topic: name, user, owner, kind } = parseGrantArgs(ctx, session, args, 'revoke')
  const topic = ctx.store.topic(name) // a revoke creates nothing
  let ticket = 0
  let left
  let dropped = 0
  if (topic !== undefined) {
    const before = topic.grants.get(user)
    left = removeGrant(topic.grants, user, kind)
    if (before !== undefined) ticket = ctx.durability.granted(topic, user)
    if (left?.sub !== true) dropped = ctx.auth.dropSubscriptions(topic, user, s => { ticket = Math.max(ticket, ctx.durability.unsubscribed(s)) })
  }
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic: name, kind, dropped }, 'revoked')
  const ended = dropped > 0 ? ` (${dropped} subscription${dropped === 1 ? '' : 's'} ended)` : ''
  ctx.durability.reply(session, `OK ${user} may now ${rightsText(left)} on ${name}${ended}`, ticket)
}
