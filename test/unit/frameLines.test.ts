import t from 'tap'
import { LineFramer } from '../../src/protocol/frameLines'

function framer (max = 100): { f: LineFramer, out: Array<string | number> } {
  const out: Array<string | number> = []
  const f = new LineFramer(max, { line: s => out.push(s), tooLong: n => out.push(n) })
  return { f, out }
}

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

t.test('telnet negotiation bytes are stripped', async t => {
  const { f, out } = framer()
  // IAC DO ECHO, IAC WILL SGA, IAC SB NAWS 0 80 0 24 IAC SE, then data, IAC NOP
  f.push(Buffer.from([255, 253, 1, 255, 251, 3, 255, 250, 31, 0, 80, 0, 24, 255, 240]))
  f.push(Buffer.concat([Buffer.from('pi'), Buffer.from([255, 241]), Buffer.from('ng\r\n')]))
  t.same(out, ['ping'])
})

t.test('telnet sequence split across reads, IAC IAC is a literal 255', async t => {
  const { f, out } = framer()
  f.push(Buffer.from([104, 255]))
  f.push(Buffer.from([251]))
  f.push(Buffer.from([1, 105, 255, 255, 10]))
  t.same(out.length, 1)
  t.same(Buffer.from(out[0] as string, 'utf8').includes(Buffer.from('hi')), true)
})

t.test('CR NUL ends a line; stray NULs are dropped', async t => {
  const { f, out } = framer()
  f.push(Buffer.from('ping\r'))
  f.push(Buffer.from([0]))
  f.push(Buffer.from([104, 0, 101, 108, 112, 10]))
  t.same(out, ['ping', 'help'])
})
