import { parseGrantKind } from '../../auth/auth'
import { USER_NAME } from '../../auth/config'
import { fail } from '../../errors'
import { splitToken } from '../../protocol/parseCommand'
import { checkTopicName } from '../../store/names'
import type { Handler, HandlerContext } from '../context'
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
  if (r === undefined || (!r.pub && !r.sub)) return 'none'
  return r.pub && r.sub ? 'pub,sub' : r.pub ? 'pub' : 'sub'
}

/** `grant <topic> <user> [pub|sub|both]`: the owner of a private topic shares it. */
export const grant: Handler = (ctx, session, args) => {
  const { topic, user, owner, kind } = parseGrantArgs(ctx, session, args, 'grant')
  ctx.auth.grants.grant(topic, user, kind)
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic, kind }, 'granted')
  session.reply(`OK ${user} may now ${rightsText(ctx.auth.grants.get(topic, user))} on ${topic}`)
}

/** `revoke <topic> <user> [pub|sub|both]`: takes rights back; a lost sub right ends the user's subscriptions. */
export const revoke: Handler = (ctx, session, args) => {
  const { topic, user, owner, kind } = parseGrantArgs(ctx, session, args, 'revoke')
  const left = ctx.auth.grants.revoke(topic, user, kind)
  let ticket = 0
  const dropped = left?.sub === true ? 0 : ctx.auth.dropSubscriptions(ctx.store, topic, user, s => { ticket = Math.max(ticket, ctx.durability.unsubscribed(s)) })
  ctx.log.info({ ip: session.remoteAddress, session: session.id, user: owner, grantee: user, topic, kind, dropped }, 'revoked')
  const ended = dropped > 0 ? ` (${dropped} subscription${dropped === 1 ? '' : 's'} ended)` : ''
  // Confirmed only once ended named subscriptions are stored as ended.
  ctx.durability.reply(session, `OK ${user} may now ${rightsText(left)} on ${topic}${ended}`, ticket)
}
