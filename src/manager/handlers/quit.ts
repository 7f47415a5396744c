import type { Handler } from '../context'

/** `quit`: says goodbye and closes once the reply is flushed. */
export const quit: Handler = (_ctx, session) => {
  session.reply('OK bye')
  session.end()
}
