/**
 * Wildcard subscriptions (`sub orders.*`, `sub orders.#`): the broker
 * delivers each event with its concrete topic (`EVENT orders.eu {…}`), so the
 * client finds the subscription whose pattern matches it. RabbitMQ topic
 * semantics: names are words separated by `.`, `*` is exactly one word, `#`
 * zero or more. The broker has its own matcher; the client carries this small
 * one so that it needs no broker code at run time.
 */

/** Whether `topic` is a pattern (one of its words is `*` or `#`) rather than a topic name. */
export function isTopicPattern (topic: string): boolean {
  return topic.split('.').some(w => w === '*' || w === '#')
}

/** Whether the topic name matches the pattern. */
export function topicMatches (pattern: string, topic: string): boolean {
  return matchWords(pattern.split('.'), 0, topic.split('.'), 0)
}

function matchWords (pattern: readonly string[], p: number, name: readonly string[], n: number): boolean {
  for (; p < pattern.length; p++, n++) {
    const w = pattern[p]
    if (w === '#') {
      while (p + 1 < pattern.length && pattern[p + 1] === '#') p++ // a run of # is one #
      if (p === pattern.length - 1) return true
      for (let k = n; k <= name.length; k++) if (matchWords(pattern, p + 1, name, k)) return true
      return false
    }
    if (n >= name.length || (w !== '*' && w !== name[n])) return false
  }
  return n === name.length
}
