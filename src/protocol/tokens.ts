import { fail } from '../errors'

/**
 * The words of a command line, by index: the command layer splits lines with
 * these (no regular expression, no array per line) because `pub` and `ack`
 * run once per event.
 */

/** True for space and tab, the only argument separators. */
export function isBlank (c: number): boolean {
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

/** The value of 1 to maxDigits ASCII digits, else NaN (a loop, not a regular expression: no allocation). */
export function digitsValue (text: string, maxDigits: number): number {
  const n = text.length
  if (n === 0 || n > maxDigits) return NaN
  let v = 0
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return NaN
    v = v * 10 + d
  }
  return v
}

/** Index of the character `code` in s[from, end), or -1 (never looking past the word). */
export function indexInWord (s: string, code: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (s.charCodeAt(i) === code) return i
  return -1
}

/** Index just past the token starting at `from` (the first blank at or after it, or `to`, by default the end). */
export function tokenEnd (s: string, from: number, to = s.length): number {
  let i = from
  while (i < to && !isBlank(s.charCodeAt(i))) i++
  return i
}

/** Index of the first non-blank at or after `from` (or `to`, by default the end). */
export function skipBlanks (s: string, from: number, to = s.length): number {
  let i = from
  while (i < to && isBlank(s.charCodeAt(i))) i++
  return i
}

/** Index just past the last non-blank before `to` (or `from`): the end of the line without trailing blanks. */
export function trimBlanksEnd (s: string, from: number, to: number): number {
  let i = to
  while (i > from && isBlank(s.charCodeAt(i - 1))) i--
  return i
}
