import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { startTestBroker } from '../helpers/broker'
import { recordedConnection, type RecordingSocket } from '../helpers/recordingSocket'

function connect (broker: Awaited<ReturnType<typeof startTestBroker>>['broker'], id: number): RecordingSocket {
  return recordedConnection(broker, id).socket
}

t.test('events a client\'s own ack made room for are written when its lines are done, not at the end of the turn', async t => {
  const { broker } = await startTestBroker(t, { http: null })
  const pub = connect(broker, 1001)
  const sub = connect(broker, 1002)
  pub.emit('data', Buffer.from('pub flush.t {"msg":"create"}\n'))
  sub.emit('data', Buffer.from('sub flush.t 1\n'))
  await turn()
  pub.emit('data', Buffer.from('pub flush.t {"id":"a","msg":1}\npub flush.t {"id":"b","msg":2}\n'))
  await turn()
  t.match(sub.writes.join(''), /^OK subscribed[^\n]*\nEVENT flush\.t \{[^\n]*"id":"a"/, 'the first event went out (in-flight cap 1)')
  t.notMatch(sub.writes.join(''), /"id":"b"/, 'the second waits for a free slot')

  const before = sub.writes.length
  sub.emit('data', Buffer.from('ack flush.t a\n')) // applied synchronously: the ack frees the slot, "b" is delivered
  const now = sub.writes.slice(before).join('')
  t.match(now, /^OK acked a on flush\.t\nEVENT flush\.t \{[^\n]*"id":"b"/, 'the ack\'s reply and the event it made room for are written before the turn ends')
  await turn()
  t.equal(sub.writes.slice(before).join(''), now, 'nothing was left for the end of the turn')
  for (const s of [pub, sub]) s.emit('close')
})

t.test('a publisher\'s replies still wait for the end of the turn (one write for the whole read)', async t => {
  const { broker } = await startTestBroker(t, { http: null })
  const pub = connect(broker, 1003)
  pub.emit('data', Buffer.from('pub flush.p {"msg":1}\npub flush.p {"msg":2}\n'))
  t.equal(pub.writes.length, 0, 'nothing written while the read is applied')
  await turn()
  t.equal(pub.writes.length, 1, 'one write at the end of the turn')
  t.match(pub.writes[0], /^OK 1 published to flush\.p \(0 subscribers\)\nOK 2 published to flush\.p \(0 subscribers\)\n$/)
  pub.emit('close')
})

t.test('a publisher released by an ack runs in a later turn, after the events that ack made room for are written', async t => {
  const { broker } = await startTestBroker(t, { http: null, publishHoldPending: 4, publishHoldMaxMs: 60000 })
  const stats = broker.manager.ctx.stats
  const pub = connect(broker, 1004)
  const sub = connect(broker, 1005)
  pub.emit('data', Buffer.from('pub flush.f {"msg":"create"}\n'))
  sub.emit('data', Buffer.from('sub flush.f 1\n'))
  await turn()
  pub.emit('data', Buffer.from('pub flush.f {"id":"e0","msg":0}\n'))
  await turn()
  sub.emit('data', Buffer.from('ack flush.f e0\n')) // an active subscriber (it acks): flow control may hold the publisher for it
  await turn()
  const lines = Array.from({ length: 10 }, (_, i) => `pub flush.f {"id":"e${i + 1}","msg":${i + 1}}\n`).join('')
  pub.emit('data', Buffer.from(lines))
  await turn()
  const applied = stats.published
  t.ok(applied < 12, `the publisher is held with ${10 - (applied - 2)} pubs unapplied (more than 4 events waiting)`)
  // Each ack frees the one slot; at 2 waiting (half of publishHoldPending) the publisher is released.
  for (const id of ['e1', 'e2']) {
    sub.emit('data', Buffer.from(`ack flush.f ${id}\n`))
    await turn()
  }
  const before = sub.writes.length
  const held = stats.published
  sub.emit('data', Buffer.from('ack flush.f e3\n'))
  t.equal(stats.published, held, 'the released publisher\'s lines are not applied inside the ack that released it')
  t.match(sub.writes.slice(before).join(''), /^OK acked e3 on flush\.f\nEVENT flush\.f \{[^\n]*"id":"e4"/, 'the event that ack made room for is written first')
  await turn()
  t.ok(stats.published > held, `then, in a later turn, its pubs are applied again (${stats.published - held} until it is held again)`)
  for (const s of [pub, sub]) s.emit('close')
})
