import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LineClient } from '../helpers/broker'
import { CLI, runCli } from '../helpers/cli'
import { makeCert } from '../helpers/auth'
import { parseScryptHash, verifyPassword, type ScryptHash } from '../../src/auth/password'

function hashPasswordCli (input: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, 'hash-password'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    child.on('exit', code => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}

t.test('hash-password prints a scrypt hash the broker accepts', async t => {
  const out = await hashPasswordCli('s3cret pass\n')
  t.equal(out.code, 0, out.stderr)
  t.match(out.stdout, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}\n$/)
  const hash = out.stdout.trim()
  const parsed = parseScryptHash(hash) as ScryptHash
  t.ok(verifyPassword('s3cret pass', parsed), 'the line ending is not part of the password')
  t.notOk(verifyPassword('s3cret pass\n', parsed))
  const again = await hashPasswordCli('s3cret pass\n')
  t.not(again.stdout.trim(), hash, 'a fresh salt each time')

  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const file = join(dir, 'secure.json')
  writeFileSync(file, JSON.stringify({
    auth: { required: true, users: { ops: { passwordHash: hash, publish: ['*'], subscribe: ['*'] } } },
    tls: { port: 0, certFile: cert, keyFile: key },
  }))
  const cli = runCli(['start', '--config', file, '--port', '0', '--log-dir', join(dir, 'logs'), '--log-level', 'silent'])
  const port = await cli.listening
  const c = await LineClient.connect(port)
  t.equal(await c.request('pub x {"msg":1}'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.equal(await c.request('auth ops s3cret pass'), 'OK authenticated as ops')
  t.match(cli.stdout(), /^ackline listening on 127\.0\.0\.1:\d+ \(TLS on 127\.0\.0\.1:\d+\) and https:\/\/127\.0\.0\.1:\d+, logs in \/.*logs\n$/, 'one line names both listeners')
  c.destroy()
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})

t.test('hash-password refuses an empty password', async t => {
  const out = await hashPasswordCli('\n')
  t.equal(out.code, 2)
  t.match(out.stderr, /empty password/)
})

t.test('a config with a bad password hash stops start-up with exit code 2', async t => {
  const dir = t.testdir({ 'bad.json': JSON.stringify({ auth: { required: true, users: { x: { passwordHash: 'scrypt$3$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==' } } } }) })
  const cli = runCli(['start', '--config', join(dir, 'bad.json'), '--port', '0'])
  t.equal(await cli.exited, 2)
  t.match(cli.stderr(), /^ackline: invalid config in .*bad\.json: auth\.users\.x\.passwordHash is not usable \(N must be a power of two from 2 to 2\^20\); make one with npx ackline hash-password\n$/)
})

t.test('hash-password refuses a password auth could never send: blanks at either end, control characters', async t => {
  const atEnds = 'ackline: the password starts or ends with a space or tab, which `auth <user> <password>` cannot send (blanks around the password are separators); choose a password without them\n'
  for (const input of [' pw \n', 'pw \n', '\tpw\n']) {
    const out = await hashPasswordCli(input)
    t.equal(out.code, 2, JSON.stringify(input))
    t.equal(out.stderr, atEnds, JSON.stringify(input))
    t.equal(out.stdout, '', 'no hash is printed')
  }
  for (const [input, code] of [['p\u0001w\n', '0x01'], ['p\tw\n', '0x09'], ['pw\u007f\n', '0x7f']]) {
    const out = await hashPasswordCli(input)
    t.equal(out.code, 2, JSON.stringify(input))
    t.equal(out.stderr, `ackline: the password contains the control character ${code}, which a command line cannot carry; choose a password of printable characters\n`, JSON.stringify(input))
    t.equal(out.stdout, '', 'no hash is printed')
  }
  const crlf = await hashPasswordCli('pw\r\n')
  t.equal(crlf.code, 0, 'a CRLF line ending is not part of the password')
})

t.test('a password with inner spaces works with auth as typed; blanks around it are separators', async t => {
  const out = await hashPasswordCli('correct  horse battery\n')
  t.equal(out.code, 0, out.stderr)
  const dir = t.testdir({})
  const file = join(dir, 'users.json')
  writeFileSync(file, JSON.stringify({ auth: { required: true, users: { bob: { passwordHash: out.stdout.trim(), publish: ['*'], subscribe: ['*'] } } } }))
  const cli = runCli(['start', '--config', file, '--port', '0', '--log-dir', join(dir, 'logs'), '--log-level', 'silent'])
  const port = await cli.listening
  const c = await LineClient.connect(port)
  t.equal(await c.request('auth bob correct horse battery'), 'ERR AUTH_FAILED wrong user or password', 'inner spaces are not collapsed')
  t.equal(await c.request('auth bob correct\thorse battery'), 'ERR AUTH_FAILED wrong user or password', 'a tab is not a space')
  t.equal(await c.request('auth bob \t correct  horse battery \t '), 'OK authenticated as bob', 'blanks before and after the password are separators')
  c.destroy()
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})
