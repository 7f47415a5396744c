import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startTestBroker } from '../helpers/broker'

const run = promisify(execFile)

/** Pipes a script into the real `nc` binary, as a shell user would: `nc -N host port < script`. */
function nc (port: number, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nc', ['-N', '127.0.0.1', String(port)], { timeout: 10000 }, (err, stdout) => {
      if (err !== null) reject(err)
      else resolve(stdout)
    })
    child.stdin!.end(script)
  })
}

t.test('a session driven by the real nc binary piping a command script', async t => {
  await run('nc', ['-h']).catch((e: { stderr?: string }) => {
    if (e.stderr === undefined || !/usage/i.test(e.stderr)) throw new Error('nc (netcat-openbsd) is required; .ci/run installs it')
  })
  const tb = await startTestBroker(t)
  const sub = await tb.client()
  const script = [
    'PUBLISH tweets {"id":"1","priority":3,"msg":"tweet 1"}',
    'ping',
    'pub tweets {"msg":"no id"}',
    'pub tweets not-json',
    'bogus',
    '',
    'help',
  ].join('\r\n') + '\n'
  // Without a trailing quit: the broker answers everything, then closes after nc's EOF.
  const out = await nc(tb.port, script)
  t.same(out.split('\n'), [
    'OK 1 published to tweets (0 subscribers)',
    'OK PONG',
    'OK 2 published to tweets (0 subscribers)',
    'ERR BAD_JSON event is not valid JSON (unexpected "o")',
    'ERR UNKNOWN_COMMAND unknown command "bogus"; type help for the list',
    out.split('\n')[5],
    '',
  ])
  t.match(out.split('\n')[5], /^OK commands: /)

  t.equal(await sub.request('sub tweets'), 'OK subscribed to tweets (max in flight 10)')
  const lines: string[] = []
  for (let i = 0; i < 100; i++) lines.push(`pub tweets {"id":"n${i}","priority":${i % 10},"msg":${i}}`)
  lines.push('quit', 'ping')
  const out2 = await nc(tb.port, lines.join('\n') + '\n')
  const replies = out2.trimEnd().split('\n')
  t.equal(replies.length, 101, 'one reply per line up to quit; nothing after quit')
  t.equal(replies[0], 'OK n0 published to tweets (1 subscriber)')
  t.equal(replies[100], 'OK bye')
  t.match((await sub.event()).event, { id: 'n0' })
})

t.test('a script without a final newline: nc -N runs and answers its last line too', async t => {
  const tb = await startTestBroker(t)
  // printf 'ping\npub t {"msg":1}' | nc -N 127.0.0.1 PORT
  t.equal(await nc(tb.port, 'ping\npub t {"msg":1}'), 'OK PONG\nOK 1 published to t (0 subscribers)\n')
  t.equal(await nc(tb.port, 'ping\r\nsub t 1'), 'OK PONG\nOK subscribed to t (max in flight 1)\n', 'CRLF script, last line a sub')
})
