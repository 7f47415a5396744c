import type { Handler } from '../context'

export const ping: Handler = (_ctx, session) => {
  session.reply('OK PONG')
}
