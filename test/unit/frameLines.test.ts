import t from 'tap'
import { LineFramer } from '../../src/protocol/frameLines'

/** What the framer reported, in order: lines as strings, too-long lines as byte counts, telnet replies as byte arrays. */
type Reported = string | number | number[]

/** Lines whose range was followed by a character other than CR or LF (the sink's promise: none). */
const unterminated: string[] = []

function framer (max = 100): { f: LineFramer, out: Reported[] } {
  const out: Reported[] = []
  const line = (text: string, start: number, end: number): void => {
    const after = text.charCodeAt(end)
    if (end < text.length && after !== 0x0d && after !== 0x0a) unterminated.push(text.slice(start, end))
    out.push(text.slice(start, end))
  }
  const f = new LineFramer(max, { line, tooLong: n => out.push(n), telnetReply: b => out.push([...b]) })
  return { f, out }
}

t.teardown(() => {
  // Checked once every test has run: each line any test got was followed by its CR or LF, or by nothing.
  if (unterminated.length > 0) throw new Error(`lines not followed by CR or LF: ${JSON.stringify(unterminated)}`)
})

const IAC = 255
const DONT = 254
const DO = 253
const WONT = 252
const WILL = 251
const IP = 244
const EL = 248
const EC = 247
const TM = 6
const ECHO = 1
const SGA = 3
const NAWS = 31

function bytes (...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(parts.map(p => typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))
}

t.test('the lines of an all-ASCII read are ranges of one text, each followed by its CR or LF', async t => {
  const got: Array<[string, number, number]> = []
  const holds: number[] = []
  const f = new LineFramer(100, { line: (text, start, end, h) => { got.push([text, start, end]); holds.push(h) }, tooLong: () => {}, telnetReply: () => {} })
  f.push(Buffer.from('pub a {"msg":1}\r\nack a 1\npart'))
  t.equal(got.length, 2)
  t.equal(got[0][0], got[1][0], 'one text for the read')
  t.same(got.map(([text, start, end]) => text.slice(start, end)), ['pub a {"msg":1}', 'ack a 1'])
  t.same(got.map(([text, , end]) => text[end]), ['\r', '\n'])
  f.push(Buffer.from('ial\n'))
  t.same(got[2][0].slice(got[2][1], got[2][2]), 'partial', 'a line finished in a later read')
  t.equal(got[2][2], got[2][0].length, 'is a text of its own')
  t.same(holds, [got[0][0].length, 0, 7], 'the first line of a read holds the read\'s text, later ones nothing more; a line of its own holds itself')
})

t.test('LF and CRLF lines, many in one chunk', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\r\npub a {"msg":1}\nquit\n'))
  t.same(out, ['ping', 'pub a {"msg":1}', 'quit'])
})

t.test('a line split across reads, byte by byte', async t => {
  const { f, out } = framer()
  const bytes = Buffer.from('pub tweets {"msg":"héllo"}\r\nping\n')
  for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1))
  t.same(out, ['pub tweets {"msg":"héllo"}', 'ping'])
  t.equal(f.bufferedBytes, 0)
})

t.test('ASCII reads (decoded as Latin-1) and UTF-8 reads in turn decode the same as one read', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\npub a {"msg":"plain"}\n')) // all ASCII
  f.push(Buffer.from('pub a {"msg":"héllo ✓"}\nping\n')) // multi-byte characters
  f.push(Buffer.from('pub a {"msg":"again"}\npub a {"msg":"caf')) // ASCII, with an unfinished line
  f.push(Buffer.from([0xc3])) // half of é
  f.push(Buffer.from([0xa9, 0x22, 0x7d, 0x0a])) // its other half, then "}\n
  f.push(Buffer.from([0x80, 0x0a])) // a stray continuation byte, as UTF-8 decodes it
  t.same(out, ['ping', 'pub a {"msg":"plain"}', 'pub a {"msg":"héllo ✓"}', 'ping', 'pub a {"msg":"again"}', 'pub a {"msg":"café"}', '\ufffd'])
})

t.test('CR split from its LF across reads', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\r'))
  f.push(Buffer.from('\nhelp\n'))
  t.same(out, ['ping', 'help'])
})

t.test('a line of exactly maxLineBytes passes; one byte more is too long', async t => {
  const { f, out } = framer(10)
  f.push(Buffer.from('0123456789\n'))
  f.push(Buffer.from('0123456789\r\n'))
  f.push(Buffer.from('0123456789X\n'))
  t.same(out, ['0123456789', '0123456789', 11])
})

t.test('over-long line across reads: one report, rest discarded, next line fine', async t => {
  const { f, out } = framer(10)
  f.push(Buffer.from('01234567'))
  f.push(Buffer.from('89ABCDEF'))
  f.push(Buffer.from('more and more'))
  f.push(Buffer.from('tail\nping\n'))
  t.same(out, [16, 'ping'])
})

t.test('telnet negotiation bytes are stripped from the data', async t => {
  const { f, out } = framer()
  // IAC DO ECHO, IAC WILL SGA, IAC SB NAWS 0 80 0 24 IAC SE, then data, IAC NOP
  f.push(Buffer.from([255, 253, 1, 255, 251, 3, 255, 250, 31, 0, 80, 0, 24, 255, 240]))
  f.push(Buffer.concat([Buffer.from('pi'), Buffer.from([255, 241]), Buffer.from('ng\r\n')]))
  // IAC SB TERMINAL-TYPE IS "x" IAC IAC "y" IAC SE: the doubled IAC inside does not end the subnegotiation.
  f.push(bytes([IAC, 250, 24, 0], 'x', [IAC, IAC], 'y', [IAC, 240], 'help\n'))
  t.same(out, [[IAC, WONT, ECHO, IAC, DONT, SGA], 'ping', 'help'], 'the subnegotiations and the NOP get no answer')
})

t.test('telnet sequence split across reads, IAC IAC is a literal 255', async t => {
  const { f, out } = framer()
  f.push(Buffer.from([104, 255]))
  f.push(Buffer.from([251]))
  f.push(Buffer.from([1, 105, 255, 255, 10]))
  t.same(out.length, 2)
  t.same(out[0], [IAC, DONT, ECHO])
  t.same(Buffer.from(out[1] as string, 'utf8').includes(Buffer.from('hi')), true)
})

t.test('CR NUL ends a line; stray NULs are dropped', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\r'))
  f.push(Buffer.from([0]))
  f.push(Buffer.from([104, 0, 101, 108, 112, 10]))
  t.same(out, ['ping', 'help'])
})

t.test('telnet negotiation is answered: DO TIMING-MARK with WILL, other requests refused, refusals never answered', async t => {
  const { f, out } = framer()
  f.push(bytes([IAC, DO, TM]))
  f.push(bytes([IAC, DO, ECHO, IAC, WILL, NAWS, IAC, DONT, SGA, IAC, WONT, ECHO, IAC, WILL, TM]))
  t.same(out, [[IAC, WILL, TM], [IAC, WONT, ECHO, IAC, DONT, NAWS, IAC, DONT, TM]],
    'replies to one read come as one report; DONT and WONT get no answer')
  f.push(bytes([IAC, DO, TM, IAC, DO, TM]))
  t.same(out.slice(2), [[IAC, WILL, TM, IAC, WILL, TM]], 'every timing mark is answered (it never turns the option on)')
})

t.test('a negotiation reply keeps its place among the lines around it', async t => {
  const { f, out } = framer()
  // What Linux telnet sends on Ctrl-C (IAC IP IAC DO TIMING-MARK), between two typed lines, in one read.
  f.push(bytes('ping\r\n', [IAC, IP, IAC, DO, TM], 'help\r\n'))
  t.same(out, ['ping', [IAC, WILL, TM], 'help'])
  // Split byte by byte, with an unfinished line before the request.
  const { f: g, out: out2 } = framer()
  const stream = bytes('ping\r\nst', [IAC, DO, TM], 'ats\r\n')
  for (let i = 0; i < stream.length; i++) g.push(stream.subarray(i, i + 1))
  t.same(out2, ['ping', [IAC, WILL, TM], 'stats'], 'the request does not break the line it interrupts')
})

t.test('IAC IP drops the unfinished line, as a terminal interrupt does', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('pub t {"msg":'))
  f.push(bytes('"half', [IAC, IP, IAC, DO, TM], 'ping\r\n'))
  t.same(out, [[IAC, WILL, TM], 'ping'])
})

t.test('BS and DEL erase the previous character, not byte, of the line being received', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('pinx\bg\r\n'))
  f.push(Buffer.from('pinx\x7fg\n'))
  f.push(Buffer.from('\b\x7fping\n')) // erasing at the start of a line erases nothing
  f.push(Buffer.from('pub t {"msg":"café\x7fe"}\n'))
  f.push(Buffer.from('pub t {"msg":"x😀\b\bé"}\n'))
  f.push(Buffer.from('ab\n\b\x7fc\n'))
  t.same(out, ['ping', 'ping', 'ping', 'pub t {"msg":"cafe"}', 'pub t {"msg":"é"}', 'ab', 'c'], 'BS never reaches into a finished line')
})

t.test('erasing across reads: the character may have arrived in an earlier read, or in pieces', async t => {
  const { f, out } = framer()
  const e = Buffer.from('é') // c3 a9
  f.push(Buffer.from('pub t {"msg":"caf'))
  f.push(e.subarray(0, 1))
  f.push(e.subarray(1))
  f.push(Buffer.from('\x7f'))
  f.push(Buffer.from('e"}\n'))
  f.push(Buffer.from('pix'))
  f.push(Buffer.concat([e.subarray(0, 1)]))
  f.push(Buffer.concat([e.subarray(1), Buffer.from('\b\bng\r\n')]))
  t.same(out, ['pub t {"msg":"cafe"}', 'ping'])
  t.equal(f.bufferedBytes, 0)
})

t.test('erasing malformed UTF-8: one stray byte at a time, an unfinished sequence at once', async t => {
  const { f, out } = framer()
  f.push(Buffer.from([0x61, 0xc3, 0xa9, 0xa9, 0x08, 0x0a])) // "é" then a stray continuation byte: BS erases only the stray byte
  f.push(Buffer.from([0x61, 0xe2, 0x82, 0x08, 0x62, 0x0a])) // an unfinished 3-byte sequence goes as one character
  f.push(Buffer.from([0x80, 0x80, 0x08, 0x0a])) // continuation bytes with no lead byte
  t.same(out, ['aé', 'ab', '\ufffd'])
})

t.test('IAC EC erases a character, IAC EL the whole line', async t => {
  const { f, out } = framer()
  f.push(bytes('pingé', [IAC, EC], '\r\n'))
  f.push(bytes('pub t {"msg":"typo', [IAC, EL], 'ping\r\n'))
  f.push(Buffer.from('more typos, '))
  f.push(Buffer.from('across reads'))
  f.push(bytes([IAC, EL], 'help', [IAC, EC, IAC, EC, IAC, EC, IAC, EC, IAC, EC], 'ping\r\n'))
  t.same(out, ['ping', 'ping', 'ping'])
  t.equal(f.bufferedBytes, 0)
})

t.test('IAC EL ends the discarding of an over-long line: what follows is a new line; erasing does not', async t => {
  const { f, out } = framer(10)
  f.push(Buffer.from('0123456789ABC'))
  f.push(bytes('more', [IAC, EL], 'ping\n'))
  f.push(Buffer.from('0123456789ABC'))
  f.push(Buffer.from('\b\b\b\b\x7f\x7f\n'))
  f.push(Buffer.from('ping\n'))
  t.same(out, [13, 'ping', 13, 'ping'])
})

t.test('edits apply before the length limit: an edited line within maxLineBytes passes', async t => {
  const { f, out } = framer(10)
  f.push(Buffer.from('0123456789X\bY\b\r\n'))
  t.same(out, ['0123456789'])
})

t.test('other control characters are characters of the line: kept for the parser to refuse, erased like any other', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\x04\r\n\x1b[Aping\n\tpub\tt {}\n'))
  f.push(Buffer.from('ping\x04\b\r\n'))
  t.same(out, ['ping\x04', '\x1b[Aping', '\tpub\tt {}', 'ping'])
})

t.test('end of input: an unfinished last line is a line', async t => {
  const { f, out } = framer(10)
  f.push(Buffer.from('ping\npub t'))
  f.push(Buffer.from(' {}'))
  f.end()
  t.same(out, ['ping', 'pub t {}'])
  t.equal(f.bufferedBytes, 0)
  f.end()
  t.same(out, ['ping', 'pub t {}'], 'a second end adds nothing')

  const cr = framer(10)
  cr.f.push(Buffer.from('ping\r'))
  cr.f.end()
  t.same(cr.out, ['ping'], 'a final CR is a line end, not content')

  const long = framer(10)
  long.f.push(Buffer.from('0123456789ABC'))
  long.f.end()
  t.same(long.out, [13], 'an over-long last line was already answered: nothing more')

  const exact = framer(10)
  exact.f.push(Buffer.from('0123456789'))
  exact.f.push(Buffer.from('X'))
  exact.f.end()
  t.same(exact.out, [11], 'one byte over the limit, known only at the end')

  const tel = framer(10)
  tel.f.push(bytes('ping', [IAC, DO]))
  tel.f.end()
  t.same(tel.out, ['ping'], 'an unfinished telnet command is dropped')

  const empty = framer(10)
  empty.f.push(Buffer.from('ping\n'))
  empty.f.end()
  t.same(empty.out, ['ping'], 'nothing unfinished: nothing more')
})
