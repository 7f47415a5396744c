import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LineClient, tempDir } from '../helpers/broker'
import { runCli } from '../helpers/cli'

/** Starts the built broker on a log dir; returns it and a connected client. */
async function start (logDir: string, cfg: string): Promise<{ cli: ReturnType<typeof runCli>, c: LineClient }> {
  const cli = runCli(['start', '--port', '0', '--log-dir', logDir, '--config', cfg])
  const port = await cli.listening
  return { cli, c: await LineClient.connect(port) }
}

t.test('exchanges and bindings survive kill -9: those in exchanges.json and those only in the journal', async t => {
  const dir = tempDir()
  const cfg = join(dir, 'config.json')
  const logDir = join(dir, 'logs')
  writeFileSync(cfg, JSON.stringify({ batchIntervalMs: 50 }))
  const first = await start(logDir, cfg)
  const a = first.c
  t.equal(await a.request('exchange fan fanout'), 'OK exchange fan (fanout) declared')
  t.equal(await a.request('bind fan f1'), 'OK bound f1 to fan')
  t.equal(await a.request('bind fan f2'), 'OK bound f2 to fan')
  t.equal(await a.request('exchange direct1 direct'), 'OK exchange direct1 (direct) declared')
  t.equal(await a.request('bind direct1 d1 red'), 'OK bound d1 to direct1 with key red')
  // Let a batch store the table, then change it again: the rest lives only in the journal when the process dies.
  const file = join(logDir, 'exchanges.json')
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(existsSync(file), 'a batch wrote exchanges.json')
  t.match(readFileSync(file, 'utf8'), /"name":"fan"/)
  t.equal(await a.request('exchange tx topic'), 'OK exchange tx (topic) declared')
  t.equal(await a.request('bind tx t1 orders.#'), 'OK bound t1 to tx with key orders.#')
  t.equal(await a.request('bind tx t2 *.eu'), 'OK bound t2 to tx with key *.eu')
  t.equal(await a.request('unbind fan f2'), 'OK unbound f2 from fan')
  t.equal(await a.request('route tx orders.eu {"id":"e1","msg":"before the crash"}'), 'OK e1 routed to 2 topics')
  first.cli.child.kill('SIGKILL')
  await first.cli.exited
  a.destroy()

  const second = await start(logDir, cfg)
  const b = second.c
  t.same(JSON.parse((await b.request('exchanges')).slice(3)), [
    { name: 'direct1', type: 'direct', bindings: [{ topic: 'd1', key: 'red' }] },
    { name: 'fan', type: 'fanout', bindings: [{ topic: 'f1', key: '' }] },
    { name: 'tx', type: 'topic', bindings: [{ topic: 't1', key: 'orders.#' }, { topic: 't2', key: '*.eu' }] },
  ], 'every confirmed exchange change is back')
  t.equal(await b.request('route tx x.eu {"id":"e2","msg":"after"}'), 'OK e2 routed to 1 topic')
  t.equal(await b.request('route fan k {"id":"e3","msg":"after"}'), 'OK e3 routed to 1 topic')
  // The routes made topics, so batches run and delete the journal the exchanges were replayed from: the first of
  // them must have stored the replayed table. A second kill -9 after that loses nothing.
  await new Promise(resolve => setTimeout(resolve, 300))
  second.cli.child.kill('SIGKILL')
  await second.cli.exited
  b.destroy()
  const third = await start(logDir, cfg)
  t.equal(JSON.parse((await third.c.request('exchanges')).slice(3)).length, 3, 'the replayed exchanges were stored before their journal went')
  t.equal(await third.c.request('exchange late fanout'), 'OK exchange late (fanout) declared')
  third.c.destroy()
  third.cli.child.kill('SIGTERM')
  t.equal(await third.cli.exited, 0)
  t.match(readFileSync(file, 'utf8'), /"name":"late"/, 'the final batch stored the table')
  const fourth = await start(logDir, cfg)
  t.equal(JSON.parse((await fourth.c.request('exchanges')).slice(3)).length, 4)
  fourth.c.destroy()
  fourth.cli.child.kill('SIGTERM')
  t.equal(await fourth.cli.exited, 0)
})

t.test('a damaged exchanges.json is moved aside; the journal still has what it did not', async t => {
  const dir = tempDir()
  const cfg = join(dir, 'config.json')
  const logDir = join(dir, 'logs')
  writeFileSync(cfg, JSON.stringify({ batchIntervalMs: 60000 }))
  const first = await start(logDir, cfg)
  t.equal(await first.c.request('exchange j fanout'), 'OK exchange j (fanout) declared')
  first.cli.child.kill('SIGKILL')
  await first.cli.exited
  first.c.destroy()
  writeFileSync(join(logDir, 'exchanges.json'), '{"gen":')
  const second = await start(logDir, cfg)
  t.same(JSON.parse((await second.c.request('exchanges')).slice(3)), [{ name: 'j', type: 'fanout', bindings: [] }])
  second.c.destroy()
  second.cli.child.kill('SIGTERM')
  t.equal(await second.cli.exited, 0)
})

t.test('a consumer group survives kill -9: its queue, its unacked deliveries (deliveries + 1), not its confirmed acks', async t => {
  const dir = tempDir()
  const cfg = join(dir, 'config.json')
  const logDir = join(dir, 'logs')
  writeFileSync(cfg, JSON.stringify({ batchIntervalMs: 50 }))
  const first = await start(logDir, cfg)
  const p = first.c
  t.match(await p.request('pub jobs {"id":"create","msg":0}'), /^OK/)
  const w = await LineClient.connect(first.cli.port)
  t.equal(await w.request('sub jobs 2 group=pool'), 'OK subscribed to jobs (group pool, max in flight 2)')
  for (let i = 1; i <= 6; i++) t.match(await p.request(`pub jobs {"id":"e${i}","msg":${i}}`), new RegExp(`^OK e${i} published to jobs \\(1 subscriber\\)$`))
  const got = [await w.event(), await w.event()]
  t.same(got.map(e => e.event.id), ['e1', 'e2'])
  t.equal(await w.request('ack jobs e1'), 'OK acked e1 on jobs')
  t.equal((await w.event()).event.id, 'e3')
  // A batch has run (50 ms) for some of this; the rest is only in the journal when the process dies.
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(await w.request('ack jobs e3'), 'OK acked e3 on jobs')
  t.equal((await w.event()).event.id, 'e4')
  // Deliveries are journaled without waiting for the disk: a confirmed pub after it says e4's delivery is stored too.
  t.match(await p.request('pub jobs {"id":"e7","msg":7}'), /^OK e7 published/)
  first.cli.child.kill('SIGKILL')
  await first.cli.exited
  p.destroy()
  w.destroy()

  const second = await start(logDir, cfg)
  const stats = JSON.parse((await second.c.request('stats jobs')).slice(3)).subscribers
  t.same(stats, [{ name: 'group:pool', connected: false, pending: 5, inFlight: 0, maxInFlight: 2, ack: 'explicit', dropped: 0, group: 'pool', members: [] }], 'the group waits for a member')
  const w2 = await LineClient.connect(second.cli.port)
  t.equal(await w2.request('sub jobs 10 group=pool'), 'OK subscribed to jobs (group pool, max in flight 10, 1 member, 5 pending)')
  const back: Array<[unknown, unknown]> = []
  for (let i = 0; i < 5; i++) {
    const e = await w2.event()
    back.push([e.event.id, e.event.deliveries])
  }
  t.same(back, [['e2', 2], ['e4', 2], ['e5', undefined], ['e6', undefined], ['e7', undefined]], 'unacked deliveries first, counted; the acked e1 and e3 stay acked')
  t.equal(await w2.request('unsub jobs forget group=pool'), 'OK forgot group pool on jobs (5 unacked events dropped)')
  w2.destroy()
  second.c.destroy()
  second.cli.child.kill('SIGKILL')
  await second.cli.exited
  const third = await start(logDir, cfg)
  t.same(JSON.parse((await third.c.request('stats jobs')).slice(3)).subscribers, [], 'a forgotten group stays forgotten')
  third.c.destroy()
  third.cli.child.kill('SIGTERM')
  t.equal(await third.cli.exited, 0)
})
