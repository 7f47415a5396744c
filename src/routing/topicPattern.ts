/**
 * Topic patterns with RabbitMQ topic-exchange semantics: a name is words
 * separated by `.`; in a pattern, `*` stands for exactly one word and `#`
 * for zero or more words. Used by topic exchanges (binding keys against
 * routing keys) and wildcard subscriptions (patterns against topic names).
 */

/** Whether `text` is a pattern (one of its words is `*` or `#`) rather than a plain name. */
export function isTopicPattern (text: string): boolean {
  const words = text.split('.')
  for (const w of words) if (w === '*' || w === '#') return true
  return false
}

/** Whether a checked name is a pattern: topic names cannot hold `*` or `#`, so one such character says so. */
export function isPatternName (text: string): boolean {
  return text.includes('*') || text.includes('#')
}

/**
 * Why `text` is not a valid pattern (a `*` or `#` inside a word, such as
 * `a*` or `#b`), or null when it is one.
 */
export function topicPatternProblem (text: string): string | null {
  for (const w of text.split('.')) {
    if (w !== '*' && w !== '#' && (w.includes('*') || w.includes('#'))) return `"*" and "#" must be whole words, got ${JSON.stringify(w)}`
  }
  return null
}

/** A compiled pattern: its words, matched against a name's words without building anything per call beyond one split. */
export class TopicPattern {
  readonly text: string
  private readonly words: readonly string[]
  /** No `#`: a match needs exactly as many words (a quick length test first). */
  private readonly fixedLength: boolean

  constructor (text: string) {
    this.text = text
    this.words = text.split('.')
    this.fixedLength = !this.words.includes('#')
  }

  /** Whether the dot-separated `name` matches. */
  matches (name: string): boolean {
    const words = name.split('.')
    if (this.fixedLength && words.length !== this.words.length) return false
    return matchWords(this.words, 0, words, 0)
  }
}

/** Matches pattern words from `p` against name words from `n`; `#` tries every split (collapsed runs of `#` keep it linear in practice). */
function matchWords (pattern: readonly string[], p: number, name: readonly string[], n: number): boolean {
  while (p < pattern.length) {
    const w = pattern[p]
    if (w === '#') {
      // Consecutive #s are one #.
      while (p + 1 < pattern.length && pattern[p + 1] === '#') p++
      if (p === pattern.length - 1) return true // a trailing # takes the rest, even nothing
      for (let k = n; k <= name.length; k++) if (matchWords(pattern, p + 1, name, k)) return true
      return false
    }
    if (n >= name.length) return false
    if (w !== '*' && w !== name[n]) return false
    p++
    n++
  }
  return n === name.length
}

/** One-off match of `pattern` against `name` (compile with TopicPattern for repeated use). */
export function matchesTopicPattern (pattern: string, name: string): boolean {
  return new TopicPattern(pattern).matches(name)
}
