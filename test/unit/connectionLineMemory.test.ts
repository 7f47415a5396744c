import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startTestBroker, waitFor } from '../helpers/broker'
import { recordedConnection } from '../helpers/recordingSocket'

// The lines of an all-ASCII read are ranges of one text, the whole read decoded once (LineFramer), and pub and ack
// read theirs in place. Any name a command keeps must then be a string of its own: a slice would keep the whole read
// alive for as long as the name lives. Here each of 200 reads (64 KiB, as a socket brings them) holds commands that
// keep names, then a line too long to run: once all are answered and collected, the reads must be gone.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap and external memory (a long read's text may be an external string) after collecting garbage. */
function memoryAfterGc (): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

const READS = 200
const READ_BYTES = 64 * 1024

t.test('names kept from the lines of a read do not keep the read alive', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: 4096, maxTopics: 10_000 })
  const sockets: Array<ReturnType<typeof recordedConnection>['socket']> = []

  /** Memory kept by READS reads on connections of their own, each with commands that keep names (and, with `filler`, a long line making it 64 KiB). */
  const keptBy = async (phase: string, filler: boolean): Promise<number> => {
    const before = memoryAfterGc()
    for (let i = 0; i < READS; i++) {
      const { socket, conn } = recordedConnection(tb.broker, sockets.length + 1)
      sockets.push(socket)
      const commands = [
        `name a-subscriber-with-a-long-name-${phase}-${i}`,
        `create a-topic-made-by-create-${phase}-${i}`,
        `sub a-topic-made-by-create-${phase}-${i} group=a-group-with-a-long-name-${i}`,
        `pub a-topic-only-published-to-${phase}-${i} {"id":"an-id-long-enough-to-be-a-slice-${i}","msg":1}`,
        `sub a-topic-only-published-to-${phase}-${i} 5`,
      ].join('\n') + '\n'
      socket.emit('data', Buffer.from(commands + (filler ? 'x'.repeat(READ_BYTES - commands.length - 6) + '\n' : '') + 'ping\n'))
      await waitFor(() => socket.writes.join('').includes('PONG'), `read ${i} answered`)
      const replies = socket.writes.join('').split('\n')
      socket.writes.length = 0
      t.match(replies, [/^OK /, /^OK /, /^OK subscribed/, /^OK an-id-long-enough-to-be-a-slice-\d+ published/, /^OK subscribed/, ...(filler ? [/^ERR LINE_TOO_LONG/] : []), /PONG/],
        `${phase} read ${i}: name, create, sub with a group, pub with an id, sub${filler ? ', the long line' : ''}`)
      t.equal(conn.name, `a-subscriber-with-a-long-name-${phase}-${i}`)
    }
    return memoryAfterGc() - before
  }
  const small = await keptBy('small', false)
  const long = await keptBy('long', true)
  t.ok(long - small < READS * READ_BYTES / 4,
    `64 KiB reads kept ${long} bytes, short reads of the same commands ${small}: not the reads' ${READS * READ_BYTES} bytes more`)
  t.equal(tb.broker.store.topics.size, 4 * READS, 'the topics are there')
  for (const socket of sockets) socket.emit('close')
})
