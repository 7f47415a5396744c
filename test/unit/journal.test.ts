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

t.test('records written as bytes (appendText, appendInts) are the same lines as their strings; recovery\'s codec reads the publish record back byte for byte', async t => {
  const { decodePublishRecord, publishRecordHead } = await import('../../src/persistence/publishRecord')
  const dir = t.testdir()
  const durable: number[] = []
  const j = new Journal(dir, 1, 'batch', { durable: (n) => durable.push(n), failed: () => {} })
  const topic = 'zamówienia-日本'
  const q = JSON.stringify
  const event = '{ "id" : "é-1", "priority" : 3, "msg" : "😀 \\u00e9 \\"q\\"","timestamp":1795495531604,"offset":9007199254740991}'
  const numbers = [0, 7, 10, 99, 100, 123456, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, -3, 1.5, 1e21]
  const expected: string[] = []
  j.appendText(Buffer.from(publishRecordHead(topic)), event)
  expected.push(`["P",${q(topic)},${event}]`)
  const dHead = Buffer.from(`["D",${q(topic)},${q('sub-ß')},`)
  const aHead = Buffer.from(`["A",${q(topic)},${q('sub-ß')},`)
  for (const n of numbers) {
    j.appendInts(dHead, n, n % 10, 1)
    expected.push(`["D",${q(topic)},${q('sub-ß')},${n},${n % 10},1]`)
    j.appendInts(aHead, n, n)
    expected.push(`["A",${q(topic)},${q('sub-ß')},${n},${n}]`)
  }
  j.append('["T","plain"]')
  expected.push('["T","plain"]')
  await new Promise(resolve => setImmediate(resolve))
  const lines = readFileSync(journalFile(dir, 1), 'utf8').split('\n')
  t.same(lines, [...expected, ''], 'each line as the template literal writes it')
  const p = decodePublishRecord(lines[0], JSON.parse(lines[0]))
  t.equal(p.topic, topic)
  t.equal(p.event.text, event, 'the event text exactly')
  t.equal(p.event.offset, Number.MAX_SAFE_INTEGER)
  t.ok(durable.length > 0)
  j.close()
})

t.test('under always, the group being filled never touches the one being written: many groups, one after another, every line whole and in order', async t => {
  const dir = t.testdir()
  const durable: number[] = []
  const j = new Journal(dir, 1, 'always', { durable: (n) => durable.push(n), failed: () => {} })
  const head = Buffer.from('["A","t","s",')
  const big = 'x'.repeat(70 * 1024) // a group larger than the first buffer: it grows
  let last = 0
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 50; k++) last = j.appendInts(head, round * 50 + k, round * 50 + k)
    if (round % 5 === 0) last = j.append(`["T",${JSON.stringify(big)}]`)
    await new Promise(resolve => setImmediate(resolve)) // a group goes out while the next one fills
  }
  while (!durable.includes(last)) await new Promise(resolve => setTimeout(resolve, 5))
  const lines = readFileSync(journalFile(dir, 1), 'utf8').split('\n')
  t.equal(lines.pop(), '')
  const acks = lines.filter(l => l.startsWith('["A"'))
  t.equal(acks.length, 1000)
  t.same(acks.map(l => JSON.parse(l)[3]), Array.from({ length: 1000 }, (_, i) => i), 'every record, in order')
  t.equal(lines.filter(l => l === `["T",${JSON.stringify(big)}]`).length, 4)
  j.close()
})

t.test('close() writes what is still queued (appended in the same turn) before closing', async t => {
  const dir = t.testdir()
  const durable: number[] = []
  const j = new Journal(dir, 1, 'always', { durable: (n) => durable.push(n), failed: () => {} })
  const n = j.appendInts(Buffer.from('["A","t","s",'), 5, 6)
  j.close()
  t.ok(durable.includes(n), 'reported durable')
  t.equal(readFileSync(journalFile(dir, 1), 'utf8'), '["A","t","s",5,6]\n')
})

t.test('appendInts makes room for the longest numbers, also right at the end of the group\'s first buffer', async t => {
  const dir = t.testdir()
  const j = new Journal(dir, 1, 'batch', { durable: () => {}, failed: () => {} })
  const head = Buffer.from('["D","t","s",') // 13 bytes
  // 3262 lines of 20 bytes and 10 of 21: 65,450 bytes, 86 short of the first 64 KiB buffer's end.
  for (let k = 0; k < 3262; k++) j.appendInts(head, 1, 1, 1)
  for (let k = 0; k < 10; k++) j.appendInts(head, 10, 1, 1)
  const x = -Number.MAX_VALUE // 24 characters, the longest `${x}` of a number: this line takes 89 bytes
  j.appendInts(head, x, x, x)
  await new Promise(resolve => setImmediate(resolve))
  const lines = readFileSync(journalFile(dir, 1), 'utf8').split('\n')
  t.equal(lines.pop(), '')
  t.equal(lines.length, 3273)
  t.equal(lines[3272], `["D","t","s",${x},${x},${x}]`, 'the long line whole')
  t.equal(lines[3271], '["D","t","s",10,1,1]')
  j.close()
})
