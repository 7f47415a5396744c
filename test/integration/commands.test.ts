import t from 'tap'
import { startTestBroker } from '../helpers/broker'

t.test('every command answers OK, and each error names the problem', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  t.equal(await a.request('ping'), 'OK PONG')
  t.match(await a.request('help'), /^OK commands: pub\|PUBLISH <topic> <event-json>, sub\|SUBSCRIBE <topic> \[max-in-flight \[ack-timeout-ms\]\] \[from=beginning\|latest\|<offset>\|time:<unix-ms>\] \[to=<offset>\] \[ack=explicit\|none\] \[group=<name>\], unsub\|UNSUBSCRIBE <topic> \[forget\] \[group=<name>\], ack\|ACKNOWLEDGE <topic> <event-id> \[event-id \.\.\.\], nack\|NACK <topic> <event-id> \[delay-ms\], touch\|TOUCH <topic> <event-id> \[extend-ms\], commit <topic> <offset>, create <topic>, delete <topic>, topics, name <client-id>, help, ping, quit, stats \[topic\], events <topic> \[from=<offset>\] \[limit=<n>\], webhook <topic> <name> <url> \[max-in-flight \[max-deliveries \[secret\]\]\], webhooks <topic>, unwebhook <topic> <name>, requeue <topic> \[event-id\|all\], exchange <exchange> <fanout\|direct\|topic>, bind <exchange> <topic> \[binding-key\], unbind <exchange> <topic> \[binding-key\], exchanges, route <exchange> <routing-key> <event-json> \[mandatory=1\]$/)
  t.equal(await a.request('frob x'), 'ERR UNKNOWN_COMMAND unknown command "frob"; type help for the list')
  t.equal(await a.request('sub nosuch'), 'ERR UNKNOWN_TOPIC topic nosuch does not exist; publish to it first')
  t.equal(await a.request('pub'), 'ERR BAD_ARGS missing topic name; usage: pub <topic> <event-json>')
  t.equal(await a.request('pub t'), 'ERR BAD_ARGS missing event JSON; usage: pub <topic> <event-json>')
  t.equal(await a.request('pub t {"msg":'), 'ERR BAD_JSON event is not valid JSON (it ends too early)')
  t.equal(await a.request('pub t {"priority":1}'), 'ERR BAD_EVENT event must have required property \'msg\'')
  t.equal(await a.request('pub t {"msg":1,"priority":10}'), 'ERR BAD_EVENT field "priority" must be <= 9')
  t.equal(await a.request('pub ../../etc/passwd {"msg":1}'), 'ERR BAD_TOPIC invalid topic name "../../etc/passwd": use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")')
  t.match(await a.request('pub .. {"msg":1}'), /^ERR BAD_TOPIC/)
  t.match(await a.request('pub a/b {"msg":1}'), /^ERR BAD_TOPIC/)
  t.match(await a.request(`pub ${'x'.repeat(201)} {"msg":1}`), /^ERR BAD_TOPIC/)
  t.equal(await a.request(`pub ${'x'.repeat(200)} {"msg":1}`), `OK 1 published to ${'x'.repeat(200)} (0 subscribers)`)
  t.equal(await a.request('PUBLISH t {"id":"e1","priority":3,"msg":"hello"}'), 'OK e1 published to t (0 subscribers)')
  t.equal(await a.request('unsub t'), 'ERR NOT_SUBSCRIBED not subscribed to t')
  t.equal(await a.request('unsub zz'), 'ERR UNKNOWN_TOPIC topic zz does not exist')
  t.equal(await a.request('ack t 1'), 'ERR NOT_SUBSCRIBED not subscribed to t')
  t.equal(await a.request('ack t'), 'ERR BAD_ARGS missing event id; usage: ack <topic> <event-id> [event-id ...]')
  t.equal(await a.request('SUBSCRIBE t'), 'OK subscribed to t (max in flight 10)')
  t.equal(await a.request('sub t'), 'ERR ALREADY_SUBSCRIBED already subscribed to t')
  t.equal(await a.request('ack t e1'), 'ERR NOT_IN_FLIGHT event "e1" is not in flight for you on t')
  t.equal(await a.request('name later'), 'ERR NAME_AFTER_SUB set the name before subscribing: anonymous subscriptions are already open')
  t.equal(await a.request('unsub t'), 'OK unsubscribed from t')
  t.equal(await a.request('quit'), 'OK bye')
  await a.closedByPeer()
})

t.test('pub then deliver, ack, and duplicate ids', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  t.equal(await p.request('pub tweets {"msg":"first"}'), 'OK 1 published to tweets (0 subscribers)')
  t.equal(await s.request('sub tweets'), 'OK subscribed to tweets (max in flight 10)')
  t.equal(await p.request('pub tweets {"id":"x1","priority":4,"msg":{"text":"hi"},"source":"cli"}'), 'OK x1 published to tweets (1 subscriber)')
  const { topic, event } = await s.event()
  t.equal(topic, 'tweets')
  t.same(Object.keys(event), ['id', 'priority', 'msg', 'source', 'timestamp', 'offset'])
  t.match(event, { id: 'x1', priority: 4, msg: { text: 'hi' }, source: 'cli', timestamp: Number, offset: 2 })
  t.ok(Math.abs((event.timestamp as number) - Date.now()) < 60000, 'timestamp is ms since epoch')
  t.equal(await p.request('pub tweets {"id":"x1","msg":"again"}'), 'OK x1 duplicate, already published to tweets', 'an id still pending is a duplicate')
  t.equal(await s.request('ack tweets x1'), 'OK acked x1 on tweets')
  t.equal(await p.request('pub tweets {"id":"x1","msg":"again"}'), 'OK x1 duplicate, already published to tweets', 'acked, but within dedupeWindowMs: still a duplicate')
  t.equal(await p.request('pub tweets {"msg":"auto"}'), 'OK 2 published to tweets (1 subscriber)')
  t.match((await s.event()).event, { id: 2 })
  t.equal(await s.request('ack tweets 2'), 'OK acked 2 on tweets', 'integer ids are acked by their decimal form')
})

t.test('a publisher subscribed to its own topic gets OK before the EVENT', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  await a.request('pub self {"msg":0}')
  await a.request('sub self')
  a.send('pub self {"id":"s","msg":1}')
  t.equal(await a.next(), 'OK s published to self (1 subscriber)')
  t.match(await a.next(), /^EVENT self \{"priority":0,"id":"s"/)
})

t.test('fan-out: every subscriber gets every event published after it subscribed', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await p.request('pub news {"msg":"before anyone"}')
  const subs = await Promise.all([tb.client(), tb.client(), tb.client()])
  for (const s of subs) t.equal(await s.request('sub news 100'), 'OK subscribed to news (max in flight 100)')
  for (let i = 0; i < 20; i++) p.send(`pub news {"id":${i},"msg":${i}}`)
  for (let i = 0; i < 20; i++) t.equal(await p.reply(), `OK ${i} published to news (3 subscribers)`)
  for (const s of subs) {
    const ids: unknown[] = []
    for (let i = 0; i < 20; i++) ids.push((await s.event()).event.id)
    t.same(ids, [...Array(20).keys()])
  }
  const late = await tb.client()
  await late.request('sub news')
  t.ok(await late.quiet(), 'a late subscriber gets no earlier events')
  // One subscriber leaving does not affect the others.
  t.equal(await subs[0].request('unsub news'), 'OK unsubscribed from news (20 unacked events dropped)')
  t.equal(await p.request('pub news {"id":"after","msg":1}'), 'OK after published to news (3 subscribers)')
  t.match((await subs[1].event()).event, { id: 'after' })
  t.match((await late.event()).event, { id: 'after' })
})

t.test('priority order under the in-flight cap', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  t.equal(await s.request('sub jobs 2'), 'OK subscribed to jobs (max in flight 2)')
  const prios = [0, 0, 3, 9, 5, 9, 1, 5, 7, 2]
  prios.forEach((pr, i) => p.send(`pub jobs {"id":"j${i}","priority":${pr},"msg":${i}}`))
  for (let i = 0; i < prios.length; i++) await p.reply()
  const first = [(await s.event()).event, (await s.event()).event]
  t.same(first.map(e => e.id), ['j0', 'j1'], 'first two go out at once')
  t.ok(await s.quiet(), 'nothing more while two are in flight')
  const order: unknown[] = []
  let inflight = first.map(e => e.id as string)
  while (inflight.length > 0) {
    const id = inflight.shift()!
    t.equal(await s.request(`ack jobs ${id}`), `OK acked ${id} on jobs`)
    if (order.length < prios.length - 2) {
      const ev = (await s.event()).event
      order.push(ev.id)
      inflight.push(ev.id as string)
    }
  }
  // Remaining after j0,j1: j3(9) j5(9) j8(7) j4(5) j7(5) j2(3) j9(2) j6(1)
  t.same(order, ['j3', 'j5', 'j8', 'j4', 'j7', 'j2', 'j9', 'j6'])
  inflight = []
  t.equal(tb.broker.store.counts().pending, 0)
})

t.test('in-flight cap edges: sub <n> from 1 to maxInFlightLimit', async t => {
  const tb = await startTestBroker(t, { maxInFlightLimit: 50 })
  const a = await tb.client()
  await a.request('pub t {"msg":1}')
  t.equal(await a.request('sub t 0'), 'ERR BAD_IN_FLIGHT max in flight must be an integer from 1 to 50, got "0"')
  t.equal(await a.request('sub t 51'), 'ERR BAD_IN_FLIGHT max in flight must be an integer from 1 to 50, got "51"')
  t.equal(await a.request('sub t -1'), 'ERR BAD_IN_FLIGHT max in flight must be an integer from 1 to 50, got "-1"')
  t.equal(await a.request('sub t ten'), 'ERR BAD_IN_FLIGHT max in flight must be an integer from 1 to 50, got "ten"')
  t.equal(await a.request('sub t 5 6000 7'), 'ERR BAD_ARGS unexpected "7"; usage: sub <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>]')
  t.equal(await a.request('sub t 50'), 'OK subscribed to t (max in flight 50)')
  const b = await tb.client()
  t.equal(await b.request('sub t 1'), 'OK subscribed to t (max in flight 1)')
  const c = await tb.client()
  for (let i = 0; i < 3; i++) await c.request(`pub t {"msg":${i}}`)
  t.match((await b.event()).event, { msg: 0 })
  t.ok(await b.quiet(), 'cap of 1 holds the rest')
})

t.test('quit ends the session at once: later lines are not run, subscriptions end', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  const b = await tb.client()
  await a.request('pub hq {"msg":0}')
  await a.request('name quitter')
  await a.request('sub hq')
  a.send('quit', 'pub qx {"msg":"after quit"}')
  t.equal(await a.reply(), 'OK bye')
  await a.closedByPeer()
  t.same(a.lines, ['OK 1 published to hq (0 subscribers)', 'OK named quitter', 'OK subscribed to hq (max in flight 10)', 'OK bye'])
  t.equal(await b.request('sub qx'), 'ERR UNKNOWN_TOPIC topic qx does not exist; publish to it first', 'the line after quit was not run')
  t.equal(await b.request('name quitter'), 'OK named quitter', 'the name is free')
  t.equal(await b.request('unsub hq forget x'), 'ERR BAD_ARGS unexpected "x"; usage: unsub <topic> [forget] [group=<name>]')
  t.equal(await b.request('unsub hq x'), 'ERR BAD_ARGS the word after the topic must be forget, got "x"')
  t.equal(await b.request('ack nope 1'), 'ERR UNKNOWN_TOPIC topic nope does not exist')
})
