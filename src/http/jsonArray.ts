/**
 * The source text of each top-level element of a JSON array, so a batch's
 * events keep their bytes exactly as sent. `text` must already be known to be
 * a valid JSON array (JSON.parse succeeded): only strings and nesting are tracked.
 */
export function arrayElementTexts (text: string): string[] {
  const out: string[] = []
  let i = text.indexOf('[') + 1
  let depth = 0
  let start = -1
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: skip to its closing quote
      if (start === -1) start = i
      i++
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1
      continue
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue
    if (depth === 0 && (c === 0x2c || c === 0x5d)) { // , or the closing ]
      if (start !== -1) out.push(text.slice(start, trimEnd(text, i)))
      start = -1
      if (c === 0x5d) break
      continue
    }
    if (start === -1) start = i
    if (c === 0x7b || c === 0x5b) depth++
    else if (c === 0x7d || c === 0x5d) depth--
  }
  return out
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
