import t from 'tap'
import { readFileSync } from 'node:fs'
import { Journal, journalFile } from '../../src/persistence/journal'

t.test('a rotation under fsync always: its records and the next generation\'s become durable in order, off the event loop', async t => {
  const dir = t.testdir()
  const durable: number[] = []
  const failed: number[] = []
  const j = new Journal(dir, 1, 'always', { durable: (n) => durable.push(n), failed: (n) => failed.push(n) })
  const first = j.append('["T","a"]')
  await j.pauseForRotation()
  j.rotate(2) // writes the queued record to generation 1; its sync runs in the background
  const second = j.append('["T","b"]')
  t.ok(second > first)
  t.same(durable, [], 'nothing is reported durable before the rotation\'s sync is done')
  await j.pauseForRotation() // idle again: the rotation's sync and the next group are done or waiting
  await new Promise(resolve => setTimeout(resolve, 50))
  j.rotate(3)
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(failed, [])
  t.ok(durable.includes(first) && durable.includes(second), `both tickets durable (${durable.join(',')})`)
  t.same(durable, [...durable].sort((a, b) => a - b), 'in order')
  t.equal(readFileSync(journalFile(dir, 1), 'utf8'), '["T","a"]\n')
  t.equal(readFileSync(journalFile(dir, 2), 'utf8'), '["T","b"]\n')
  t.equal(j.gen, 3)
  j.close()
})

t.test('a rotation with nothing queued, under batch and always, leaves the journal usable', async t => {
  for (const policy of ['batch', 'always'] as const) {
    const dir = t.testdir()
    const durable: number[] = []
    const j = new Journal(dir, 5, policy, { durable: (n) => durable.push(n), failed: () => {} })
    await j.pauseForRotation()
    j.rotate(6)
    const n = j.append('["T","x"]')
    await new Promise(resolve => setTimeout(resolve, 50))
    t.ok(durable.includes(n), `${policy}: the next record is durable`)
    t.equal(readFileSync(journalFile(dir, 6), 'utf8'), '["T","x"]\n')
    j.close()
  }
})
