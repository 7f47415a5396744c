import t from 'tap'
import { isTopicPattern, matchesTopicPattern, topicPatternProblem, TopicPattern } from '../../src/routing/topicPattern'

t.test('RabbitMQ topic semantics: * is exactly one word, # is zero or more', async t => {
  const cases: Array<[string, string, boolean]> = [
    ['orders.*', 'orders.eu', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.eu.paid', false],
    ['orders.#', 'orders', true],
    ['orders.#', 'orders.eu', true],
    ['orders.#', 'orders.eu.paid', true],
    ['orders.#', 'ordersx.eu', false],
    ['#', 'a', true],
    ['#', 'a.b.c', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['#.paid', 'paid', true],
    ['#.paid', 'orders.eu.paid', true],
    ['#.paid', 'orders.eu.paid.late', false],
    ['*.eu.#', 'orders.eu', true],
    ['*.eu.#', 'eu', false],
    ['*.eu.#', 'orders.eu.paid.now', true],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['a.#.#.z', 'a.z', true],
    ['a.*.#.z', 'a.z', false],
    ['a.*.#.z', 'a.b.z', true],
    ['#.#', 'x.y', true],
    ['orders.eu', 'orders.eu', true],
    ['orders.eu', 'orders.us', false],
    ['stock.*.nyse', 'stock.usd.nyse', true],
    ['stock.*.nyse', 'stock.nyse', false],
  ]
  for (const [pattern, name, want] of cases) {
    t.equal(matchesTopicPattern(pattern, name), want, `${pattern} ${want ? 'matches' : 'does not match'} ${name}`)
  }
})

t.test('a compiled pattern is reusable and keeps its text', async t => {
  const p = new TopicPattern('logs.*.error')
  t.equal(p.text, 'logs.*.error')
  t.ok(p.matches('logs.api.error'))
  t.ok(p.matches('logs.db.error'))
  t.notOk(p.matches('logs.api.warn'))
  t.notOk(p.matches('logs.api.error.x'), 'no # means exactly as many words')
})

t.test('patterns are told from names, and * or # inside a word is refused', async t => {
  t.ok(isTopicPattern('orders.*'))
  t.ok(isTopicPattern('#'))
  t.notOk(isTopicPattern('orders.eu'))
  t.notOk(isTopicPattern('a*b'), 'not a whole word: not a pattern')
  t.equal(topicPatternProblem('orders.*.#'), null)
  t.equal(topicPatternProblem('orders.eu'), null)
  t.match(topicPatternProblem('orders.eu*'), /must be whole words, got "eu\*"/)
  t.match(topicPatternProblem('#x'), /"#x"/)
})
