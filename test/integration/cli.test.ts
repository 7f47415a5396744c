import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LineClient } from '../helpers/broker'
import { CLI, runCli } from '../helpers/cli'

const run = promisify(execFile)

t.test('--help documents every flag', async t => {
  const { stdout } = await run(process.execPath, [CLI, 'start', '--help'])
  for (const flag of ['--port', '--host', '--config', '--log-dir']) t.match(stdout, flag)
  const top = await run(process.execPath, [CLI, '--help'])
  t.match(top.stdout, /start/)
})

t.test('start prints one listening line, serves, and stops cleanly on SIGTERM and SIGINT', async t => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const dir = t.testdir({})
    const cli = runCli(['start', '--port', '0', '--log-dir', join(dir, 'logs')])
    const port = await cli.listening
    t.match(cli.stdout(), /^ackline listening on 127\.0\.0\.1:\d+ \(log dir .*logs\)\n$/)
    const c = await LineClient.connect(port)
    t.equal(await c.request('ping'), 'OK PONG')
    cli.child.kill(signal)
    t.equal(await cli.exited, 0, `exit 0 on ${signal}`)
    c.destroy()
  }
})

t.test('flags override the config file; the command table comes from config', async t => {
  const dir = t.testdir({
    'ackline.json': JSON.stringify({ port: 1, maxInFlight: 3, commands: { pub: ['send'], quit: ['quit', 'exit'] } }),
  })
  const cli = runCli(['start', '--config', join(dir, 'ackline.json'), '--port', '0', '--log-dir', join(dir, 'logs')])
  const port = await cli.listening
  const c = await LineClient.connect(port)
  t.equal(await c.request('send t {"msg":1}'), 'OK 1 published to t (0 subscribers)')
  t.match(await c.request('pub t {"msg":1}'), /^ERR UNKNOWN_COMMAND/)
  t.equal(await c.request('sub t'), 'OK subscribed to t (max in flight 3)')
  t.equal(await c.request('EXIT'), 'OK bye')
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})

t.test('an invalid config file stops start-up with a message naming the field', async t => {
  const dir = t.testdir({ 'bad.json': JSON.stringify({ maxInFlight: 0 }) })
  const cli = runCli(['start', '--config', join(dir, 'bad.json'), '--port', '0'])
  t.equal(await cli.exited, 2)
  t.match(cli.stderr(), /invalid config in .*bad\.json: field "\/maxInFlight" must be >= 1/)
})

t.test('a bad port flag and a port in use are clear errors', async t => {
  const bad = runCli(['start', '--port', 'eighty'])
  t.not(await bad.exited, 0)
  t.match(bad.stderr(), /must be a port number/)
  const first = runCli(['start', '--port', '0', '--log-dir', join(t.testdir({}), 'l')])
  const port = await first.listening
  const second = runCli(['start', '--port', String(port)])
  t.equal(await second.exited, 1)
  t.match(second.stderr(), /cannot start: .*EADDRINUSE/)
  first.child.kill('SIGTERM')
  await first.exited
})
