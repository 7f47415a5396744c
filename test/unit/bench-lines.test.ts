import t from 'tap'
import { LineSplitter, splitLines } from '../../src/bench/lines'

t.test('splits complete lines and strips CR', async (t) => {
  t.same(splitLines('OK a\nERR X y\r\nEVENT t {"id":1}\n'), { lines: ['OK a', 'ERR X y', 'EVENT t {"id":1}'], rest: 0 })
  t.same(splitLines(Buffer.from('\n\r\n')), { lines: ['', ''], rest: 0 })
  t.same(splitLines('partial'), { lines: [], rest: 7 })
})

t.test('joins lines split across chunks, including multi-byte UTF-8', async (t) => {
  const s = new LineSplitter()
  const got: string[] = []
  const on = (l: string): number => got.push(l)
  const full = Buffer.from('OK 1 published to t (1 subscribers)\nEVENT t {"msg":"héllo ✓"}\r\nOK PONG\n')
  // feed one byte at a time: splits inside UTF-8 sequences and between \r and \n
  for (let i = 0; i < full.length; i++) s.push(full.subarray(i, i + 1), on)
  t.same(got, ['OK 1 published to t (1 subscribers)', 'EVENT t {"msg":"héllo ✓"}', 'OK PONG'])
  t.equal(s.pendingBytes, 0)
})

t.test('partial line followed by chunk with several lines', async (t) => {
  const s = new LineSplitter()
  const got: string[] = []
  s.push(Buffer.from('OK a'), (l) => got.push(l))
  s.push(Buffer.from('bc'), (l) => got.push(l))
  t.equal(s.pendingBytes, 6)
  s.push(Buffer.from('d\nOK e\nOK f'), (l) => got.push(l))
  t.same(got, ['OK abcd', 'OK e'])
  t.equal(s.pendingBytes, 4)
  s.push(Buffer.from('\n'), (l) => got.push(l))
  t.same(got, ['OK abcd', 'OK e', 'OK f'])
})
