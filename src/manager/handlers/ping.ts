import { defineCommand } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/** `ping`: `OK PONG`; words after it are ignored. */
export const ping = defineCommand({ name: 'ping', words: ['ping'], args: [], access: 'open', ignoreExtra: true, handler })

function handler (_ctx: HandlerContext, session: Session): void {
  session.reply('OK PONG')
}
