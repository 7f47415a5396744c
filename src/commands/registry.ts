import type { BrokerConfig } from '../config/defaults'
import { fail } from '../errors'
import { isBlank, rejectControlChars, skipBlanks, tokenEnd } from '../protocol/tokens'
import { compileLineParser, type LineParser } from './compile'
import type { AnyArg, Command, Fields } from './spec'

/**
 * The commands one broker speaks, with their words as configured: the
 * config's `commands.<name>` replaces a command's default words. It maps words
 * to commands case-insensitively, renders usage and `help` from the argument
 * specs, and turns arguments into typed fields, from a line's text or from a
 * transport's values. I/O-free: the dispatch (CommandLayer) gates and runs.
 */
export class CommandRegistry {
  readonly commands: readonly Command[]
  private readonly byName = new Map<string, Command>()
  /** Each configured spelling, lower and upper case: the common case needs no lower-casing. */
  private readonly exact = new Map<string, Command>()
  private readonly folded = new Map<string, Command>()
  private readonly wordsOf = new Map<Command, readonly string[]>()
  private readonly usageOf = new Map<Command, string>()
  private readonly parsers = new Map<Command, LineParser>()

  /** config: its `commands` table names the words; its limits bound the arguments (maxInFlightLimit, maxAckTimeoutMs). */
  constructor (commands: readonly Command[], private readonly config: BrokerConfig) {
    this.commands = commands
    const configured = config.commands as Readonly<Partial<Record<string, readonly string[]>>>
    for (const command of commands) {
      if (this.byName.has(command.name)) throw new Error(`two commands are named ${command.name}`)
      this.byName.set(command.name, command)
      const words = configured[command.name] ?? command.words
      this.wordsOf.set(command, words)
      this.usageOf.set(command, command.usage === '' ? words[0] : `${words[0]} ${command.usage}`)
      this.parsers.set(command, compileLineParser(command, config, {
        absent: (j: number) => this.absent(command, command.args[j]),
        unexpected: (line: string, from: number, to: number) => fail('BAD_ARGS.unexpected', { extra: line.slice(from, to), usage: this.usage(command) }),
      }))
      for (const word of words) {
        const other = this.folded.get(word.toLowerCase())
        if (other !== undefined && other !== command) throw new Error(`commands ${other.name} and ${command.name} both use the word ${word}`)
        this.exact.set(word, command)
        this.exact.set(word.toLowerCase(), command)
        this.exact.set(word.toUpperCase(), command)
        this.folded.set(word.toLowerCase(), command)
      }
    }
  }

  /** The command a word names, in any case. */
  lookup (word: string): Command | undefined {
    return this.exact.get(word) ?? this.folded.get(word.toLowerCase())
  }

  /** The command of a registry name (`pub`), whatever its configured words. */
  get (name: string): Command | undefined {
    return this.byName.get(name)
  }

  /** The configured words of a command. */
  words (command: Command): readonly string[] {
    return this.wordsOf.get(command)!
  }

  /** `ack <topic> <event-id>`: the first configured word and the arguments, for BAD_ARGS and AUTH_REQUIRED. */
  usage (command: Command): string {
    return this.usageOf.get(command)!
  }

  /** One line listing the commands `show` accepts, as configured: `pub|PUBLISH <topic> <event-json>, ...`. */
  helpText (show: (command: Command) => boolean): string {
    return this.commands.filter(show).map(c => {
      const w = this.words(c).join('|')
      return c.usage === '' ? w : `${w} ${c.usage}`
    }).join(', ')
  }

  /**
   * Parses the arguments in line[from, to) (`to` excludes trailing blanks)
   * by the command's spec, left to right: the first problem is reported,
   * then words past the last argument. Split by index with the command's
   * compiled parser (compile.ts), so a `pub` allocates its two field strings
   * and the fields object, nothing else.
   */
  fieldsFromLine (command: Command, line: string, from: number, to: number): Fields {
    return this.parsers.get(command)!(line, from, to)
  }

  /**
   * The typed path, for transports that carry fields rather than a line (an
   * HTTP body, say): each value is checked as its argument's text would be,
   * with the same errors. A string is taken as that text (an event as its
   * JSON text, so its bytes are kept); an integer argument also takes a
   * number. A value a line could not carry (a control character, a blank
   * inside one word) and a field the command does not have are refused.
   */
  fieldsFromValues (command: Command, values: Fields): Fields {
    for (const key of Object.keys(values)) {
      if (!command.args.some(a => a.name === key)) {
        fail('BAD_ARGS.unknownField', { field: key, expected: command.args.map(a => a.name).join(', ') || 'none' })
      }
    }
    const fields: Record<string, unknown> = {}
    for (const a of command.args) {
      const v = values[a.name]
      let text: string
      if (typeof v === 'string') text = v
      else if (typeof v === 'number' && a.kind.type === 'integer') text = String(v)
      else if (v === undefined) text = ''
      else fail('BAD_ARGS.fieldType', { field: a.name, type: a.kind.type === 'integer' ? 'an integer' : 'a string' })
      if (text === '') {
        fields[a.name] = this.absent(command, a)
        continue
      }
      if (!a.json) rejectControlChars(text)
      if (!a.rest && hasBlank(text)) fail('BAD_ARGS.fieldType', { field: a.name, type: 'one word (no spaces)' })
      fields[a.name] = a.kind.parse(text, this.config)
    }
    return fields
  }

  private absent (command: Command, a: AnyArg): undefined {
    if (!a.optional) fail('BAD_ARGS.missing', { what: a.what, usage: this.usage(command) })
    return undefined
  }
}

function hasBlank (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isBlank(s.charCodeAt(i))) return true
  return false
}

/**
 * Where a command's rest-of-line JSON starts in a line whose arguments start
 * at `from` (after the arguments before it), so the control-character check
 * can stop there; the line's length when the command takes no such JSON.
 */
export function jsonTailStart (command: Command | undefined, line: string, from: number): number {
  if (command === undefined || !command.jsonTail) return line.length
  let i = from
  for (let j = 1; j < command.args.length; j++) i = skipBlanks(line, tokenEnd(line, i))
  return i
}
