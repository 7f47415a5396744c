import t from 'tap'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { setImmediate as turn } from 'node:timers/promises'
import { Connection } from '../../src/server/connection'
import { startTestBroker } from '../helpers/broker'

/** A stand-in socket: records what the connection writes, and when; input is handed to its `data` listener. */
class RecordingSocket extends EventEmitter {
  readonly writes: string[] = []
  writableLength = 0
  remoteAddress = '127.0.0.1'
  setNoDelay (): void {}
  pause (): void {}
  resume (): void {}
  end (): void {}
  destroy (): void {}
  write (data: string | Buffer): boolean {
    this.writes.push(String(data))
    return true
  }
}

function connect (broker: Awaited<ReturnType<typeof startTestBroker>>['broker'], id: number): RecordingSocket {
  const socket = new RecordingSocket()
  void new Connection(id, socket as unknown as Socket, broker.manager, broker.config, () => {})
  return socket
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
