import t from 'tap'
import { startTestBroker, waitFor } from '../helpers/broker'
import { makeCert, startLoggedBroker, testHash } from '../helpers/auth'
import { CLI, runCliToEnd, spawnCli } from '../helpers/cli'
import { requireProgram, TmuxTerminal } from '../helpers/tmux'
import { connect, type AcklineClient } from '../../src/client'

type Teardown = { teardown: (fn: () => unknown) => void }

async function client (t: Teardown, port: number): Promise<AcklineClient> {
  const c = await connect({ port })
  t.teardown(() => c.close())
  return c
}

/** Polls an asynchronous condition (the broker's stats) until it holds; fails after 5 s. */
async function eventually (cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await cond()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Waits until the topic has `n` subscriptions (a CLI subscriber is ready). */
async function subscribers (c: AcklineClient, topic: string, n: number): Promise<void> {
  await eventually(async () => (await c.stats(topic)).subscriptions === n, `${n} subscriptions on ${topic}`)
}

t.test('pub with the event as an argument: one result line, exit 0; a refusal: ERR line, stderr, exit 1', async t => {
  const tb = await startTestBroker(t)
  const ok = await runCliToEnd(['pub', 'news', '{"msg":"hello"}', '--port', String(tb.port)])
  t.same(ok, { code: 0, stdout: 'OK 1\n', stderr: '' })
  const bad = await runCliToEnd(['pub', 'news', '{"msg":"x","priority":10}', '--port', String(tb.port)])
  t.same(bad, {
    code: 1,
    stdout: 'ERR BAD_EVENT field "priority" must be <= 9\n',
    stderr: 'ackline: BAD_EVENT field "priority" must be <= 9\n',
  })
})

t.test('pub from stdin: one result per event in order, blank lines skipped, each failure named by line, exit 1', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('orders', { msg: 'create' })
  const sub = c.subscribe('orders', { maxInFlight: 10 })
  await sub.ready
  const input = '{"id":"o1","msg":1}\n\n{"msg":2,\n{"id":"o3","msg":  3.0 }\r\n{"id":"o1","msg":"again"}\n{"msg":"last line, no newline"}'
  const run = await runCliToEnd(['pub', 'orders', '--port', String(tb.port)], { input })
  t.equal(run.code, 1)
  t.equal(run.stdout, [
    'OK o1',
    'ERR BAD_JSON event is not valid JSON (error at character 10)',
    'OK o3',
    'OK o1 duplicate',
    'OK 2',
    '',
  ].join('\n'))
  t.equal(run.stderr, [
    'ackline: line 3: BAD_JSON event is not valid JSON (error at character 10)',
    '',
  ].join('\n'))
  const raws: string[] = []
  for (let i = 0; i < 3; i++) raws.push((await sub.next()).value!.raw)
  t.match(raws[1], /^\{"priority":0,"id":"o3","msg": {2}3\.0 ,"timestamp":\d+,"offset":\d+\}$/, 'the line as typed (CRLF dropped), byte for byte')

  const good = await runCliToEnd(['pub', 'orders', '--port', String(tb.port)], { input: '{"msg":"a"}\n{"msg":"b"}\n' })
  t.same(good, { code: 0, stdout: 'OK 3\nOK 4\n', stderr: '' }, 'every event OK: exit 0')
})

t.test('pub: usage mistakes exit 2, an unreachable broker exits 1', async t => {
  const badPort = await runCliToEnd(['pub', 'x', '{"msg":1}', '--port', 'eighty'])
  t.same(badPort, { code: 2, stdout: '', stderr: 'ackline: --port must be an integer from 1 to 65535, got "eighty"\n' })
  const envPort = await runCliToEnd(['pub', 'x', '{"msg":1}'], { env: { ACKLINE_PORT: 'nope' } })
  t.equal(envPort.code, 2)
  t.match(envPort.stderr, /^ackline: port must be an integer from 1 to 65535, got nope\n$/)
  const tb = await startTestBroker(t)
  const port = tb.port
  await tb.stop()
  const down = await runCliToEnd(['pub', 'x', '{"msg":1}', '--port', String(port)])
  t.equal(down.code, 1)
  t.equal(down.stderr, `ackline: CONNECT_FAILED cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`)
})

t.test('the port can come from ACKLINE_PORT', async t => {
  const tb = await startTestBroker(t)
  const run = await runCliToEnd(['pub', 'env', '{"msg":1}'], { env: { ACKLINE_PORT: String(tb.port), ACKLINE_HOST: '127.0.0.1' } })
  t.same(run, { code: 0, stdout: 'OK 1\n', stderr: '' })
})

t.test('sub --count with a name: prints each event as its JSON line, acks it, exits 0; the rest waits for the next run', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('jobs', { msg: 'create' })
  const run = spawnCli(['sub', 'jobs', '--count', '2', '--in-flight', '1', '--name', 'printer', '--port', String(tb.port)])
  await subscribers(c, 'jobs', 1)
  t.match((await c.stats('jobs')).subscribers, [{ name: 'printer', maxInFlight: 1 }])
  await c.publishMany('jobs', ['{"id":"j1","msg":"one"}', '{"id":"j2", "msg":"two"}', '{"id":"j3","msg":"three"}', '{"id":"j4","msg":"four"}'])
  t.equal(await run.exited, 0)
  const lines = run.stdout().split('\n')
  t.equal(lines.length, 3)
  t.match(lines[0], /^\{"priority":0,"id":"j1","msg":"one","timestamp":\d+,"offset":\d+\}$/)
  t.match(lines[1], /^\{"priority":0,"id":"j2", "msg":"two","timestamp":\d+,"offset":\d+\}$/, 'byte for byte')
  t.equal(lines[2], '')
  t.equal(run.stderr(), '')
  t.match(await c.stats('jobs'), { pending: 2, inFlight: 0, subscribers: [{ name: 'printer', connected: false }] },
    'j1 and j2 acked; j3 (delivered when j2 was acked, not printed) and j4 kept for printer')
  const next = await runCliToEnd(['sub', 'jobs', '--count', '2', '--name', 'printer', '--port', String(tb.port)])
  t.equal(next.code, 0)
  const [j3, j4, rest] = next.stdout.split('\n')
  t.match(j3, /^\{"priority":0,"id":"j3","msg":"three","timestamp":\d+,"offset":\d+,"deliveries":2\}$/, 'the one delivered past --count comes again, counted')
  t.match(JSON.parse(j4), { id: 'j4', msg: 'four' }, 'one JSON object per line, for jq')
  t.equal(rest, '')
  t.match(await c.stats('jobs'), { pending: 0, inFlight: 0 })
})

t.test('sub ends gracefully on SIGINT with exit 0; events it printed are acked', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('live', { msg: 'create' })
  const run = spawnCli(['sub', 'live', '--port', String(tb.port), '--in-flight', '5'])
  await subscribers(c, 'live', 1)
  t.match((await c.stats('live')).subscribers, [{ name: null, maxInFlight: 5 }])
  await c.publish('live', { id: 'l1', msg: 1 })
  await waitFor(() => run.stdout().includes('"l1"'), 'the event printed')
  await eventually(async () => (await c.stats()).acked === 1, 'acked once printed')
  run.child.kill('SIGINT')
  t.equal(await run.exited, 0)
  t.equal(run.stderr(), '')
  t.match(await c.stats('live'), { subscriptions: 0 }, 'the anonymous subscription ended with the connection')
})

t.test('sub on a topic that does not exist: exit 1 naming the code', async t => {
  const tb = await startTestBroker(t)
  const run = await runCliToEnd(['sub', 'nothing', '--port', String(tb.port)])
  t.same(run, { code: 1, stdout: '', stderr: 'ackline: UNKNOWN_TOPIC topic nothing does not exist; publish to it first\n' })
  const bad = await runCliToEnd(['sub', 'x', '--count', '0', '--port', String(tb.port)])
  t.same(bad, { code: 2, stdout: '', stderr: `ackline: --count must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got "0"\n` })
})

t.test('stats: JSON when stdout is not a terminal, --table for the table, --json forced', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('jobs', { msg: 'create' })
  const sub = c.subscribe('jobs', { maxInFlight: 3 })
  await sub.ready
  const piped = await runCliToEnd(['stats', '--port', String(tb.port)])
  t.equal(piped.code, 0)
  t.match(JSON.parse(piped.stdout), { topics: 1, subscriptions: 1, published: 1 })
  const topicJson = await runCliToEnd(['stats', 'jobs', '--json', '--port', String(tb.port)])
  t.same(JSON.parse(topicJson.stdout), { topic: 'jobs', published: 1, subscriptions: 1, pending: 0, inFlight: 0, subscribers: [{ name: null, connected: true, pending: 0, inFlight: 0, maxInFlight: 3 }] })
  const table = await runCliToEnd(['stats', 'jobs', '--table', '--port', String(tb.port)])
  t.equal(table.stdout, [
    'topic jobs: 1 published, 1 subscription, 0 pending, 0 in flight',
    'SUBSCRIBER   CONNECTED  PENDING  IN FLIGHT  MAX IN FLIGHT',
    '(anonymous)  yes        0        0          3',
    '',
  ].join('\n'))
  const broker = await runCliToEnd(['stats', '--table', '--port', String(tb.port)])
  t.match(broker.stdout, /^topics {9}1\nsubscriptions {2}1\n/)
  t.match(broker.stdout, /\nconnections {4}2 open, \d+ accepted since start\n/)
  const both = await runCliToEnd(['stats', '--table', '--json', '--port', String(tb.port)])
  t.same(both, { code: 2, stdout: '', stderr: 'ackline: --json and --table exclude each other\n' })
  const unknown = await runCliToEnd(['stats', 'nope', '--port', String(tb.port)])
  t.same(unknown, { code: 1, stdout: '', stderr: 'ackline: UNKNOWN_TOPIC topic nope does not exist\n' })
})

t.test('--user: the password from ACKLINE_PASSWORD; none and no terminal to ask on is exit 2; a wrong one exit 1', async t => {
  const users = { alice: { passwordHash: testHash('alice pw'), publish: ['*'], subscribe: ['*'] } }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const args = ['pub', 'news', '{"msg":1}', '--port', String(tb.port), '--user', 'alice']
  t.same(await runCliToEnd(args, { env: { ACKLINE_PASSWORD: 'alice pw' } }), { code: 0, stdout: 'OK 1\n', stderr: '' })
  t.same(await runCliToEnd(args, { env: { ACKLINE_PASSWORD: undefined } }), {
    code: 2, stdout: '', stderr: 'ackline: --user needs a password: set ACKLINE_PASSWORD (stdin is not a terminal to prompt on)\n',
  })
  t.same(await runCliToEnd(args, { env: { ACKLINE_PASSWORD: 'wrong' } }), { code: 1, stdout: '', stderr: 'ackline: AUTH_FAILED wrong user or password\n' })
  const anonymous = await runCliToEnd(['pub', 'news', '{"msg":1}', '--port', String(tb.port)])
  t.same(anonymous, {
    code: 1,
    stdout: 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>\n',
    stderr: 'ackline: AUTH_REQUIRED authenticate first: auth <user> <password>\n',
  })
})

t.test('--tls with the CA in NODE_EXTRA_CA_CERTS', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startLoggedBroker(t, { tls: { port: 0, certFile: cert, keyFile: key } })
  const tlsPort = String(tb.broker.tlsAddress!.port)
  t.same(await runCliToEnd(['pub', 'sec', '{"msg":1}', '--tls', '--port', tlsPort], { env: { NODE_EXTRA_CA_CERTS: cert } }), { code: 0, stdout: 'OK 1\n', stderr: '' })
  const untrusted = await runCliToEnd(['pub', 'sec', '{"msg":1}', '--tls', '--port', tlsPort], { env: { NODE_EXTRA_CA_CERTS: undefined } })
  t.equal(untrusted.code, 1)
  t.match(untrusted.stderr, /^ackline: CONNECT_FAILED cannot connect to 127\.0\.0\.1:\d+: self[- ]signed certificate\n$/)
})

t.test('on a terminal: the password prompt does not echo, and stats prints the table', async t => {
  await requireProgram('tmux', ['-V'])
  const users = { alice: { passwordHash: testHash('s3cret'), publish: ['*'], subscribe: ['*'] } }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  // The shell keeps the terminal open after the command ends, so the screen can still be read.
  const command = `env -u ACKLINE_PASSWORD ${process.execPath} ${CLI} stats --port ${tb.port} --user alice; echo "exit $?"; sleep 600`
  const term = await TmuxTerminal.start(t, ['sh', '-c', command])
  await term.waitForScreen(rows => rows[0] === 'Password:', 'the prompt')
  await term.type('s3cret')
  await term.sendKeys('Enter')
  const rows = await term.waitForScreen(rows => rows.includes('exit 0'), 'the table and exit 0')
  t.equal(rows[0], 'Password:', 'nothing echoed')
  t.notOk(rows.join('\n').includes('s3cret'))
  t.match(rows[1], /^topics {9}0$/)
  t.ok(rows.some(r => /^connections {4}1 open, 1 accepted since start$/.test(r)))
  t.ok(rows.some(r => r.startsWith('limit hits')), 'the whole table')
})

t.test('the client commands are listed in --help', async t => {
  const help = await runCliToEnd(['--help'])
  for (const cmd of ['pub', 'sub', 'stats']) t.match(help.stdout, new RegExp(`\\n  ${cmd} `))
  const sub = await runCliToEnd(['sub', '--help'])
  for (const flag of ['--count', '--name', '--in-flight', '--host', '--port', '--tls', '--user']) t.match(sub.stdout, flag)
})

t.test('sub stops when its stdout is closed (| head -1): the event it could not print is not acked', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('heads', { msg: 'create' })
  const run = spawnCli(['sub', 'heads', '--name', 'head', '--port', String(tb.port)])
  await subscribers(c, 'heads', 1)
  await c.publish('heads', { id: 'h1', msg: 1 })
  await waitFor(() => run.stdout().includes('"h1"'), 'the first line')
  await eventually(async () => (await c.stats()).acked === 1, 'h1 acked')
  run.child.stdout!.destroy() // the reader is gone, as when head exits
  await c.publish('heads', { id: 'h2', msg: 2 })
  t.equal(await run.exited, 0)
  t.equal(run.stderr(), '')
  t.match(await c.stats('heads'), { pending: 1, subscribers: [{ name: 'head', connected: false }] }, 'h2 kept for the next run')
})

t.test('pub from a long stdin keeps a window of results, and stops reading when the connection is lost', async t => {
  const tb = await startTestBroker(t)
  const lines = Array.from({ length: 2500 }, (_, i) => `{"msg":${i}}`).join('\n') + '\n'
  const long = await runCliToEnd(['pub', 'bulk', '--port', String(tb.port)], { input: lines })
  t.equal(long.code, 0)
  const out = long.stdout.split('\n')
  t.equal(out.length, 2501)
  t.same([out[0], out[999], out[1000], out[2499]], ['OK 1', 'OK 1000', 'OK 1001', 'OK 2500'], 'one result per event, in order')

  const run = spawnCli(['pub', 'bulk', '--port', String(tb.port)], { keepStdinOpen: true })
  run.child.stdin!.write('{"msg":"first"}\n')
  await waitFor(() => run.stdout() === 'OK 2501\n', 'the first result')
  await tb.stop()
  await new Promise(resolve => setTimeout(resolve, 100))
  run.child.stdin!.write('{"msg":"after the broker stopped"}\n')
  t.equal(await run.exited, 1)
  t.equal(run.stdout(), 'OK 2501\n', 'nothing more was published')
  t.match(run.stderr(), /^ackline: connection to 127\.0\.0\.1:\d+ lost; stopped reading stdin after line 2\n$/)
})
