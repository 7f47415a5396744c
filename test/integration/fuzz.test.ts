/**
 * Hostile input, bounded and reproducible (seeded PRNG): random bytes, mutated
 * command lines, invalid UTF-8, NUL bytes and telnet sequences, over-long
 * lines, truncated JSON, all split into random chunks. Checks that the broker
 * keeps running, that every complete non-blank line gets exactly one reply
 * and every telnet option request its answer (counted against an independent
 * model of the framing rules in docs/protocol.md), and that a well-behaved
 * client is served throughout.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { startTestBroker, type LineClient, type TestBroker } from '../helpers/broker'
import { RawClient, T } from '../helpers/telnet'
import { CommandRegistry } from '../../src/commands/registry'
import { BUILTIN_COMMANDS } from '../../src/commands/builtin'
import { DEFAULTS } from '../../src/config/defaults'

const MAX_LINE = 256
const LINES_PER_ROUND = 700
const SEEDS = [1, 2, 3, 0xC0FFEE, 20261123]

/** mulberry32: small, fast, good enough for fuzzing. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const VALID = [
  'ping', 'PING', 'help', 'stats', 'stats fz1', 'stats fz2 extra',
  'pub fz1 {"msg":"hello"}',
  'pub fz2 {"id":"x1","priority":7,"msg":{"a":[1,2,3]}}',
  'PUBLISH fz1 {"id":42,"msg":"n"}',
  'pub fz3 {"msg":"é ü 日本 \\u0000 \\n"}',
  'sub fz1', 'sub fz2 3', 'SUBSCRIBE fz3 1000', 'unsub fz1', 'ack fz1 1', 'ack fz2 x1', 'ACKNOWLEDGE fz1 42',
  'name fuzzer', 'sub ../etc 1', 'pub fz1 {"deliveries":1,"msg":"x"}', 'pub fz1 {"id":"has space","msg":"x"}',
]
const INVALID_UTF8 = [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xFE], [0xF8, 0x88, 0x80, 0x80, 0x80]]
const IAC = 0xFF
const registry = new CommandRegistry(BUILTIN_COMMANDS, DEFAULTS)

interface Line {
  /** Bytes as sent, terminator included. */
  wire: number[]
  /** Bytes the broker's framer should see as the line (telnet decoded, no terminator). */
  content: number[]
  /** The telnet answers the option requests laced into this line call for, in order. */
  answers: number[][]
}

/** Two-byte telnet commands that do not edit the line (IP, EC and EL do; the unit tests model those exactly). */
const PLAIN_COMMANDS = [241, 242, 243, 245, 246, 249] // NOP, DM, BRK, AO, AYT, GA

/** What the broker answers to IAC <verb> <option>: it agrees to TIMING-MARK only, and never answers a refusal. */
function answerTo (verb: number, option: number): number[] | null {
  if (verb === T.DO) return [T.IAC, option === T.TM ? T.WILL : T.WONT, option]
  if (verb === T.WILL) return [T.IAC, T.DONT, option]
  return null
}

class Gen {
  constructor (private readonly rnd: () => number) {}
  int (n: number): number { return Math.floor(this.rnd() * n) }
  pick<T> (xs: readonly T[]): T { return xs[this.int(xs.length)] }
  chance (p: number): boolean { return this.rnd() < p }

  /**
   * A content byte: anything but LF, CR (CR only appears in terminators, so NUL handling is exact), NUL, and
   * the erase bytes BS and DEL (an erase can bring an over-long line back under the limit depending on how the
   * line was split into reads; the unit tests model line editing exactly).
   */
  byte (): number {
    for (;;) {
      const b = 1 + this.int(255)
      if (b !== 0x0A && b !== 0x0D && b !== 0x08 && b !== 0x7F) return b
    }
  }

  bytes (n: number): number[] {
    return Array.from({ length: n }, () => this.byte())
  }

  mutate (s: number[]): number[] {
    const out = s.slice()
    const ops = 1 + this.int(3)
    for (let i = 0; i < ops; i++) {
      const at = this.int(out.length + 1)
      switch (this.int(8)) {
        case 0: out.splice(at, 1); break
        case 1: out.splice(at, 0, this.byte()); break
        case 2: if (at < out.length) out[at] = this.byte(); break
        case 3: { const len = this.int(20); out.splice(at, 0, ...out.slice(at, at + len)); break }
        case 4: out.length = Math.min(out.length, at); break
        case 5: if (at < out.length && /[a-z]/i.test(String.fromCharCode(out[at]))) out[at] ^= 0x20; break
        case 6: out.splice(at, 0, ...Array.from({ length: 1 + this.int(4) }, () => this.pick([0x20, 0x09]))); break
        case 7: out.splice(at, 0, ...this.pick(INVALID_UTF8)); break
      }
    }
    return out
  }

  content (): number[] {
    const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')]
    const k = this.int(100)
    if (k < 35) return this.mutate(utf8(this.pick(VALID)))
    if (k < 45) return utf8(this.pick(VALID))
    if (k < 58) return this.bytes(this.int(80))
    if (k < 66) { // invalid UTF-8 inside otherwise valid commands
      const s = utf8(this.pick(VALID))
      s.splice(this.int(s.length + 1), 0, ...this.pick(INVALID_UTF8))
      return s
    }
    if (k < 74) { // over-long lines, and lines right at the edge
      const len = this.pick([MAX_LINE, MAX_LINE + 1, MAX_LINE + 2, MAX_LINE * 3, 20000 + this.int(20000)])
      return this.chance(0.5) ? this.bytes(len) : utf8(('pub fz1 {"msg":"' + 'y'.repeat(len)).slice(0, len))
    }
    if (k < 82) { // truncated JSON
      const json = JSON.stringify({ id: `t${this.int(1000)}`, priority: this.int(12), msg: { text: 'trunc', list: [1, 'two', null] } })
      return utf8(`pub fz${this.int(4)} ${json.slice(0, this.int(json.length))}`)
    }
    if (k < 90) return Array.from({ length: this.int(6) }, () => this.pick([0x20, 0x09])) // blank
    return utf8(this.pick(VALID))
  }

  /** Encodes content for the wire: 0xFF doubled, plus telnet commands and stray NULs the framer must drop. */
  wire (content: number[], laced: boolean, answers: number[][]): number[] {
    const out: number[] = []
    const extra = (): void => {
      switch (this.int(4)) {
        case 0: out.push(0x00); break // stray NUL (never after a CR: content has none)
        case 1: out.push(IAC, this.pick(PLAIN_COMMANDS)); break // two-byte command
        case 2: { // WILL/WONT/DO/DONT <option>
          const verb = 251 + this.int(4)
          const option = this.chance(0.2) ? T.TM : this.int(256)
          out.push(IAC, verb, option)
          const answer = answerTo(verb, option)
          if (answer !== null) answers.push(answer)
          break
        }
        case 3: out.push(IAC, 250, ...Array.from({ length: this.int(5) }, () => this.int(255)), IAC, 240); break // SB ... SE
      }
    }
    for (const b of content) {
      if (laced && this.chance(0.1)) extra()
      if (b === IAC) out.push(IAC, IAC)
      else out.push(b)
    }
    if (laced && this.chance(0.3)) extra()
    const term = this.int(10)
    if (term < 6) out.push(0x0A)
    else if (term < 9) out.push(0x0D, 0x0A)
    else out.push(0x0D, 0x00) // telnet's CR NUL
    return out
  }

  line (): Line {
    for (;;) {
      const content = this.content()
      if (isQuit(content)) continue // quit would end the session; everything else must be answered
      // Content bytes 0xFF come only from invalid-UTF-8 mutations: encode them as IAC IAC.
      const answers: number[][] = []
      return { content, wire: this.wire(content, this.chance(0.25), answers), answers }
    }
  }
}

function isQuit (content: number[]): boolean {
  if (content.length > MAX_LINE) return false
  const word = Buffer.from(content).toString('utf8').replace(/^[ \t]+/, '').split(/[ \t]/)[0]
  return word !== '' && registry.lookup(word)?.name === 'quit'
}

/** The model: how many replies a line gets (framing rules of docs/protocol.md). */
function expectedReplies (l: Line): number {
  if (l.content.length > MAX_LINE) return 1 // one ERR LINE_TOO_LONG
  if (l.content.every(b => b === 0x20 || b === 0x09)) return 0 // blank lines are ignored
  return 1
}

/**
 * Splits what the broker sent into lines and telnet answers (IAC <verb> <option>). Broker text is UTF-8 and
 * never holds a 0xFF byte, so an IAC always starts an answer. The last line may be unfinished: left out.
 */
function parseStream (all: Buffer): { lines: string[], answers: number[][] } {
  const lines: string[] = []
  const answers: number[][] = []
  let text: number[] = []
  for (let i = 0; i < all.length; i++) {
    if (all[i] === T.IAC) {
      answers.push([...all.subarray(i, i + 3)])
      i += 2
    } else if (all[i] === 0x0A) {
      lines.push(Buffer.from(text).toString('utf8'))
      text = []
    } else {
      text.push(all[i])
    }
  }
  return { lines, answers }
}

async function sendInChunks (c: { socket: Socket }, data: Buffer, g: Gen): Promise<void> {
  let i = 0
  while (i < data.length) {
    const size = g.chance(0.3) ? 1 + g.int(8) : 1 + g.int(3000)
    const ok = c.socket.write(data.subarray(i, i + size))
    i += size
    if (!ok) await new Promise(resolve => c.socket.once('drain', resolve))
    else if (g.chance(0.2)) await new Promise(resolve => setImmediate(resolve))
  }
}

/** A well-behaved client that pings until told to stop; every ping must be answered. */
function keepPinging (good: LineClient): { stop: () => Promise<number> } {
  let running = true
  let pongs = 0
  const loop = (async () => {
    while (running) {
      const r = await good.request('ping')
      if (r !== 'OK PONG') throw new Error(`well-behaved client got ${r}`)
      pongs++
    }
  })()
  return { stop: async () => { running = false; await loop; return pongs } }
}

async function waitForConnections (tb: TestBroker, n: number): Promise<void> {
  const deadline = Date.now() + 10000
  while (tb.broker.server.connections.size !== n) {
    if (Date.now() > deadline) throw new Error(`broker still has ${tb.broker.server.connections.size} connections, expected ${n}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

t.test('every complete line of hostile input gets exactly one reply; a good client is served throughout', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: MAX_LINE })
  const good = await tb.client()
  t.equal(await good.request('ping'), 'OK PONG')
  const pinger = keepPinging(good)
  for (const seed of SEEDS) {
    const g = new Gen(prng(seed))
    const lines = Array.from({ length: LINES_PER_ROUND }, () => g.line())
    const expected = lines.reduce((n, l) => n + expectedReplies(l), 0)
    const expectedAnswers = lines.flatMap(l => l.answers)
    const sentinel = `ack fuzz-sentinel-${seed} 1`
    const data = Buffer.concat([Buffer.from(lines.flatMap(l => l.wire)), Buffer.from(sentinel + '\n')])
    const fz = await RawClient.connect(tb.port)
    await sendInChunks(fz, data, g)
    const sentinelReply = (all: Buffer): boolean => parseStream(all).lines.some(l => l.includes(`fuzz-sentinel-${seed} `))
    const stream = parseStream(await fz.waitUntil(sentinelReply, `the reply to ${sentinel}`, 10000))
    const replies = stream.lines.filter(l => !l.startsWith('EVENT '))
    t.equal(replies.length - 1, expected, `seed ${seed}: ${LINES_PER_ROUND} lines, ${expected} non-blank, as many replies`)
    t.same(stream.answers, expectedAnswers, `seed ${seed}: ${expectedAnswers.length} option requests answered, in order`)
    const malformed = replies.filter(r => !/^(OK|ERR [A-Z_]+) /.test(r))
    t.same(malformed, [], `seed ${seed}: every reply is OK or ERR <CODE>`)
    t.same(replies.filter(r => r.startsWith('ERR INTERNAL')), [], `seed ${seed}: no internal errors`)
    t.ok(replies.some(r => r.startsWith('ERR LINE_TOO_LONG')), `seed ${seed}: over-long lines were exercised`)
    // Deliveries (EVENT lines) may still trickle in; replies must not.
    await new Promise(resolve => setTimeout(resolve, 50))
    const after = parseStream(fz.received)
    t.equal(after.lines.filter(l => !l.startsWith('EVENT ')).length, replies.length, `seed ${seed}: no reply after the sentinel's`)
    t.equal(after.answers.length, expectedAnswers.length, `seed ${seed}: no telnet answer after the sentinel's reply`)
    fz.destroy()
  }
  const pongs = await pinger.stop()
  t.ok(pongs > 0, `the well-behaved client's ${pongs} pings were all answered during the fuzz`)
  await waitForConnections(tb, 1)
  t.equal(await good.request('ping'), 'OK PONG')
})

t.test('raw random bytes (any value, telnet and NUL included) on many connections do not hurt the broker', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: MAX_LINE })
  const good = await tb.client()
  const pinger = keepPinging(good)
  const g = new Gen(prng(99))
  for (let i = 0; i < 30; i++) {
    const c = await tb.client()
    const data = Buffer.from(Array.from({ length: 1 + g.int(30000) }, () => g.int(256)))
    await sendInChunks(c, data, g)
    if (g.chance(0.5)) c.destroy()
    else c.socket.end()
  }
  // A connection that sends garbage and then half-closes is answered and closed by the broker.
  await waitForConnections(tb, 1)
  const pongs = await pinger.stop()
  t.ok(pongs > 0, `the well-behaved client was served throughout (${pongs} pings)`)
  const s = await good.request('stats')
  t.match(s, /^OK \{"topics":\d+,/)
  // Raw sockets that vanish mid-line, without reading anything.
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const raw = connect(tb.port, '127.0.0.1', () => {
        raw.write(Buffer.from([0xFF, 0xFA, 1, 2, 3, 0x00, 0x0D]))
        raw.destroy()
        resolve()
      })
      raw.on('error', () => resolve())
    })
  }
  await waitForConnections(tb, 1)
  t.equal(await good.request('ping'), 'OK PONG')
})
