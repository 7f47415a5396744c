import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { compactedQueue } from '../../src/server/connection'
import { startTestBroker } from '../helpers/broker'
import { recordedConnection } from '../helpers/recordingSocket'

/** The connection's queues, which these tests look into. */
interface Queues {
  inbox: unknown[]
  inboxHead: number
  held: unknown[]
  heldHead: number
}

t.test('compactedQueue cuts the emptied front off once the head is past half (and past 1024 slots)', async t => {
  const q: Array<number | undefined> = Array.from({ length: 3000 }, (_, i) => i)
  t.notOk(compactedQueue(q, 1023), 'not below 1024')
  t.notOk(compactedQueue(q, 1400), 'not below half')
  t.equal(q.length, 3000)
  t.ok(compactedQueue(q, 1500))
  t.equal(q.length, 1500)
  t.equal(q[0], 1500, 'what was at the head is at 0')
  t.equal(q[1499], 2999)
})

t.test('a client that never lets its input run empty: applied lines are let go at once and the inbox stays in proportion', async t => {
  const { broker } = await startTestBroker(t, { http: null, workerBatchLines: 100 })
  const { socket, conn } = recordedConnection(broker, 2001)
  const q = conn as unknown as Queues
  // Lines keep coming before the queue runs empty (the worker applies a few batches of 100 a turn), as from a pipelining publisher.
  const feed = (n: number): void => {
    let text = ''
    for (let i = 0; i < n; i++) text += `pub q.t {"id":"m${sent++}","msg":"${'x'.repeat(60)}"}\n`
    socket.emit('data', Buffer.from(text))
  }
  let sent = 0
  feed(2000)
  let compacted = false
  let turns = 0
  let kept = 0
  let biggest = 0
  while (sent < 12000) {
    const before = q.inboxHead
    await turn()
    if (q.inboxHead === q.inbox.length) t.fail('the queue ran empty: the test must feed faster')
    turns++
    if (q.inboxHead < before) compacted = true
    for (let i = 0; i < q.inboxHead; i++) if (q.inbox[i] !== undefined) kept++
    biggest = Math.max(biggest, q.inbox.length - Math.max(1024, 2 * (q.inbox.length - q.inboxHead)))
    if (q.inbox.length - q.inboxHead < 3000) feed(1000)
  }
  t.equal(kept, 0, 'no applied line was still referenced')
  t.ok(biggest <= 1000, `the inbox stayed in proportion to what was queued (${biggest} slots over)`)
  t.ok(compacted, `the inbox was compacted while lines were queued (${turns} turns)`)
  while (q.inboxHead < q.inbox.length) await turn()
  await turn()
  const replies = socket.writes.join('').split('\n').filter(l => l !== '')
  t.equal(replies.length, sent, 'every line answered')
  t.ok(replies.every((l, i) => l === `OK m${i} published to q.t (0 subscribers)`), 'in order')
  socket.emit('close')
})

t.test('held replies: released ones are let go at once, the queue compacted, the rest still in order', async t => {
  const { broker } = await startTestBroker(t, { http: null })
  const { socket, conn } = recordedConnection(broker, 2002)
  const q = conn as unknown as Queues
  for (let i = 1; i <= 3000; i++) conn.hold(`OK ${i}`, i)
  t.notOk(conn.releaseHeld(1000), 'some still held')
  t.equal(q.heldHead, 1000, 'below 1024: not compacted yet')
  for (let i = 0; i < q.heldHead; i++) if (q.held[i] !== undefined) { t.fail(`slot ${i} still holds its reply`); break }
  t.notOk(conn.releaseHeld(1600))
  t.equal(q.heldHead, 0, 'past half: compacted')
  t.equal(q.held.length, 1400)
  conn.reply('OK after') // queued behind the held ones
  t.ok(conn.releaseHeld(3000), 'all released')
  await turn()
  const lines = socket.writes.join('').split('\n').filter(l => l !== '')
  t.same(lines, [...Array.from({ length: 3000 }, (_, i) => `OK ${i + 1}`), 'OK after'], 'every reply once, in order')
  socket.emit('close')
})

t.test('queued lines count the reads they keep alive: a short line queued with a long unfinished one pauses reading', async t => {
  const { broker } = await startTestBroker(t, { http: null, workerBatchLines: 1, maxLineBytes: 1024, flushBytes: 1024 })
  const { socket, conn } = recordedConnection(broker, 3001)
  let paused = false
  socket.pause = () => { paused = true }
  socket.resume = () => { paused = false }
  // Each read: the end of the last read's long line, two short lines, then 20 KB of a line too long to run. A queued
  // `ping` is a slice of its read's text, so it keeps the whole read alive: the queue's bound counts the read, not 4 characters.
  const read = Buffer.from('\nping\nping\n' + 'x'.repeat(20_000))
  socket.emit('data', read)
  socket.emit('data', read)
  t.ok(conn.queuedLines >= 2, `lines are queued (${conn.queuedLines})`)
  t.ok(paused, 'reading paused: the queued lines hold two reads of 20 KB, past maxLineBytes + flushBytes')
  while (conn.hasLines()) await turn()
  await turn()
  t.notOk(paused, 'reading resumed once the queue ran empty')
  t.equal(socket.writes.join('').split('\n').filter(l => l.endsWith('PONG')).length, 4, 'every ping answered')
  socket.emit('close')
})
