import type { ParsedEvent } from './event'
import { detachedSlice } from './flatString'
import { RESERVED_FIELDS } from './reservedFields'

// Character codes the scanner compares against.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

/** Containers nested deeper than this are left to JSON.parse (which handles any depth the line limit allows). */
const MAX_DEPTH = 256
/** The open containers of the value being skipped: `{` or `[` per level (one scan at a time: the event loop is single-threaded). */
const OPEN = new Uint8Array(MAX_DEPTH)
/** An integer id of at most this many digits is a safe integer (Number.MAX_SAFE_INTEGER has 16). */
const MAX_FAST_ID_DIGITS = 15
/** The id schema's longest string (src/store/event.ts eventSchema). */
const MAX_ID_CHARS = 200

function isWhitespace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** Past the whitespace at `i`, up to `to`: the text may go on past the event (a whole read's, see LineSink.line). */
function skipWhitespace (t: string, i: number, to: number): number {
  while (i < to && isWhitespace(t.charCodeAt(i))) i++
  return i
}

function isDigit (c: number): boolean {
  return c >= ZERO && c <= NINE
}

function isHex (c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/**
 * A run of string characters that need no look: no quote, backslash or
 * control character. Sticky, so it matches from lastIndex on; irregexp's
 * native loop is about twice as fast as a charCodeAt loop over a sliced string
 * (the JSON of a `pub` is a slice of its line).
 */
const PLAIN_CHARS = /[^"\\\x00-\x1f]*/y

/**
 * End of the JSON string starting at the quote at `i` (escapes checked), or
 * -1 if it is not one. It needs no end: a string stops at a control
 * character, and the event's text is followed by its line's CR or LF, or by
 * nothing.
 */
function skipString (t: string, i: number): number {
  let j = i + 1
  for (;;) {
    PLAIN_CHARS.lastIndex = j
    PLAIN_CHARS.test(t) // always matches, maybe nothing
    j = PLAIN_CHARS.lastIndex
    const c = t.charCodeAt(j)
    if (c === QUOTE) return j + 1
    if (c !== BACKSLASH) return -1 // a control character, or the end of the text
    const e = t.charCodeAt(j + 1)
    if (e === 0x75) { // \uXXXX
      if (!isHex(t.charCodeAt(j + 2)) || !isHex(t.charCodeAt(j + 3)) || !isHex(t.charCodeAt(j + 4)) || !isHex(t.charCodeAt(j + 5))) return -1
      j += 6
      continue
    }
    // " \ / b f n r t
    if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1
    j += 2
  }
}

/**
 * A JSON value at most one container deep (a string, number or literal, or
 * an object or array of those), exactly as RFC 8259 writes it: a member's
 * value is skipped by one call into irregexp's native code rather than a
 * call of skipValue and its helpers per token, half the time for a `msg` of a
 * few members (docs/benchmarks.md, issue 11). Deeper values do not match and
 * are left to skipValue. A string is written as runs of plain characters
 * between escapes (Friedl's unrolled loop), its alternatives are told apart by
 * their first character and no two whitespace runs are adjacent, so a failing
 * match backtracks a bounded number of steps per character.
 */
const SHALLOW_VALUE = (() => {
  const ws = '[ \\t\\n\\r]*'
  const plain = PLAIN_CHARS.source // a run of string characters that need no look
  const string = `"${plain}(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})${plain})*"`
  const number = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?'
  const scalar = `(?:${string}|${number}|true|false|null)`
  const object = `\\{${ws}(?:${string}${ws}:${ws}${scalar}${ws}(?:,${ws}${string}${ws}:${ws}${scalar}${ws})*)?\\}`
  const array = `\\[${ws}(?:${scalar}${ws}(?:,${ws}${scalar}${ws})*)?\\]`
  return new RegExp(`${scalar}|${object}|${array}`, 'y')
})()

/**
 * Texts longer than this (from the value on) are skipped by skipValue alone:
 * irregexp keeps a backtrack entry per repetition, and its stack is bounded
 * (a value of millions of members or escapes overflows it, a RangeError).
 * The usual event is far shorter; a longer one is skipped as before.
 */
const SHALLOW_VALUE_MAX_CHARS = 256 * 1024

/** skipValue, by SHALLOW_VALUE when the value is shallow (the usual member of an event). */
function skipMemberValue (t: string, i: number, to: number): number {
  if (t.length - i <= SHALLOW_VALUE_MAX_CHARS) {
    SHALLOW_VALUE.lastIndex = i
    if (SHALLOW_VALUE.test(t) && SHALLOW_VALUE.lastIndex <= to) return SHALLOW_VALUE.lastIndex
  }
  return skipValue(t, i, to)
}

/** End of the JSON number starting at `i` (RFC 8259 grammar), or -1. (Digits stop at the line's end, as strings do.) */
function skipNumber (t: string, i: number): number {
  if (t.charCodeAt(i) === MINUS) i++
  let c = t.charCodeAt(i)
  if (c === ZERO) {
    i++
  } else if (isDigit(c)) {
    do i++; while (isDigit(t.charCodeAt(i)))
  } else {
    return -1
  }
  if (t.charCodeAt(i) === DOT) {
    i++
    if (!isDigit(t.charCodeAt(i))) return -1
    do i++; while (isDigit(t.charCodeAt(i)))
  }
  c = t.charCodeAt(i)
  if (c === 0x65 || c === 0x45) { // e E
    i++
    c = t.charCodeAt(i)
    if (c === PLUS || c === MINUS) i++
    if (!isDigit(t.charCodeAt(i))) return -1
    do i++; while (isDigit(t.charCodeAt(i)))
  }
  return i
}

/** After an object's `{` or `,` (whitespace skipped): a member's key, its colon and the whitespace before its value; returns the value's start, or -1. */
function skipKey (t: string, i: number, to: number): number {
  if (t.charCodeAt(i) !== QUOTE) return -1
  i = skipString(t, i)
  if (i < 0) return -1
  i = skipWhitespace(t, i, to)
  if (i === to || t.charCodeAt(i) !== COLON) return -1
  return skipWhitespace(t, i + 1, to)
}

/**
 * End of the JSON value starting at `i` (no whitespace before it) and ending
 * by `to`, or -1 when it is not valid JSON or is nested deeper than
 * MAX_DEPTH. Iterative, so no input can exhaust the stack; nothing is allocated.
 */
export function skipValue (t: string, i: number, to: number): number {
  let depth = 0
  for (;;) {
    // At the start of a value.
    if (i >= to) return -1
    const c = t.charCodeAt(i)
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i = skipWhitespace(t, i + 1, to)
      if (i < to && t.charCodeAt(i) === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        i++ // empty: a whole value
      } else {
        if (depth === MAX_DEPTH) return -1
        OPEN[depth++] = c
        if (c === OPEN_OBJECT && (i = skipKey(t, i, to)) < 0) return -1
        continue
      }
    } else if (c === QUOTE) {
      if ((i = skipString(t, i)) < 0) return -1
    } else if (c === MINUS || isDigit(c)) {
      if ((i = skipNumber(t, i)) < 0) return -1
    } else if (c === 0x74 && t.startsWith('true', i)) {
      i += 4
    } else if (c === 0x66 && t.startsWith('false', i)) {
      i += 5
    } else if (c === 0x6e && t.startsWith('null', i)) {
      i += 4
    } else {
      return -1
    }
    // A value ended: close the containers it ends, or go on to the next member or element.
    if (i > to) return -1 // (true, false and null are matched without looking at `to`)
    for (;;) {
      if (depth === 0) return i
      i = skipWhitespace(t, i, to)
      if (i === to) return -1
      const d = t.charCodeAt(i)
      const open = OPEN[depth - 1]
      if (d === COMMA) {
        i = skipWhitespace(t, i + 1, to)
        if (open === OPEN_OBJECT && (i = skipKey(t, i, to)) < 0) return -1
        break
      }
      if (d !== (open === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1
      i++
      depth--
    }
  }
}

/**
 * The common case of a `pub` event, read in one pass without building it:
 * a JSON object with a `msg`, no reserved field, an `id` that is a plain
 * integer of at most 15 digits or a string of 1-200 printable ASCII
 * characters without escapes, and a `priority` that is one digit. Returns
 * what parseEvent would (the same text, id and priority), or null for
 * anything else, valid or not: then parseEvent decides, and names the
 * problem. Why: JSON.parse and the schema built an object per event that
 * only these three members are read from (docs/benchmarks.md, issue 11).
 */
export function scanEvent (t: string, from = 0, to = t.length): ParsedEvent | null {
  let i = skipWhitespace(t, from, to)
  if (i === to || t.charCodeAt(i) !== OPEN_OBJECT) return null
  i = skipWhitespace(t, i + 1, to)
  if (i === to) return null
  let id: string | number | undefined
  let priority = -1
  let hasMsg = false
  if (t.charCodeAt(i) !== CLOSE_OBJECT) {
    for (;;) {
      // A member: its key (escapes are left to parseEvent: "\u0069d" is `id`).
      if (t.charCodeAt(i) !== QUOTE) return null
      const k = i + 1
      let e = k
      for (let c = t.charCodeAt(e); c !== QUOTE; c = t.charCodeAt(++e)) {
        if (c === BACKSLASH || c < 0x20 || e >= to) return null
      }
      const keyLength = e - k
      i = skipWhitespace(t, e + 1, to)
      if (i === to || t.charCodeAt(i) !== COLON) return null
      i = skipWhitespace(t, i + 1, to)
      // Its value: read for the members the broker uses, skipped for the others.
      if (keyLength === 2 && t.startsWith('id', k)) {
        if (id !== undefined) return null // a repeated member: JSON.parse keeps the last
        const c = t.charCodeAt(i)
        if (c === QUOTE) {
          let j = i + 1
          for (let d = t.charCodeAt(j); d !== QUOTE; d = t.charCodeAt(++j)) {
            if (!(d > 0x20 && d < 0x7f) || d === BACKSLASH) return null
          }
          if (j === i + 1 || j - i - 1 > MAX_ID_CHARS) return null
          id = detachedSlice(t, i + 1, j) // kept for the dedupe window: not a slice pinning the line
          i = j + 1
        } else {
          const negative = c === MINUS
          let j = negative ? i + 1 : i
          let d = t.charCodeAt(j)
          if (!isDigit(d) || (d === ZERO && isDigit(t.charCodeAt(j + 1)))) return null
          let value = 0
          const first = j
          do {
            value = value * 10 + (d - ZERO)
            d = t.charCodeAt(++j)
          } while (isDigit(d))
          if (j - first > MAX_FAST_ID_DIGITS || d === DOT || d === 0x65 || d === 0x45) return null
          id = negative ? -value : value
          i = j
        }
      } else if (keyLength === 8 && t.startsWith('priority', k)) {
        if (priority >= 0) return null
        const c = t.charCodeAt(i)
        const after = t.charCodeAt(i + 1)
        if (!isDigit(c) || isDigit(after) || after === DOT || after === 0x65 || after === 0x45) return null
        priority = c - ZERO
        i++
      } else {
        if (keyLength === 3 && t.startsWith('msg', k)) hasMsg = true
        else if (isReserved(t, k, keyLength)) return null
        if ((i = skipMemberValue(t, i, to)) < 0) return null
      }
      if (i > to) return null // an id or priority is read without looking at `to`: it must end by then
      i = skipWhitespace(t, i, to)
      if (i === to) return null
      const c = t.charCodeAt(i)
      if (c === CLOSE_OBJECT) break
      if (c !== COMMA) return null
      i = skipWhitespace(t, i + 1, to)
      if (i === to) return null
    }
  }
  // The object ends the text (whitespace aside).
  if (skipWhitespace(t, i + 1, to) !== to || !hasMsg) return null
  return { text: from === 0 && to === t.length ? t : t.slice(from, to), id, priority: priority < 0 ? 0 : priority, hasPriority: priority >= 0 }
}

/** Whether the key at t[k, k + length) is a reserved field (one the broker writes). */
function isReserved (t: string, k: number, length: number): boolean {
  for (let r = 0; r < RESERVED_FIELDS.length; r++) {
    const name = RESERVED_FIELDS[r]
    if (name.length === length && t.startsWith(name, k)) return true
  }
  return false
}
