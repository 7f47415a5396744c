import { ACTIONS, type Action } from '../config/defaults'

/** Usage of each action, shown by `help` and in BAD_ARGS errors. */
export const USAGE: Record<Action, string> = {
  pub: '<topic> <event-json>',
  sub: '<topic> [max-in-flight [ack-timeout-ms]]',
  unsub: '<topic>',
  ack: '<topic> <event-id>',
  nack: '<topic> <event-id> [delay-ms]',
  touch: '<topic> <event-id> [extend-ms]',
  name: '<client-id>',
  help: '',
  ping: '',
  quit: '',
  auth: '<user> <password>',
  grant: '<topic> <user> [pub|sub|both]',
  revoke: '<topic> <user> [pub|sub|both]',
  stats: '[topic]',
}

/**
 * Maps configured command words to actions, case-insensitively. Built once
 * from config; the exact spellings are kept too so the common case needs no
 * lower-casing.
 */
export class CommandTable {
  private readonly exact = new Map<string, Action>()
  private readonly folded = new Map<string, Action>()
  private readonly words: Record<Action, string[]>

  constructor (commands: Record<Action, string[]>) {
    this.words = commands
    for (const action of ACTIONS) {
      for (const word of commands[action]) {
        this.exact.set(word, action)
        this.exact.set(word.toLowerCase(), action)
        this.exact.set(word.toUpperCase(), action)
        this.folded.set(word.toLowerCase(), action)
      }
    }
  }

  lookup (word: string): Action | undefined {
    return this.exact.get(word) ?? this.folded.get(word.toLowerCase())
  }

  /** The first configured word of an action, as a person would type it. */
  primary (action: Action): string {
    return this.words[action][0]
  }

  usage (action: Action): string {
    const u = USAGE[action]
    return u === '' ? this.primary(action) : `${this.primary(action)} ${u}`
  }

  /** One line listing the commands as configured, e.g. `pub|PUBLISH <topic> <event-json>`; only those `show` accepts. */
  helpText (show: (action: Action) => boolean = () => true): string {
    return ACTIONS.filter(show).map(a => {
      const u = USAGE[a]
      const w = this.words[a].join('|')
      return u === '' ? w : `${w} ${u}`
    }).join(', ')
  }
}
