import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { startLoggedBroker, testHash } from '../helpers/auth'
import { CLI, runCliToEnd, spawnCli } from '../helpers/cli'
import { requireProgram, TmuxTerminal } from '../helpers/tmux'
import { connect, AcklineError, type AcklineClient, type ConnectOptions, type Subscription } from '../../src/client'

// c.topics(), c.create(), c.delete() and `ackline topics` against the real broker, over TCP and
// WebSocket; a deleted topic ends its subscriptions' loops with TOPIC_DELETED.

type Teardown = { teardown: (fn: () => unknown) => void }

async function client (t: Teardown, target: number | string, opts: ConnectOptions = {}): Promise<AcklineClient> {
  const c = typeof target === 'number' ? await connect({ port: target, ...opts }) : await connect(target, opts)
  t.teardown(() => c.close())
  return c
}

/** What ends the loop: its error code, or 'done'; and the ids it handed out. */
async function runLoop (sub: Subscription): Promise<{ ids: string[], end: string }> {
  const ids: string[] = []
  try {
    for await (const ev of sub) {
      ids.push(ev.id)
      await ev.ack()
    }
    return { ids, end: 'done' }
  } catch (err) {
    return { ids, end: err instanceof AcklineError ? err.code : String(err) }
  }
}

for (const transport of ['TCP', 'WebSocket'] as const) {
  t.test(`${transport}: create, topics, delete while subscribed (named and anonymous), and the clients carry on`, async t => {
    const tb = await startTestBroker(t)
    const target = transport === 'TCP' ? tb.port : `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`
    const admin = await client(t, target)
    const worker = await client(t, target, { name: 'w1' })
    const reader = await client(t, target)

    t.same(await admin.topics(), [])
    await admin.create('orders')
    await t.rejects(admin.create('orders'), { code: 'TOPIC_EXISTS', command: 'create orders' })
    const durable = worker.subscribe('orders', { maxInFlight: 1 })
    await durable.ready // a created topic takes subscriptions before any event
    const anonymous = reader.subscribe('orders')
    await anonymous.ready
    t.same(await admin.topics(), [{ topic: 'orders', firstOffset: 1, lastOffset: 0, retainedEvents: 0, retainedBytes: 0, subscribers: 2, pending: 0 }])

    await admin.publish('orders', { id: 'o1', msg: 'first' })
    const listed = await admin.topics()
    t.match(listed, [{ topic: 'orders', firstOffset: 1, lastOffset: 1, retainedEvents: 1, subscribers: 2 }])
    t.ok(listed[0].retainedBytes > 0)

    const [named, anon] = [runLoop(durable), runLoop(anonymous)]
    // Each loop has had o1 once it is acked: the topic has nothing pending.
    for (let i = 0; i < 250 && (await admin.topics())[0].pending > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
    await admin.delete('orders')
    t.same(await named, { ids: ['o1'], end: 'TOPIC_DELETED' })
    t.same(await anon, { ids: ['o1'], end: 'TOPIC_DELETED' })
    t.same(durable.endedBy, { reason: 'deleted' })
    t.same(await admin.topics(), [])
    await t.rejects(admin.delete('orders'), { code: 'UNKNOWN_TOPIC' })

    // The same connections go on; a publish makes the topic anew from offset 1.
    t.match(await worker.publish('orders', { msg: 'again' }), { duplicate: false })
    const again = worker.subscribe('orders', { from: 'beginning' })
    const first = await again.next()
    t.equal(first.value?.offset, 1)
    t.equal(worker.connected && reader.connected, true)
  })
}

t.test('create and delete follow the publish ACL; topics lists what the user may see', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['*'] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const alice = await client(t, tb.port, { user: 'alice', password: 'alice-pw' })
  await alice.create('orders.eu')
  await t.rejects(alice.create('payments'), { code: 'FORBIDDEN' })
  await t.rejects(alice.delete('payments'), { code: 'FORBIDDEN' })
  t.same((await alice.topics()).map(x => x.topic), ['orders.eu'])
  await alice.delete('orders.eu')
  t.same(await alice.topics(), [])
})

t.test('ackline topics: JSON when piped, --table, --json; usage mistakes', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  const port = ['--port', String(tb.port)]
  t.same(await runCliToEnd(['topics', ...port]), { code: 0, stdout: '[]\n', stderr: '' })
  t.same(await runCliToEnd(['topics', '--table', ...port]), { code: 0, stdout: 'no topics\n', stderr: '' })
  await c.create('empty')
  await c.publishMany('jobs', [{ msg: 1 }, { msg: 2 }, { msg: 3 }])
  const piped = await runCliToEnd(['topics', ...port])
  t.equal(piped.code, 0)
  t.same(JSON.parse(piped.stdout), await c.topics(), "the broker's array, one line")
  t.equal(piped.stdout.split('\n').length, 2)
  const table = await runCliToEnd(['topics', '--table', ...port])
  t.equal(table.code, 0)
  const rows = table.stdout.split('\n')
  t.match(rows[0], /^TOPIC +OFFSETS +RETAINED +BYTES +SUBSCRIBERS +PENDING$/)
  t.match(rows[1], /^empty +- \(last 0\) +0 +0 B +0 +0$/)
  t.match(rows[2], /^jobs +1-3 +3 +\d+ B +0 +0$/)
  t.equal(rows.length, 4)
  const json = await runCliToEnd(['topics', '--json', ...port])
  t.equal(json.stdout, piped.stdout)
  t.same(await runCliToEnd(['topics', '--json', '--table', ...port]), { code: 2, stdout: '', stderr: 'ackline: --json and --table exclude each other\n' })
  const help = await runCliToEnd(['topics', '--help'])
  for (const flag of ['--json', '--table', '--host', '--port', '--tls', '--user']) t.match(help.stdout, flag)
})

t.test('ackline sub: a topic deleted under it is exit 1 naming TOPIC_DELETED', async t => {
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.create('doomed')
  const run = spawnCli(['sub', 'doomed', '--port', String(tb.port)])
  for (let i = 0; i < 250 && (await c.topics())[0].subscribers === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  await c.publish('doomed', '{"id":"d1","msg":1}')
  for (let i = 0; i < 250 && !run.stdout().includes('"d1"'); i++) await new Promise(resolve => setTimeout(resolve, 20))
  await c.delete('doomed')
  t.equal(await run.exited, 1)
  t.match(run.stdout(), /^\{"priority":0,"id":"d1","msg":1,"timestamp":\d+,"offset":1\}\n$/)
  t.equal(run.stderr(), 'ackline: TOPIC_DELETED topic doomed was deleted\n')
})

t.test('on a terminal: ackline topics prints the table', async t => {
  await requireProgram('tmux', ['-V'])
  const tb = await startTestBroker(t)
  const c = await client(t, tb.port)
  await c.publish('metrics', { msg: 1 })
  const term = await TmuxTerminal.start(t, ['sh', '-c', `${process.execPath} ${CLI} topics --port ${tb.port}; echo "exit $?"; sleep 600`])
  const rows = await term.waitForScreen(rows => rows.includes('exit 0'), 'the table and exit 0')
  t.match(rows[0], /^TOPIC +OFFSETS +RETAINED +BYTES +SUBSCRIBERS +PENDING$/)
  t.match(rows[1], /^metrics +1-1 +1 +\d+ B +0 +0$/)
})
