/**
 * Memory: a stored event's JSON lives as long as the event is pending, so it
 * must be one exact-size flat string. A string built by `+` is a tree of
 * pieces (~470 bytes for a 140-character event), and a JSON.stringify result
 * keeps ~100 bytes of slack; reading a character of the built string makes
 * V8 flatten it into one exact-size copy (~170 bytes), the pieces become
 * garbage. Measured in docs/benchmarks.md (M1).
 */
export function flat (s: string): string {
  s.charCodeAt(0)
  return s
}

/**
 * `text.slice(start, end)` as a string of its own. A plain slice of a long
 * string points into it and keeps all of it alive (recovery slices events
 * out of whole files); built from two pieces and flattened, it is a copy.
 */
export function detachedSlice (text: string, start: number, end: number): string {
  if (end - start < 2) return text.slice(start, end)
  return flat(text.slice(start, start + 1) + text.slice(start + 1, end))
}
