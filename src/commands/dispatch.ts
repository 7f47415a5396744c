import { BrokerError, errLine, fail } from '../errors'
import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'
import { rejectControlChars, skipBlanks, tokenEnd, trimBlanksEnd } from '../protocol/tokens'
import { detachedSlice } from '../store/flatString'
import { jsonTailStart } from './registry'
import type { Command, Fields } from './spec'

/**
 * The one way a command runs, whatever the transport: look the command up,
 * admit the session (AUTH_REQUIRED before any argument is read), parse the
 * arguments into typed fields by the command's spec, authorize them (topic
 * rights, hidden private topics, ownership), then call the handler.
 *
 * - `runLine(session, line)`: a text line, as TCP (and WebSocket frames) carry
 *   them; exactly one reply, an `ERR` line for any failure (none for a blank line).
 * - `run(session, name, fields)`: a command by registry name with fields a
 *   transport already has (an HTTP route's parameters and JSON body); the same
 *   checks, and a failure is thrown as a BrokerError for the transport to word.
 */
export class CommandLayer {
  /** The `auth` usage for AUTH_REQUIRED, built once (the words are fixed). */
  private readonly authUsage: string

  constructor (private readonly ctx: HandlerContext) {
    const auth = ctx.commands.get('auth')
    this.authUsage = auth === undefined ? 'auth' : ctx.commands.usage(auth)
  }

  /** The command being applied (set once its word is known), so a refusal can be counted by command. */
  private current: Command | undefined = undefined

  /** Applies one command line, text[from, to); exactly one reply comes out (none for a blank line). */
  runLine (session: Session, text: string, from = 0, to = text.length): void {
    this.current = undefined
    try {
      this.applyLine(session, text, from, to)
    } catch (err) {
      if (!(err instanceof BrokerError)) this.ctx.log.error({ err, session: session.id }, 'command failed unexpectedly')
      else this.refused(err)
      session.reply(errLine(err))
    }
  }

  /**
   * Runs the command registered as `name` with typed fields (see
   * CommandRegistry.fieldsFromValues); its reply goes to the session as for a
   * line. Throws the BrokerError of a refused command instead of replying.
   */
  run (session: Session, name: string, fields: Fields): void {
    const command = this.ctx.commands.get(name)
    if (command === undefined) fail('UNKNOWN_COMMAND', { word: name })
    this.current = command
    try {
      this.ctx.auth.admit(command, session, this.authUsage)
      this.apply(command, this.ctx.commands.fieldsFromValues(command, fields), session)
    } catch (err) {
      if (err instanceof BrokerError) this.refused(err)
      throw err
    }
  }

  /** Counts a refused publish by code for GET /metrics (plain map increment). */
  private refused (err: BrokerError): void {
    if (this.current?.name === 'pub') this.ctx.stats.refusedPublish(err.code)
  }

  /**
   * frame → word → admit → fields → authorize → handler; throws what the line gets as its ERR.
   * The line is text[from, to): the commands that run once per event (`borrowsLine`: pub, ack) read it
   * in place, in the text of the whole read it came in (flat, so each character costs one load: a slice
   * costs an indirection per character); every other command gets a copy of its own, so that no name it
   * keeps holds the read's text alive.
   */
  private applyLine (session: Session, text: string, from: number, to: number): void {
    let line = text
    let start = skipBlanks(line, from, to)
    if (start === to) return // a blank line: no reply, so pressing Enter in telnet makes no noise
    let wordEnd = tokenEnd(line, start, to)
    const command = this.ctx.commands.lookupAt(line, start, wordEnd)
    this.current = command
    if (command === undefined || !command.borrowsLine) {
      line = detachedSlice(text, from, to)
      start -= from
      wordEnd -= from
      to -= from
    }
    const argStart = skipBlanks(line, wordEnd, to)
    if (command !== undefined && command.argsRefuseControlChars) {
      // Accepted, the line holds no control character but maybe a CR in the JSON (every other kind refuses a CR):
      // it is searched only when it is refused or its JSON holds a CR, and then exactly as below, so CONTROL_CHAR
      // still comes before every other error.
      let fields: Fields
      try {
        this.ctx.auth.admit(command, session, this.authUsage)
        fields = this.ctx.commands.fieldsFromLine(command, line, argStart, trimBlanksEnd(line, argStart, to))
        if (command.jsonTail && this.nextCR(line, start) < to) this.checkControlChars(command, line, start, argStart, to)
      } catch (err) {
        this.checkControlChars(command, line, start, argStart, to)
        throw err
      }
      this.apply(command, fields, session)
      return
    }
    this.checkControlChars(command, line, start, argStart, to)
    if (command === undefined) fail('UNKNOWN_COMMAND', { word: line.slice(start, wordEnd) })
    this.ctx.auth.admit(command, session, this.authUsage)
    this.apply(command, this.ctx.commands.fieldsFromLine(command, line, argStart, trimBlanksEnd(line, argStart, to)), session)
  }

  /**
   * Throws CONTROL_CHAR for a control character anywhere in the line line[start, to) (its word at `start`, its
   * arguments at `argStart`): the first rule for every line, before the word is judged. The JSON of a pub is
   * searched only when it holds a CR (JSON.parse refuses every other raw control character, and the event kind
   * names the character when it fails).
   */
  private checkControlChars (command: Command | undefined, line: string, start: number, argStart: number, to: number): void {
    const scanEnd = jsonTailStart(command, line, argStart, to)
    rejectControlChars(line, start, scanEnd)
    if (scanEnd < to && this.nextCR(line, scanEnd) < to) rejectControlChars(line, scanEnd, to)
  }

  /** The text nextCR searched last, where it searched from, and the CR it found there (-1: none to the end). */
  private crText = ''
  private crFrom = 0
  private crAt = -1

  /**
   * Index of the first CR at or after `from` in `text` (-1 for none). The lines of one read are
   * applied in order, so the answer for the read's text is remembered: its CRs are searched once,
   * not once per line to the end of the read. (Texts equal by `===` have equal answers.)
   */
  private nextCR (text: string, from: number): number {
    if (from < this.crFrom || (this.crAt !== -1 && from > this.crAt) || text !== this.crText) {
      this.crText = text
      this.crFrom = from
      this.crAt = text.indexOf('\r', from)
    }
    return this.crAt === -1 ? Infinity : this.crAt
  }

  private apply (command: Command, fields: Fields, session: Session): void {
    if (command.topicGate) this.ctx.auth.authorize(command, fields.topic as string | undefined, session)
    command.handler(this.ctx, session, fields)
  }
}
