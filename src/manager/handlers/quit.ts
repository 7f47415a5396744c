import { defineCommand } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/** `quit`: says goodbye and closes once the reply is flushed. */
export const quit = defineCommand({ name: 'quit', words: ['quit'], args: [], access: 'open', ignoreExtra: true, handler })

function handler (_ctx: HandlerContext, session: Session): void {
  session.reply('OK bye')
  session.end()
}
