// The harness ceiling for the peer runner: a minimal Node line forwarder.
// A connection whose first line starts with "sub " is a subscriber; every line
// from any other connection is forwarded, unparsed, to every subscriber. Every
// line received from anyone gets "OK\n" back (the publisher's window and the
// subscribers' acks wait for it). No JSON, no queue, no flow control: driven
// through the same harness as the brokers, it shows when the load generator,
// not the broker, is the limit.
//
//   node test/bench/peers/forwarder.mjs <port>     (listens on 127.0.0.1 only)
import * as net from 'node:net'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node forwarder.mjs <port>\n')
  process.exit(2)
}

const subscribers = new Set()
const okCache = []
/** "OK\n" n times (cached: the same counts recur). */
function oks(n) {
  if (n < 1024) return (okCache[n] ??= Buffer.from('OK\n'.repeat(n)))
  return Buffer.from('OK\n'.repeat(n))
}
const SUB = Buffer.from('sub ')

const server = net.createServer((sock) => {
  sock.setNoDelay(true)
  let role = null
  let tail = null
  sock.on('data', (chunk) => {
    if (role === null) {
      role = chunk.subarray(0, 4).equals(SUB) ? 'sub' : 'pub'
      if (role === 'sub') subscribers.add(sock)
    }
    let n = 0
    let last = -1
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
      n++
      last = i
    }
    if (role === 'pub') {
      // forward whole lines only (a line cut by the chunk boundary waits for its end)
      if (last === -1) {
        tail = tail === null ? chunk : Buffer.concat([tail, chunk])
      } else {
        const lines = tail === null ? chunk.subarray(0, last + 1) : Buffer.concat([tail, chunk.subarray(0, last + 1)])
        tail = last + 1 < chunk.length ? chunk.subarray(last + 1) : null
        for (const s of subscribers) s.write(lines)
      }
    }
    if (n > 0) sock.write(oks(n))
  })
  sock.on('error', () => undefined)
  sock.on('close', () => subscribers.delete(sock))
})
server.listen(port, '127.0.0.1')
const stop = () => process.exit(0)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The runner stops us by PID; if it dies without doing so, do not outlive it.
setInterval(() => {
  try {
    process.kill(process.ppid, 0)
  } catch {
    process.exit(0)
  }
}, 1000).unref()
