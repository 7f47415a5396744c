/**
 * Reading the text of JSON the broker has already validated (with
 * JSON.parse), without parsing it into objects: where each top-level member
 * of an object starts and ends, so members can be kept byte for byte.
 * Every function assumes valid JSON; on anything else it throws.
 */

/** One top-level member of an object text: its decoded name and where `"name": value` lies. */
export interface JsonMember {
  name: string
  start: number
  end: number
}

/** The top-level members of a JSON object text, in text order (duplicates included). */
export function objectMembers (text: string): JsonMember[] {
  const members: JsonMember[] = []
  let i = skipWhitespace(text, 0)
  expect(text, i, 0x7b) // {
  i = skipWhitespace(text, i + 1)
  if (text.charCodeAt(i) === 0x7d) return members // }
  for (;;) {
    const start = i
    const nameEnd = skipString(text, i)
    const raw = text.slice(i + 1, nameEnd - 1)
    const name = raw.includes('\\') ? JSON.parse(text.slice(i, nameEnd)) as string : raw
    i = skipWhitespace(text, nameEnd)
    expect(text, i, 0x3a) // :
    i = skipValue(text, skipWhitespace(text, i + 1))
    members.push({ name, start, end: i })
    i = skipWhitespace(text, i)
    if (text.charCodeAt(i) === 0x7d) return members
    expect(text, i, 0x2c) // ,
    i = skipWhitespace(text, i + 1)
  }
}

function expect (text: string, i: number, c: number): void {
  if (text.charCodeAt(i) !== c) throw new Error(`expected ${JSON.stringify(String.fromCharCode(c))} at position ${i}`)
}

function skipWhitespace (text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i
    i++
  }
}

/** From the opening quote of a string to just past its closing quote. */
function skipString (text: string, i: number): number {
  expect(text, i, 0x22)
  let j = i + 1
  for (;;) {
    j = text.indexOf('"', j)
    if (j === -1) throw new Error(`unterminated string at position ${i}`)
    let backslashes = 0
    while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return j + 1
    j++
  }
}

/** From the first character of a value to just past its end. */
function skipValue (text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (c === 0x22) return skipString(text, i)
  if (c === 0x7b || c === 0x5b) { // { [
    let depth = 0
    let j = i
    for (;;) {
      const d = text.charCodeAt(j)
      if (d === 0x22) { j = skipString(text, j); continue }
      if (d === 0x7b || d === 0x5b) depth++
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return j + 1
      } else if (Number.isNaN(d)) throw new Error(`unterminated value at position ${i}`)
      j++
    }
  }
  // A number or a literal: up to the next delimiter.
  let j = i
  for (;;) {
    const d = text.charCodeAt(j)
    if (Number.isNaN(d) || d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) break
    j++
  }
  if (j === i) throw new Error(`expected a value at position ${i}`)
  return j
}
