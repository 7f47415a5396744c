import type { BrokerConfig } from '../config/defaults'
import { fail } from '../errors'
import { indexInWord, isBlank, rejectControlChars, skipBlanks, tokenEnd } from '../protocol/tokens'
import { compileLineParser, type LineParser } from './compile'
import type { AnyArg, AnyOption, Command, Fields } from './spec'

/**
 * A field value a transport has already parsed with its argument's kind (an
 * HTTP batch's events, each validated before any is published): `run` takes
 * it as is instead of parsing its text again. Only code can make one; no
 * JSON body can.
 */
export class Parsed<T> {
  constructor (readonly value: T) {}
}

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
        options: (line: string, from: number, to: number) => this.optionsFromLine(command, line, from, to),
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

  /** The two words looked up last by lookupAt (as spelled), and their commands. */
  private recentWord = ['', '']
  private recentCommand: Array<Command | undefined> = [undefined, undefined]

  /**
   * The command the word line[start, end) names. A line usually starts with
   * the same word as one of the last two looked up (a publisher's `pub`, a
   * subscriber's `ack`): those are compared in place, without slicing the word.
   */
  lookupAt (line: string, start: number, end: number): Command | undefined {
    const n = end - start
    const recent = this.recentWord
    if (recent[0].length === n && line.startsWith(recent[0], start)) return this.recentCommand[0]
    if (recent[1].length === n && line.startsWith(recent[1], start)) {
      // Most recent first.
      const word = recent[1]
      recent[1] = recent[0]
      recent[0] = word
      const command = this.recentCommand[1]
      this.recentCommand[1] = this.recentCommand[0]
      this.recentCommand[0] = command
      return command
    }
    const word = line.slice(start, end)
    const command = this.lookup(word)
    if (command !== undefined && n <= MAX_RECENT_WORD) {
      recent[1] = recent[0]
      recent[0] = word
      this.recentCommand[1] = this.recentCommand[0]
      this.recentCommand[0] = command
    }
    return command
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
      if (!command.args.some(a => a.name === key) && !command.options.some(o => o.name === key)) {
        const expected = [...command.args.map(a => a.name), ...command.options.map(o => o.name)]
        fail('BAD_ARGS.unknownField', { field: key, expected: expected.join(', ') || 'none' })
      }
    }
    const fields: Record<string, unknown> = {}
    for (const a of command.args) {
      const v = values[a.name]
      if (v instanceof Parsed) { fields[a.name] = v.value; continue }
      const text = fieldText(a.name, a.kind.type, v)
      if (text === undefined || text === '') {
        fields[a.name] = this.absent(command, a)
        continue
      }
      if (!a.json) rejectControlChars(text)
      if (!a.rest && hasBlank(text)) fail('BAD_ARGS.fieldType', { field: a.name, type: 'one word (no spaces)' })
      fields[a.name] = a.kind.parse(text, this.config)
    }
    for (const o of command.options) {
      // An option's value is checked as its text after `=` would be; absent is undefined (an empty text is a bad value, as on a line).
      const text = fieldText(o.name, o.kind.type, values[o.name])
      if (text !== undefined) {
        rejectControlChars(text)
        if (hasBlank(text)) fail('BAD_ARGS.fieldType', { field: o.name, type: 'one word (no spaces)' })
      }
      fields[o.name] = text === undefined ? undefined : o.kind.parse(text, this.config)
    }
    return fields
  }

  /**
   * The `key=value` words in line[from, to), each a known key at most once
   * (BAD_OPTION otherwise; a word without `=` after an option is BAD_ARGS
   * with the usage), as values in the command's option order.
   */
  private optionsFromLine (command: Command, line: string, from: number, to: number): readonly unknown[] {
    const options = command.options
    const values: unknown[] = new Array(options.length).fill(undefined)
    const seen: boolean[] = new Array(options.length).fill(false)
    let i = from
    while (i < to) {
      const end = tokenEnd(line, i, to)
      const eq = indexInWord(line, 0x3d, i, end) // `=`
      if (eq < 0) fail('BAD_ARGS.unexpected', { extra: line.slice(i, to), usage: this.usage(command) })
      const key = line.slice(i, eq)
      const k = optionIndex(options, key)
      if (k < 0) fail('BAD_OPTION', { option: key, usage: this.usage(command) })
      if (seen[k]) fail('BAD_OPTION.duplicate', { option: options[k].key, usage: this.usage(command) })
      seen[k] = true
      values[k] = options[k].kind.parse(line.slice(eq + 1, end), this.config)
      i = skipBlanks(line, end, to)
    }
    return values
  }

  private absent (command: Command, a: AnyArg): undefined {
    if (!a.optional) fail('BAD_ARGS.missing', { what: a.what, usage: this.usage(command) })
    return undefined
  }
}

/**
 * Words longer than this are not remembered by lookupAt; every configured
 * word of a built-in command is shorter, and a short slice is a copy (V8
 * shares the characters of slices of 13 or more), so no line stays alive.
 */
const MAX_RECENT_WORD = 12

/** The option whose key is `key` (any case), or -1. */
function optionIndex (options: readonly AnyOption[], key: string): number {
  for (let k = 0; k < options.length; k++) if (options[k].key === key) return k
  const lower = key.toLowerCase()
  for (let k = 0; k < options.length; k++) if (options[k].key === lower) return k
  return -1
}

/** A typed field's value as the text a line would carry: a string as is, a number for an integer kind; undefined when absent. */
function fieldText (field: string, type: 'string' | 'integer', v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number' && type === 'integer') return String(v)
  if (v === undefined) return undefined
  fail('BAD_ARGS.fieldType', { field, type: type === 'integer' ? 'an integer' : 'a string' })
}

function hasBlank (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isBlank(s.charCodeAt(i))) return true
  return false
}

/**
 * Where a command's rest-of-line JSON starts in a line whose arguments start
 * at `from` (after the arguments before it), so the control-character check
 * can stop there; the line's end (`to`) when the command takes no such JSON.
 */
export function jsonTailStart (command: Command | undefined, line: string, from: number, to = line.length): number {
  if (command === undefined || !command.jsonTail) return to
  let i = from
  for (let j = 1; j < command.args.length; j++) i = skipBlanks(line, tokenEnd(line, i, to), to)
  return i
}
