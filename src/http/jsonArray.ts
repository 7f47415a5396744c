/**
 * The source text of each top-level element of a JSON array, so a batch's
 * events keep their bytes exactly as sent; null when the text is not a JSON
 * array. Only the array's framing is checked here (`[`, elements separated by
 * single commas, `]`, blanks around, nothing after); each element's own
 * syntax is left to the event parser, which sees exactly its text, so a
 * batch is parsed once, not twice.
 */
export function arrayElementTexts (text: string): string[] | null {
  const n = text.length
  let i = skipBlanks(text, 0)
  if (text.charCodeAt(i) !== 0x5b) return null
  i = skipBlanks(text, i + 1)
  const out: string[] = []
  if (text.charCodeAt(i) === 0x5d) return skipBlanks(text, i + 1) === n ? out : null
  for (;;) {
    const start = i
    let depth = 0
    for (; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c === 0x22) { // a string: skip to its closing quote
        i++
        while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1
        if (i >= n) return null
        continue
      }
      if (c === 0x7b || c === 0x5b) depth++
      else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) break // the array's closing ]
        depth--
      } else if (depth === 0 && c === 0x2c) break
    }
    if (i >= n) return null
    const end = trimEnd(text, i)
    if (end === start) return null // an empty element: `[,` or `,,`
    out.push(text.slice(start, end))
    if (text.charCodeAt(i) === 0x5d) return skipBlanks(text, i + 1) === n ? out : null
    i = skipBlanks(text, i + 1) // after the comma
  }
}

function skipBlanks (text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
    i++
  }
  return i
}

function trimEnd (text: string, end: number): number {
  let e = end
  while (e > 0) {
    const c = text.charCodeAt(e - 1)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
    e--
  }
  return e
}
