import type { Action } from '../config/defaults'
import { fail } from '../errors'
import type { CommandTable } from './commandTable'

export interface ParsedCommand {
  action: Action
  /** The word as the client typed it. */
  word: string
  /** Everything after the command word and its separating whitespace, right-trimmed. */
  args: string
}

/** True for space and tab, the only argument separators. */
function isBlank (c: number): boolean {
  return c === 32 || c === 9
}

/** Index of the first control character (C0, except TAB, which is a blank) in s[from, to), or -1. */
export function controlCharAt (s: string, from = 0, to = s.length): number {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 32 && c !== 9) return i
  }
  return -1
}

/** Throws CONTROL_CHAR naming the first control character in s[from, to), if there is one. */
export function rejectControlChars (s: string, from = 0, to = s.length): void {
  const i = controlCharAt(s, from, to)
  if (i !== -1) fail('CONTROL_CHAR', { hex: '0x' + s.charCodeAt(i).toString(16).padStart(2, '0') })
}

/**
 * Parses one line into a command. I/O-free and store-agnostic. Returns null
 * for a blank line (ignored, so a person pressing Enter in telnet gets no
 * noise); throws CONTROL_CHAR for a line holding a control character (a
 * stray Ctrl-D or arrow key from a telnet in character mode), then
 * UNKNOWN_COMMAND for a word the table does not know.
 */
export function parseCommand (line: string, table: CommandTable): ParsedCommand | null {
  let start = 0
  const len = line.length
  while (start < len && isBlank(line.charCodeAt(start))) start++
  if (start === len) return null
  let end = start
  while (end < len && !isBlank(line.charCodeAt(end))) end++
  const word = line.slice(start, end)
  const action = table.lookup(word)
  let argStart = end
  while (argStart < len && isBlank(line.charCodeAt(argStart))) argStart++
  // The event JSON of a pub is not scanned here, to keep the hot path short: JSON.parse refuses every raw control
  // character but a CR between tokens (and pub names the character when it fails), so only a CR is looked for.
  const scanEnd = action === 'pub' ? tokenEnd(line, argStart) : len
  rejectControlChars(line, start, scanEnd)
  if (scanEnd < len && line.indexOf('\r', scanEnd) !== -1) rejectControlChars(line, scanEnd, len)
  if (action === undefined) fail('UNKNOWN_COMMAND', { word })
  let argEnd = len
  while (argEnd > argStart && isBlank(line.charCodeAt(argEnd - 1))) argEnd--
  return { action, word, args: line.slice(argStart, argEnd) }
}

/** Splits the first whitespace-separated token off `args`: [token, rest]. */
export function splitToken (args: string): [string, string] {
  let i = 0
  const len = args.length
  while (i < len && !isBlank(args.charCodeAt(i))) i++
  const token = args.slice(0, i)
  while (i < len && isBlank(args.charCodeAt(i))) i++
  return [token, args.slice(i)]
}

/** Index just past the token starting at `from` (the first blank at or after it, or the end). */
export function tokenEnd (s: string, from: number): number {
  let i = from
  const len = s.length
  while (i < len && !isBlank(s.charCodeAt(i))) i++
  return i
}

/** Index of the first non-blank at or after `from` (or the end). */
export function skipBlanks (s: string, from: number): number {
  let i = from
  const len = s.length
  while (i < len && isBlank(s.charCodeAt(i))) i++
  return i
}
