import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeCert } from '../helpers/auth'
import { LineClient } from '../helpers/broker'
import { CLI, runCli } from '../helpers/cli'

const run = promisify(execFile)

t.test('--help documents every flag', async t => {
  const { stdout } = await run(process.execPath, [CLI, 'start', '--help'])
  for (const flag of ['--port', '--host', '--config', '--log-dir']) t.match(stdout, flag)
  const top = await run(process.execPath, [CLI, '--help'])
  t.match(top.stdout, /start/)
})

t.test('bench --help shows its defaults the way start --help does', async t => {
  const start = await run(process.execPath, [CLI, 'start', '--help'])
  t.match(start.stdout, /--port <port> .* \[default: 8000\]/)
  const { stdout } = await run(process.execPath, [CLI, 'bench', '--help'])
  const flat = stdout.replace(/\s+/g, ' ')
  for (const [flag, value] of [['--host <host>', '127.0.0.1'], ['--port <port>', '8000'], ['--messages <n>', '100000'], ['--in-flight <n>', '100'],
    ['--window <n>', '1000'], ['--rate <n>', '0'], ['--duration-limit <dur>', '120s'], ['--topic-prefix <prefix>', 'bench']]) {
    t.match(flat, new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} [^[]*\\[default: ${value.replace(/\./g, '\\.')}\\]`), `${flag} [default: ${value}]`)
  }
  t.notMatch(stdout, /\(default:/, 'no commander-style (default: "...") next to the [default: ...] style')
})

t.test('start prints one human listening line with the absolute log dir, serves, and stops cleanly on SIGTERM and SIGINT', async t => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const dir = t.testdir({})
    // A relative --log-dir, resolved against the working directory.
    const cli = runCli(['start', '--port', '0', '--log-dir', 'my-logs'], { cwd: dir })
    const port = await cli.listening
    t.match(cli.stdout(), new RegExp(`^ackline listening on 127\\.0\\.0\\.1:${port} and http://127\\.0\\.0\\.1:\\d+, logs in ${join(dir, 'my-logs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`))
    const c = await LineClient.connect(port)
    t.equal(await c.request('ping'), 'OK PONG')
    cli.child.kill(signal)
    t.equal(await cli.exited, 0, `exit 0 on ${signal}`)
    t.notMatch(cli.stderr(), /listening/, 'no second "listening" line: at the default log level the structured log does not repeat it')
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
  t.match(cli.stderr(), /^ackline: invalid config in .*bad\.json: maxInFlight must be >= 1\n$/)
})

t.test('config errors list allowed values, suggest the nearest known field and point at hash-password', async t => {
  const dir = t.testdir({
    'enum.json': JSON.stringify({ fsync: 'sometimes' }),
    'typo.json': JSON.stringify({ maxInFlght: 5 }),
    'nested.json': JSON.stringify({ auth: { requird: true, users: {} }, tls: { port: 0, certFile: 'c', keyFile: 'k', clientcert: 'none' } }),
    'hash.json': JSON.stringify({ auth: { required: true, users: { alice: { passwordHash: 'alice-pw' } } } }),
  })
  const expected: Record<string, string> = {
    'enum.json': 'fsync must be one of always, batch, off',
    'typo.json': 'unknown field "maxInFlght" (did you mean "maxInFlight"?)',
    'nested.json': 'auth is missing the field "required"; unknown field "auth.requird" (did you mean "auth.required"?); ' +
      'unknown field "tls.clientcert" (did you mean "tls.clientCert"?)',
    'hash.json': 'auth.users.alice.passwordHash must be a hash printed by npx ackline hash-password ' +
      '(scrypt$<N>$<r>$<p>$<salt>$<hash>), not the password itself',
  }
  for (const [file, message] of Object.entries(expected)) {
    const cli = runCli(['start', '--config', join(dir, file), '--port', '0', '--log-dir', join(dir, 'logs')])
    t.equal(await cli.exited, 2, file)
    t.equal(cli.stderr(), `ackline: invalid config in ${join(dir, file)}: ${message}\n`, file)
  }
})

t.test('a bad port flag is a clear error', async t => {
  const bad = runCli(['start', '--port', 'eighty'])
  t.not(await bad.exited, 0)
  t.match(bad.stderr(), /must be a port number/)
})

/** Holds a loopback port the way any other program would. */
async function occupyPort (t: { teardown: (fn: () => unknown) => void }): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

t.test('a port in use is one line naming the port, exit 2, no stack trace', async t => {
  const port = await occupyPort(t)
  const cli = runCli(['start', '--port', String(port), '--log-dir', join(t.testdir({}), 'logs')])
  t.equal(await cli.exited, 2)
  t.equal(cli.stderr(), `ackline: port ${port} is in use: stop the other process or pass --port <n>\n`)
  t.equal(cli.stdout(), '')
})

t.test('a TLS port in use names the TLS port and the config field', async t => {
  const port = await occupyPort(t)
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  writeFileSync(join(dir, 'tls.json'), JSON.stringify({ tls: { port, certFile: cert, keyFile: key } }))
  const cli = runCli(['start', '--config', join(dir, 'tls.json'), '--port', '0', '--log-dir', join(dir, 'logs')])
  t.equal(await cli.exited, 2)
  t.equal(cli.stderr(), `ackline: TLS port ${port} is in use: stop the other process or set another tls.port in the config\n`)
})

t.test('an HTTP port in use names the HTTP port and its flag; --no-http-port starts without it', async t => {
  const port = await occupyPort(t)
  const dir = t.testdir({})
  const cli = runCli(['start', '--port', '0', '--http-port', String(port), '--log-dir', join(dir, 'logs')])
  t.equal(await cli.exited, 2)
  t.equal(cli.stderr(), `ackline: HTTP port ${port} is in use: stop the other process or pass --http-port <n>\n`)
  const off = runCli(['start', '--port', '0', '--no-http-port', '--log-dir', join(dir, 'logs2')])
  t.teardown(() => { off.child.kill() })
  await off.listening
  t.match(off.stdout(), /^ackline listening on 127\.0\.0\.1:\d+, logs in /, 'no HTTP address on the line')
})

t.test('a host that is not an address of this machine is one line, exit 2', async t => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a machine, so bind() fails at once, without traffic.
  const cli = runCli(['start', '--host', '192.0.2.1', '--port', '0', '--log-dir', join(t.testdir({}), 'logs')])
  t.equal(await cli.exited, 2)
  t.equal(cli.stderr(), 'ackline: cannot listen on 192.0.2.1: not an address of this machine (EADDRNOTAVAIL): pass --host <address>, e.g. 127.0.0.1\n')
})

const unprivilegedFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
const anyoneBinds80 = !(unprivilegedFrom > 80) && `this machine lets anyone bind port 80 (ip_unprivileged_port_start=${unprivilegedFrom})`
t.test('a privileged port without the privilege is one line, exit 2', { skip: anyoneBinds80 }, async t => {
  // As root, run the CLI as nobody, which lacks the privilege. It needs a log dir it may write, and no
  // tap process hook (NODE_OPTIONS, which tap puts back on every spawn; it would write under .tap as nobody).
  const root = process.getuid?.() === 0
  const logs = mkdtempSync(join(tmpdir(), 'ackline-eacces-'))
  chmodSync(logs, 0o777)
  t.teardown(() => rmSync(logs, { recursive: true, force: true }))
  const args = [CLI, 'start', '--port', '80', '--log-dir', join(logs, 'l')]
  const out = root
    ? spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { encoding: 'utf8', uid: 65534, gid: 65534 })
    : spawnSync(process.execPath, args, { encoding: 'utf8' })
  t.equal(out.status, 2)
  t.equal(out.stderr, 'ackline: port 80 is not allowed for this user (EACCES): use a port from 1024 up, or pass --port <n>\n')
})

t.test('stray arguments to start are refused, with the npm start fix when npm kept the flags', async t => {
  const plain = runCli(['start', '9001'])
  t.equal(await plain.exited, 2)
  t.equal(plain.stderr(), 'ackline: unexpected argument "9001" for start; see ackline start --help\n')
})
