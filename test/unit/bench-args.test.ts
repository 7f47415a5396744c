import t from 'tap'
import { paddingFor, parseCount, parseDurationMs, parseList, parsePriorities, pickPriority } from '../../src/bench/args'

t.test('parsePriorities', async (t) => {
  t.same(parsePriorities('0-9'), { min: 0, max: 9 })
  t.same(parsePriorities(' 3 - 7 '), { min: 3, max: 7 })
  t.same(parsePriorities('5'), { min: 5, max: 5 })
  t.throws(() => parsePriorities('9-0'), /9 > 0/)
  t.throws(() => parsePriorities('0-10'), /invalid priority range/)
  t.throws(() => parsePriorities('a'), /invalid priority range/)
  t.throws(() => parsePriorities(''), /invalid priority range/)
})

t.test('pickPriority stays in range and reaches both ends', async (t) => {
  const r = { min: 2, max: 4 }
  t.equal(pickPriority(r, () => 0), 2)
  t.equal(pickPriority(r, () => 0.9999), 4)
  const seen = new Set<number>()
  for (let i = 0; i < 1000; i++) seen.add(pickPriority({ min: 0, max: 9 }))
  t.ok([...seen].every((p) => Number.isInteger(p) && p >= 0 && p <= 9), 'all in 0..9')
})

t.test('parseCount', async (t) => {
  t.equal(parseCount('200000'), 200000)
  t.equal(parseCount('200_000'), 200000)
  t.equal(parseCount('1,000,000'), 1000000)
  t.equal(parseCount('200k'), 200000)
  t.equal(parseCount('1M'), 1000000)
  t.equal(parseCount('1.5k'), 1500)
  t.equal(parseCount('0', 'subs', 0), 0)
  t.throws(() => parseCount('0', '--messages'), /--messages "0".*>= 1/)
  t.throws(() => parseCount('1.5'), /expected an integer/)
  t.throws(() => parseCount('-3'), /expected an integer/)
  t.throws(() => parseCount('ten'), /invalid value "ten"/)
})

t.test('parseDurationMs', async (t) => {
  t.equal(parseDurationMs('30'), 30000)
  t.equal(parseDurationMs('30s'), 30000)
  t.equal(parseDurationMs('2m'), 120000)
  t.equal(parseDurationMs('500ms'), 500)
  t.throws(() => parseDurationMs('0'), /must be > 0/)
  t.throws(() => parseDurationMs('soon'), /invalid duration/)
})

t.test('parseList', async (t) => {
  const peers = ['redis', 'nats', 'ackline'] as const
  t.same(parseList('redis, NATS,redis,', peers, 'peer'), ['redis', 'nats'])
  t.throws(() => parseList('kafka', peers, 'peer'), /unknown peer "kafka"/)
  t.throws(() => parseList(' , ', peers, 'peer'), /empty peer list/)
})

t.test('paddingFor gives events of about the requested size', async (t) => {
  const ev = `{"priority":7,"msg":{"t":${1763900000000 + 0.456},"p":"${paddingFor(100)}"}}`
  t.ok(Math.abs(ev.length - 100) <= 4, `size ${ev.length}`)
  t.equal(paddingFor(10), '')
})
