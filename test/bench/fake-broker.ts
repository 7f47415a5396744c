/**
 * Minimal stand-in for the Ackline broker, only to smoke-test the bench client
 * before the real broker lands on main. Not a reference implementation.
 * Run: npx tsx test/bench/fake-broker.ts [port]   (or: ... start --port P, like `ackline start`)
 */
import * as net from 'node:net'
import { LineSplitter } from '../../src/bench/lines'

interface Sub { sock: net.Socket; max: number; inflight: Set<string>; queue: string[][] /* by priority */ }
const topics = new Map<string, Sub[]>()
let nextId = 1

function pump(topic: string, s: Sub): void {
  let out = ''
  for (let p = 9; p >= 0 && s.inflight.size < s.max; p--) {
    const q = s.queue[p]!
    while (q.length > 0 && s.inflight.size < s.max) {
      const ev = q.shift()!
      s.inflight.add(JSON.parse(ev).id as string)
      out += `EVENT ${topic} ${ev}\n`
    }
  }
  if (out) s.sock.write(out)
}

const server = net.createServer((sock) => {
  const split = new LineSplitter()
  const mine = new Map<string, Sub>()
  sock.on('error', () => undefined)
  sock.on('close', () => {
    for (const [t, s] of mine) topics.set(t, (topics.get(t) ?? []).filter((x) => x !== s))
  })
  sock.on('data', (chunk: Buffer) => {
    let out = ''
    split.push(chunk, (line) => {
      const [cmd, topic, ...rest] = line.split(' ')
      if (cmd === 'pub' && topic) {
        const ev = JSON.parse(rest.join(' ')) as { id?: string; priority?: number; msg: unknown }
        const id = String(ev.id ?? nextId++)
        const prio = ev.priority ?? 5
        const subs = topics.get(topic) ?? []
        topics.set(topic, subs)
        const json = JSON.stringify({ id, priority: prio, msg: ev.msg, timestamp: Date.now() })
        for (const s of subs) {
          s.queue[prio]!.push(json)
          pump(topic, s)
        }
        out += `OK ${id} published to ${topic} (${subs.length} subscribers)\n`
      } else if (cmd === 'sub' && topic) {
        const subs = topics.get(topic)
        if (!subs) {
          out += `ERR UNKNOWN_TOPIC no such topic ${topic}\n`
          return
        }
        const s: Sub = { sock, max: Number(rest[0] ?? 1), inflight: new Set(), queue: Array.from({ length: 10 }, () => []) }
        subs.push(s)
        mine.set(topic, s)
        out += `OK subscribed to ${topic}\n`
      } else if (cmd === 'ack' && topic) {
        const s = mine.get(topic)
        if (s && s.inflight.delete(rest[0]!)) {
          out += `OK acked ${rest[0]}\n`
          sock.write(out)
          out = ''
          pump(topic, s)
        } else out += `ERR NOT_IN_FLIGHT ${rest[0]}\n`
      } else if (cmd === 'ping') out += 'OK PONG\n'
      else out += `ERR BAD_COMMAND ${cmd}\n`
    })
    if (out) sock.write(out)
  })
})
const pi = process.argv.indexOf('--port')
const port = Number(pi > 0 ? process.argv[pi + 1] : (process.argv[2] ?? 8000))
server.listen(port, '127.0.0.1', () => process.stdout.write(`fake broker listening on 127.0.0.1:${port}\n`))
