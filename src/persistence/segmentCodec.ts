/**
 * The line format of storage v2 segments (docs/storage-v2-design.md), I/O-free.
 *
 * A segment line is one event exactly as delivered (before any
 * `"deliveries"` mark): a JSON object whose last member is the broker's
 * `"offset"`. Decoding finds the members the broker needs (`offset`,
 * `timestamp`, `priority`, `id`) in one pass over the text without building
 * any value, and checks the whole line is well-formed JSON on the way, so a
 * torn or garbled line is told apart from a good one. The text itself is
 * never re-serialized: what comes out is the stored bytes.
 */

/** One decoded segment line. `text` is the line as stored (no newline). */
export interface SegmentLine {
  offset: number
  timestamp: number
  priority: number
  id: string | number
  /** String form of the id: what `ack <topic> <id>` matches. */
  key: string
  text: string
}

const OFFSET_MEMBER = ',"offset":'

/**
 * The stored text of an event: its delivered JSON with `"offset":n` as the
 * last member. (Once the offset is part of the delivered text, phase B's
 * sealEvent produces this directly; this is for migration and tests.)
 */
export function encodeLine (json: string, offset: number): string {
  if (json.charCodeAt(json.length - 1) !== 0x7d) throw new Error('an event must be a JSON object')
  return json.length === 2 ? `{"offset":${offset}}` : json.slice(0, -1) + OFFSET_MEMBER + String(offset) + '}'
}

/** Decodes a line; null when it is not a whole, well-formed event line (see lineProblem for why). */
export function decodeLine (text: string): SegmentLine | null {
  if (scan(text) !== null) return null
  return result(text)
}

/** Why a line is not a well-formed event line, or null when it is. */
export function lineProblem (text: string): string | null {
  return scan(text)
}

// --- the scanner: module-level state, so a decode allocates only its result ---

let src = ''
let idStart = -1
let idEnd = -1
let idEscaped = false
let prioStart = -1
let prioEnd = -1
let tsStart = -1
let tsEnd = -1
let offStart = -1
let offEnd = -1
let lastKeyWasOffset = false
/** Open containers while skipping a nested value: 1 object, 2 array. Grows on demand. */
let stack = new Uint8Array(64)

function result (text: string): SegmentLine {
  let id: string | number
  let key: string
  if (text.charCodeAt(idStart) === 0x22) {
    key = idEscaped ? JSON.parse(text.slice(idStart, idEnd)) as string : text.slice(idStart + 1, idEnd - 1)
    id = key
  } else {
    id = Number(text.slice(idStart, idEnd))
    key = String(id)
  }
  return {
    offset: digits(offStart, offEnd),
    timestamp: digits(tsStart, tsEnd),
    priority: prioEnd - prioStart === 1 ? text.charCodeAt(prioStart) - 0x30 : Number(text.slice(prioStart, prioEnd)) + 0,
    id,
    key,
    text,
  }
}

function ws (i: number): number {
  for (;;) {
    const c = src.charCodeAt(i)
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) i++
    else return i
  }
}

/** End of the string starting at i (just past the closing quote), or -1. Sets `escaped` when it has a backslash. */
let escaped = false
function skipString (i: number): number {
  escaped = false
  const n = src.length
  for (i++; i < n; i++) {
    const c = src.charCodeAt(i)
    if (c === 0x22) return i + 1
    if (c < 0x20) return -1
    if (c === 0x5c) {
      escaped = true
      const e = src.charCodeAt(++i)
      if (e === 0x75) { // \uXXXX
        for (let k = 1; k <= 4; k++) if (!isHex(src.charCodeAt(i + k))) return -1
        i += 4
      } else if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return -1
      }
    }
  }
  return -1
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/** End of the number starting at i (JSON grammar), or -1. */
function skipNumber (i: number): number {
  if (src.charCodeAt(i) === 0x2d) i++
  let c = src.charCodeAt(i)
  if (c === 0x30) i++
  else if (c >= 0x31 && c <= 0x39) { while (isDigit(src.charCodeAt(++i))); } else return -1
  if (src.charCodeAt(i) === 0x2e) {
    if (!isDigit(src.charCodeAt(++i))) return -1
    while (isDigit(src.charCodeAt(++i)));
  }
  c = src.charCodeAt(i)
  if (c === 0x65 || c === 0x45) {
    c = src.charCodeAt(++i)
    if (c === 0x2b || c === 0x2d) i++
    if (!isDigit(src.charCodeAt(i))) return -1
    while (isDigit(src.charCodeAt(++i)));
  }
  return i
}

function skipLiteral (i: number): number {
  if (src.startsWith('true', i)) return i + 4
  if (src.startsWith('false', i)) return i + 5
  if (src.startsWith('null', i)) return i + 4
  return -1
}

/** End of the scalar at i, or -1. */
function skipScalar (i: number): number {
  const c = src.charCodeAt(i)
  if (c === 0x22) return skipString(i)
  if (c === 0x2d || isDigit(c)) return skipNumber(i)
  return skipLiteral(i)
}

/** End of the value starting at i (any depth, iteratively: no recursion limit), or -1. */
function skipValue (i: number): number {
  let depth = 0
  for (;;) {
    // expecting a value at i
    let c = src.charCodeAt(i)
    if (c === 0x7b || c === 0x5b) {
      if (depth === stack.length) {
        const bigger = new Uint8Array(stack.length * 2)
        bigger.set(stack)
        stack = bigger
      }
      stack[depth++] = c === 0x7b ? 1 : 2
      i = ws(i + 1)
      c = src.charCodeAt(i)
      if (c === (stack[depth - 1] === 1 ? 0x7d : 0x5d)) {
        depth--
        i++
      } else {
        if (stack[depth - 1] === 1) {
          if ((i = memberKey(i)) < 0) return -1
        }
        continue
      }
    } else {
      i = skipScalar(i)
      if (i < 0) return -1
    }
    // after a value: close containers or move to the next element
    for (;;) {
      if (depth === 0) return i
      i = ws(i)
      c = src.charCodeAt(i)
      if (c === 0x2c) {
        i = ws(i + 1)
        if (stack[depth - 1] === 1 && (i = memberKey(i)) < 0) return -1
        break
      }
      if (c !== (stack[depth - 1] === 1 ? 0x7d : 0x5d)) return -1
      depth--
      i++
    }
  }
}

/** Skips `"key" :` of a nested object member; returns where its value starts, or -1. */
function memberKey (i: number): number {
  if (src.charCodeAt(i) !== 0x22) return -1
  i = skipString(i)
  if (i < 0) return -1
  i = ws(i)
  if (src.charCodeAt(i) !== 0x3a) return -1
  return ws(i + 1)
}

/** Which broker member a top-level key names: 1 id, 2 priority, 3 timestamp, 4 offset, 0 other. */
function keyKind (start: number, end: number): number {
  if (escaped) {
    // A key spelled with escapes (`"\u0069d"`) is the same member to a JSON reader.
    return kindOf(JSON.parse(src.slice(start, end)) as string)
  }
  const len = end - start - 2
  if (len === 2) return src.startsWith('id', start + 1) ? 1 : 0
  if (len === 8) return src.startsWith('priority', start + 1) ? 2 : 0
  if (len === 9) return src.startsWith('timestamp', start + 1) ? 3 : 0
  if (len === 6) return src.startsWith('offset', start + 1) ? 4 : 0
  return 0
}

function kindOf (k: string): number {
  return k === 'id' ? 1 : k === 'priority' ? 2 : k === 'timestamp' ? 3 : k === 'offset' ? 4 : 0
}

/** Checks the line and records where the broker's members are; returns a problem or null. */
function scan (text: string): string | null {
  src = text
  idStart = prioStart = tsStart = offStart = -1
  lastKeyWasOffset = false
  const n = text.length
  if (n === 0) return 'empty line'
  let i = ws(0)
  if (text.charCodeAt(i) !== 0x7b) return `not a JSON object (column ${i + 1})`
  i = ws(i + 1)
  if (text.charCodeAt(i) === 0x7d) return 'an empty object is not an event'
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) return `expected a member name at column ${i + 1}`
    const keyStart = i
    i = skipString(i)
    if (i < 0) return `unterminated or invalid member name at column ${keyStart + 1}`
    const kind = keyKind(keyStart, i)
    i = ws(i)
    if (text.charCodeAt(i) !== 0x3a) return `expected ":" at column ${i + 1}`
    const valueStart = i = ws(i + 1)
    i = skipValue(i)
    if (i < 0) return `invalid or truncated value at column ${valueStart + 1}`
    lastKeyWasOffset = kind === 4
    if (kind !== 0) {
      const c = text.charCodeAt(valueStart)
      if (kind === 1) {
        idStart = valueStart; idEnd = i; idEscaped = escaped && c === 0x22
        if (c !== 0x22 && (!(c === 0x2d || isDigit(c)) || !Number.isSafeInteger(Number(text.slice(valueStart, i))))) {
          return '"id" is neither a string nor a safe integer'
        }
      } else if (kind === 2) {
        prioStart = valueStart; prioEnd = i
      } else if (kind === 3) {
        tsStart = valueStart; tsEnd = i
      } else {
        offStart = valueStart; offEnd = i
      }
    }
    i = ws(i)
    const c = text.charCodeAt(i)
    if (c === 0x2c) { i = ws(i + 1); continue }
    if (c === 0x7d) { i = ws(i + 1); break }
    return i >= n ? 'truncated line (no closing "}")' : `expected "," or "}" at column ${i + 1}`
  }
  if (i !== n) return `unexpected text after the event at column ${i + 1}`
  if (offStart < 0) return 'no "offset" member'
  if (!lastKeyWasOffset) return '"offset" is not the last member'
  if (!isCount(offStart, offEnd)) return '"offset" is not a non-negative integer'
  if (tsStart < 0) return 'no "timestamp" member'
  if (!isCount(tsStart, tsEnd)) return '"timestamp" is not a non-negative integer'
  if (prioStart < 0) return 'no "priority" member'
  if (!isPriority(prioStart, prioEnd)) return '"priority" is not an integer from 0 to 9'
  if (idStart < 0) return 'no "id" member'
  return null
}

/** A number from 0 to 9 with an integer value; a publisher's own spelling (`5.0`) is kept, so read it as a number. */
function isPriority (start: number, end: number): boolean {
  const c = src.charCodeAt(start)
  if (end - start === 1) return isDigit(c)
  if (!(c === 0x2d || isDigit(c))) return false
  const p = Number(src.slice(start, end))
  return Number.isInteger(p) && p >= 0 && p <= 9
}

/** Digits only, a safe integer. */
function isCount (start: number, end: number): boolean {
  if (end - start > 16) return false
  for (let i = start; i < end; i++) if (!isDigit(src.charCodeAt(i))) return false
  return Number.isSafeInteger(digits(start, end))
}

/** The value of a run of decimal digits of `src` (checked by isCount), without slicing a string. */
function digits (start: number, end: number): number {
  let v = 0
  for (let i = start; i < end; i++) v = v * 10 + (src.charCodeAt(i) - 0x30)
  return v
}
