import type { BrokerConfig } from '../config/defaults'
import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'

/**
 * Who may run a command. The auth gate (`AuthService.admit` before the
 * arguments are parsed, `AuthService.authorize` after, reading the typed
 * `topic` field) and `help` (`AuthService.available`) read only this.
 *
 * - `open`: anyone, before `auth` too (help, ping, quit).
 * - `login`: anyone; listed only while auth is in use and the connection is anonymous (auth).
 * - `authenticated`: a user when `auth.required`, anyone otherwise (name, topics).
 * - `topic-read`: as `authenticated`, and the `topic` field, when given, must be visible and
 *   published to or subscribed to by the user (stats).
 * - `topic-publish`: as `authenticated`, plus the publish right on `topic` (pub, create, delete).
 * - `topic-subscribe`: as `authenticated`, plus the subscribe right on `topic` (sub).
 * - `topic-visible`: as `authenticated`, and `topic` must be visible: the command works on the
 *   connection's own subscription (ack, nack, touch, commit, unsub).
 * - `owner`: always a user (also when auth is optional), the owner of the private `topic` (grant, revoke).
 *
 * A private topic the user may not see gets exactly the reply of a missing topic.
 */
export const ACCESS_CLASSES = ['open', 'login', 'authenticated', 'topic-read', 'topic-publish', 'topic-subscribe', 'topic-visible', 'owner'] as const
export type Access = typeof ACCESS_CLASSES[number]

/** The access classes that check the command's `topic` field. */
export const TOPIC_ACCESS: ReadonlySet<Access> = new Set<Access>(['topic-read', 'topic-publish', 'topic-subscribe', 'topic-visible', 'owner'])

/** How one argument's text becomes its typed value. */
export interface ArgKind<T> {
  /**
   * What a typed field (`CommandLayer.run`) must hold: a string, or an
   * integer (a safe integer, or its decimal text), before `parse` sees its text.
   */
  readonly type: 'string' | 'integer'
  /** Converts and validates the non-empty text of the argument; throws the catalogue error that names the problem. */
  parse: (text: string, config: BrokerConfig) => T
  /**
   * The same for the text line[from, to), read in place (no slice): for the
   * arguments of the commands that run once per event. When present, line
   * parsers use it; `parse` stays the typed path's (fieldsFromValues).
   */
  parseAt?: (line: string, from: number, to: number, config: BrokerConfig) => T
  /**
   * Every value it accepts is free of control characters, but for a CR where
   * JSON allows whitespace (a topic name, an event id, an event's JSON). A
   * command whose arguments are all of such kinds has its line searched for
   * them only when it fails or holds a CR (Command.argsRefuseControlChars).
   */
  readonly refusesControlChars?: boolean
}

/** One argument of a command, in order; its value becomes the field `name`. */
export interface ArgSpec<N extends string = string, T = unknown, O extends boolean = boolean> {
  /** The field name handlers (and HTTP bodies) use, e.g. `topic`, `delayMs`. */
  readonly name: N
  /** The placeholder in usage texts: `<label>` when required, `[label]` when optional. */
  readonly label: string
  /** What a missing argument is called in `missing <what>`. */
  readonly what: string
  readonly optional: O
  /** Takes the rest of the line, inner blanks kept (last argument only). */
  readonly rest: boolean
  /**
   * The rest of the line is JSON: the line's control-character check skips it (JSON.parse refuses
   * raw control characters, and the kind names one when it does), so a big event is not scanned twice.
   */
  readonly json: boolean
  readonly kind: ArgKind<T>
}

/** Any argument spec. */
export type AnyArg = ArgSpec<string, unknown, boolean>

/**
 * One `key=value` option of a command (`sub orders from=beginning`): after
 * the positional arguments, in any order, each at most once; its value
 * becomes the field `name` (undefined when absent). Declared in the
 * command's `options` list, one line each (see src/commands/options.ts).
 */
export interface OptionSpec<N extends string = string, T = unknown> {
  /** The field name handlers (and HTTP bodies) use, e.g. `from`. */
  readonly name: N
  /** The word before `=`, lower case, e.g. `from` (matched case-insensitively). */
  readonly key: string
  /** The value's placeholder in usage texts, e.g. `beginning|latest|<offset>|time:<unix-ms>`. */
  readonly label: string
  /** Converts and validates the value (the text after `=`, possibly empty); throws the catalogue error naming the option. */
  readonly kind: ArgKind<T>
}

/** Any option spec. */
export type AnyOption = OptionSpec<string, unknown>

type FieldValue<S> = S extends ArgSpec<string, infer T, infer O> ? (O extends true ? T | undefined : T) : never
type OptionValue<S> = S extends OptionSpec<string, infer T> ? T | undefined : never

/**
 * The typed fields of an argument list and its options: `[topic(), optional(eventId())]` gives
 * `{ topic: string, id: string | undefined }`; an option adds its field, undefined when absent.
 */
export type FieldsOf<A extends readonly AnyArg[], O extends readonly AnyOption[] = readonly []> =
  { [S in A[number] as S['name']]: FieldValue<S> } & { [S in O[number] as S['name']]: OptionValue<S> }

/** Fields as the dispatch sees them, whatever the command. */
export type Fields = Readonly<Record<string, unknown>>

/** Applies one command with its typed fields and sends exactly one reply through the session, or throws a BrokerError. */
export type CommandHandler<F> = (ctx: HandlerContext, session: Session, fields: F) => void

/** What a command file declares (see defineCommand). */
export interface CommandDefinition<N extends string, A extends readonly AnyArg[], O extends readonly AnyOption[]> {
  /** The registry name: the key of the config's `commands` table, and what `run(session, name, fields)` takes. */
  name: N
  /** Default words, matched case-insensitively; the config's `commands.<name>` replaces them. */
  words: readonly string[]
  args: A
  /** `key=value` options after the arguments, one line each (`[opt.from(), opt.to()]`); none by default. */
  options?: O
  access: Access
  /** True for commands that ignore words after their arguments (help, ping, quit); others answer BAD_ARGS. */
  ignoreExtra?: boolean
  /**
   * True when the handler keeps no string cut from its line past the call (the topic it keeps is checkTopicName's
   * own copy), so the line may be a slice of the whole read it came in: see CommandLayer.applyLine. The commands that
   * run once per event (pub, ack) set it; every other command gets a copy of its line.
   */
  borrowsLine?: boolean
  handler: CommandHandler<FieldsOf<A, O>>
}

/** One registry entry: a command's words, argument spec, access class and handler. */
export interface Command<N extends string = string> {
  readonly name: N
  readonly words: readonly string[]
  readonly args: readonly AnyArg[]
  /** Its `key=value` options (empty for most commands). */
  readonly options: readonly AnyOption[]
  readonly access: Access
  readonly ignoreExtra: boolean
  readonly borrowsLine: boolean
  readonly handler: CommandHandler<Fields>
  /** The arguments' and options' usage, e.g. `<topic> [max-in-flight [ack-timeout-ms]] [to=<offset>]` (without the word). */
  readonly usage: string
  /** The last argument is rest-of-line JSON (see ArgSpec.json). */
  readonly jsonTail: boolean
  /** The gate reads the `topic` field (TOPIC_ACCESS). */
  readonly topicGate: boolean
  /**
   * Its arguments' kinds refuse control characters themselves (ArgKind.refusesControlChars), it takes no options
   * and no extra words, and its words have none (the config's pattern): a line it accepts can hold none but a CR,
   * so CommandLayer.applyLine searches the line only when it fails or holds a CR (pub and ack run once per event).
   */
  readonly argsRefuseControlChars: boolean
}

/**
 * Declares a command: one entry of the registry, checked here so a bad spec
 * fails at start-up, not on some client's line.
 */
export function defineCommand<const N extends string, const A extends readonly AnyArg[], const O extends readonly AnyOption[] = readonly []> (def: CommandDefinition<N, A, O>): Command<N> {
  const { name, words, args, access } = def
  const options: readonly AnyOption[] = def.options ?? []
  const problem = specProblem(def)
  if (problem !== null) throw new Error(`command ${name}: ${problem}`)
  return Object.freeze({
    name,
    words: Object.freeze([...words]),
    args: Object.freeze([...args]),
    options: Object.freeze([...options]),
    access,
    ignoreExtra: def.ignoreExtra === true,
    borrowsLine: def.borrowsLine === true,
    handler: def.handler as unknown as CommandHandler<Fields>,
    usage: usageOf(args, options),
    jsonTail: args.length > 0 && args[args.length - 1].json,
    topicGate: TOPIC_ACCESS.has(access),
    argsRefuseControlChars: options.length === 0 && def.ignoreExtra !== true && args.every(a => a.kind.refusesControlChars === true),
  })
}

function specProblem (def: CommandDefinition<string, readonly AnyArg[], readonly AnyOption[]>): string | null {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) return 'the name must be lower-case letters, digits and -'
  if (def.words.length === 0) return 'needs at least one word'
  if (!ACCESS_CLASSES.includes(def.access)) return `unknown access class ${JSON.stringify(def.access)}`
  const names = new Set<string>()
  let optionalSeen = false
  for (const [i, a] of def.args.entries()) {
    // Field names go into the compiled parser (compile.ts) and HTTP bodies: plain identifiers only.
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(a.name)) return `the argument name ${JSON.stringify(a.name)} must be letters and digits, starting with a letter`
    if (names.has(a.name)) return `two arguments are named ${a.name}`
    names.add(a.name)
    if (a.rest && i !== def.args.length - 1) return `${a.name} takes the rest of the line, so it must be the last argument`
    if (optionalSeen && !a.optional) return `the required ${a.name} follows an optional argument`
    optionalSeen ||= a.optional
  }
  if (TOPIC_ACCESS.has(def.access) && !names.has('topic')) return `access ${def.access} needs a topic argument`
  const options = def.options ?? []
  if (options.length > 0 && def.args.some(a => a.rest)) return 'a command whose last argument takes the rest of the line cannot have options'
  if (options.length > 0 && def.ignoreExtra === true) return 'a command that ignores extra words cannot have options'
  const keys = new Set<string>()
  for (const o of options) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(o.name)) return `the option field name ${JSON.stringify(o.name)} must be letters and digits, starting with a letter`
    if (names.has(o.name)) return `two arguments or options are named ${o.name}`
    names.add(o.name)
    if (!/^[a-z][a-z0-9-]*$/.test(o.key)) return `the option key ${JSON.stringify(o.key)} must be lower-case letters, digits and -`
    if (keys.has(o.key)) return `two options use the key ${o.key}`
    keys.add(o.key)
  }
  return null
}

/**
 * `<a> <b> [c [d]] [key=value]`: required arguments in angle brackets, each optional one opening a bracket
 * that nests the rest, then each option in its own brackets.
 */
export function usageOf (args: readonly AnyArg[], options: readonly AnyOption[] = []): string {
  let out = ''
  let open = 0
  for (const a of args) {
    if (out !== '') out += ' '
    if (a.optional) {
      out += '[' + a.label
      open++
    } else {
      out += '<' + a.label + '>'
    }
  }
  out += ']'.repeat(open)
  for (const o of options) out += (out === '' ? '' : ' ') + `[${o.key}=${o.label}]`
  return out
}
