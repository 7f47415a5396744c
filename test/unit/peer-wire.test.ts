import t from 'tap'
import { readNumber, Scanner } from '../bench/peers/wire'
import { ConfirmTracker } from '../bench/peers/amqp'

/** Feed `stream` to a fresh scanner split at `cut` (and, with `cut2`, again there). */
function feed(make: () => Scanner, stream: Buffer, cuts: number[]): void {
  const s = make()
  let from = 0
  for (const c of cuts) {
    s.push(stream.subarray(from, c))
    from = c
  }
  s.push(stream.subarray(from))
}

t.test('Scanner counts every marker once wherever the chunks are cut', async (t) => {
  // NATS-like deliveries, plus a short marker (PING) that may sit in the kept tail
  const msg = (i: number): string => `MSG bench.x 1 20\r\n{"msg":{"t":${i}.5}}\r\n`
  const text = Array.from({ length: 6 }, (_, i) => msg(i) + (i % 2 ? 'PING\r\n' : '')).join('')
  const stream = Buffer.from(text, 'latin1')
  for (let a = 0; a <= stream.length; a++) {
    for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 7)]) {
      let msgs = 0
      let pings = 0
      feed(() => new Scanner([
        ['MSG ', (_b, _at, end) => (msgs++, end)],
        ['PING\r\n', (_b, _at, end) => (pings++, end)],
      ]), stream, [a, b])
      if (msgs !== 6 || pings !== 3) {
        t.fail(`cut at ${a}/${b}: ${msgs} MSG, ${pings} PING`)
        return
      }
    }
  }
  t.pass('6 MSG and 3 PING at every cut')
})

t.test('a hook that needs more bytes gets the frame again, whole, with the next chunk', async (t) => {
  const stream = Buffer.from(['EVENT top {"id":17,"x":1}\n', 'OK acked 17 on top\n', 'EVENT top {"id":123456,"x":2}\n'].join(''), 'latin1')
  const idAt = 'top '.length + '{"id":'.length
  for (let cut = 0; cut <= stream.length; cut++) {
    const ids: string[] = []
    let acks = 0
    feed(() => new Scanner([
      ['EVENT ', (b, _at, end) => {
        const comma = b.indexOf(44, end + idAt)
        if (comma < 0) return -1
        ids.push(b.toString('latin1', end + idAt, comma))
        return comma
      }],
      ['OK acked ', (_b, _at, end) => (acks++, end)],
    ]), stream, [cut])
    if (ids.join() !== '17,123456' || acks !== 1) {
      t.fail(`cut at ${cut}: ids ${ids.join()} acks ${acks}`)
      return
    }
  }
  t.pass('ids 17 and 123456, one ack, at every cut')
})

t.test('readNumber reads the send time and refuses one that may be cut off', async (t) => {
  t.equal(readNumber(Buffer.from('1763900000000.125,'), 0), 1763900000000.125)
  t.equal(readNumber(Buffer.from('42}'), 0), 42)
  t.ok(Number.isNaN(readNumber(Buffer.from('1763900'), 0)), 'no terminator: the digits may go on in the next chunk')
  t.ok(Number.isNaN(readNumber(Buffer.from('x1'), 0)))
})

t.test('AMQP publisher confirms: single and multiple acks, each publish settled once', async (t) => {
  const c = new ConfirmTracker(10)
  t.equal(c.settle(2, false), 1)
  t.equal(c.settle(3, true), 2, '1 and 3 (2 was already settled)')
  t.equal(c.settle(3, false), 0)
  t.equal(c.settle(10, true), 7)
  t.equal(c.settle(10, true), 0)
})
