import t from 'tap'
import { ManualClock } from '../helpers/clock'
import { startLoggedBroker, testHash } from '../helpers/auth'

const users = {
  alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*', 'news'], subscribe: ['orders.*'] },
  bob: { passwordHash: testHash('bob pw with spaces'), publish: ['*'], subscribe: ['*'] },
  carol: { passwordHash: testHash('carol-pw'), subscribe: ['news'] },
}
const required = { auth: { required: true, users } }

t.test('before auth only auth, help, ping and quit work', async t => {
  const tb = await startLoggedBroker(t, required)
  const a = await tb.client()
  const needAuth = 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>'
  t.equal(await a.request('pub news {"msg":"x"}'), needAuth)
  t.equal(await a.request('sub news'), needAuth)
  t.equal(await a.request('unsub news'), needAuth)
  t.equal(await a.request('ack news 1'), needAuth)
  t.equal(await a.request('name w1'), needAuth)
  t.equal(await a.request('grant ~alice.x bob'), needAuth)
  t.equal(await a.request('revoke ~alice.x bob'), needAuth)
  t.equal(await a.request('ping'), 'OK PONG')
  t.equal(await a.request('help'), 'OK commands: help, ping, quit, auth|AUTH <user> <password>', 'help lists only what works before auth')
  t.match(await a.request('frobnicate'), /^ERR UNKNOWN_COMMAND/)
  t.equal(tb.broker.store.topics.size, 0, 'nothing was created')
  t.equal(await a.request('AUTH alice alice-pw'), 'OK authenticated as alice')
  t.equal(await a.request('pub news {"msg":"x"}'), 'OK 1 published to news (0 subscribers)')
  t.equal(await a.request('quit'), 'OK bye')
  await a.closedByPeer()
})

t.test('wrong password and unknown user get the same reply, logged with the IP', async t => {
  const tb = await startLoggedBroker(t, required)
  const a = await tb.client()
  const wrong = await a.request('auth alice nope')
  const unknown = await a.request('auth mallory alice-pw')
  t.equal(wrong, 'ERR AUTH_FAILED wrong user or password')
  t.equal(unknown, wrong, 'no user enumeration')
  t.equal(await a.request('auth alice'), 'ERR BAD_ARGS missing password; usage: auth <user> <password>')
  t.equal(await a.request('auth'), 'ERR BAD_ARGS missing user name; usage: auth <user> <password>')
  t.equal(await a.request('auth alice ALICE-PW'), wrong, 'passwords are case-sensitive')
  t.equal(await a.request('pub news {"msg":"x"}'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.equal(await a.request('auth bob bob pw with spaces'), 'OK authenticated as bob', 'the password is the rest of the line')
  t.equal(await a.request('auth alice alice-pw'), 'ERR ALREADY_AUTHENTICATED this connection is already authenticated as bob')
  const failed = tb.logs.filter(l => l.msg === 'auth failed')
  t.equal(failed.length, 3)
  t.match(failed[0], { level: 40, ip: /127\.0\.0\.1$/, user: 'alice' })
  t.match(failed[1], { ip: /127\.0\.0\.1$/, user: 'mallory' })
  t.notOk(JSON.stringify(tb.logs).includes('alice-pw'), 'passwords are never logged')
  t.match(tb.logs.find(l => l.msg === 'authenticated'), { user: 'bob', ip: /127\.0\.0\.1$/ })
})

t.test('publish and subscribe are checked against the user\'s patterns; denials are logged', async t => {
  const tb = await startLoggedBroker(t, required)
  const alice = await tb.client()
  const bob = await tb.client()
  const carol = await tb.client()
  t.equal(await alice.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.equal(await bob.request('auth bob bob pw with spaces'), 'OK authenticated as bob')
  t.equal(await carol.request('auth carol carol-pw'), 'OK authenticated as carol')

  t.equal(await alice.request('pub orders.eu {"msg":1}'), 'OK 1 published to orders.eu (0 subscribers)', 'prefix pattern')
  t.equal(await alice.request('pub orders.eu.paris {"msg":1}'), 'OK 1 published to orders.eu.paris (0 subscribers)', 'prefix at any depth')
  t.equal(await alice.request('pub news {"msg":1}'), 'OK 1 published to news (0 subscribers)', 'exact pattern')
  t.equal(await alice.request('pub orders {"msg":1}'), 'ERR FORBIDDEN user alice may not publish to orders', 'orders.* does not cover orders')
  t.equal(await alice.request('pub newsletter {"msg":1}'), 'ERR FORBIDDEN user alice may not publish to newsletter', 'exact means exact')
  t.equal(await alice.request('pub payments {"msg":1}'), 'ERR FORBIDDEN user alice may not publish to payments')
  t.equal(await carol.request('pub news {"msg":1}'), 'ERR FORBIDDEN user carol may not publish to news', 'no publish list: nothing')
  t.notOk(tb.broker.store.topics.has('payments'), 'a denied pub creates no topic')

  t.equal(await alice.request('sub news'), 'ERR FORBIDDEN user alice may not subscribe to news')
  t.equal(await carol.request('sub news'), 'OK subscribed to news (max in flight 10)')
  t.equal(await alice.request('sub orders.eu'), 'OK subscribed to orders.eu (max in flight 10)')
  t.equal(await carol.request('sub orders.eu'), 'ERR FORBIDDEN user carol may not subscribe to orders.eu')
  t.equal(await bob.request('pub orders.eu {"msg":"from bob"}'), 'OK 2 published to orders.eu (1 subscriber)')
  t.match(await alice.event(), { topic: 'orders.eu', event: { msg: 'from bob' } })
  t.equal(await alice.request('ack orders.eu 2'), 'OK acked 2 on orders.eu')
  t.equal(await alice.request('pub bad/name {"msg":1}'), 'ERR BAD_TOPIC invalid topic name "bad/name": use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")')

  const denied = tb.logs.filter(l => l.msg === 'access denied')
  t.equal(denied.length, 6)
  t.match(denied[0], { level: 40, user: 'alice', action: 'pub', topic: 'orders', ip: /127\.0\.0\.1$/, reason: 'no publish permission' })
  t.match(denied.find(l => l.action === 'sub'), { user: 'alice', topic: 'news', reason: 'no subscribe permission' })
})

t.test('private topics are invisible to others until granted; revoke ends access', async t => {
  const tb = await startLoggedBroker(t, required)
  const alice = await tb.client()
  const bob = await tb.client()
  t.equal(await alice.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.equal(await bob.request('auth bob bob pw with spaces'), 'OK authenticated as bob')

  // The owner uses its private topic whatever its patterns say.
  t.equal(await alice.request('pub ~alice.inbox {"msg":"note to self"}'), 'OK 1 published to ~alice.inbox (0 subscribers)')
  t.equal(await alice.request('sub ~alice.inbox'), 'OK subscribed to ~alice.inbox (max in flight 10)')

  // To bob (whose patterns are `*`), an existing private topic looks exactly like a missing one.
  for (const [cmd, missing] of [
    ['sub ~alice.inbox', 'sub ~alice.nothing'],
    ['pub ~alice.inbox {"msg":"hi"}', 'pub ~alice.nothing {"msg":"hi"}'],
    ['ack ~alice.inbox 1', 'ack ~alice.nothing 1'],
    ['unsub ~alice.inbox', 'unsub ~alice.nothing'],
    ['grant ~alice.inbox carol', 'grant ~alice.nothing carol'],
  ]) {
    const existing = await bob.request(cmd)
    const absent = await bob.request(missing)
    t.equal(existing.replace('inbox', 'X'), absent.replace('nothing', 'X'), `${cmd.split(' ')[0]}: same reply as for a missing topic`)
  }
  t.equal(await bob.request('sub ~alice.inbox'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist; publish to it first')
  t.equal(await bob.request('sub secret'), 'ERR UNKNOWN_TOPIC topic secret does not exist; publish to it first', 'what a real missing topic says')
  t.equal(await bob.request('pub ~alice.inbox {"msg":"hi"}'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist')
  t.equal(await bob.request('grant ~alice.inbox bob'), 'ERR FORBIDDEN you can grant and revoke only on your own private topics (~bob.<name>)')
  t.notOk(tb.broker.store.topics.has('~alice.nothing'), 'others cannot create topics in a private namespace')

  // Grants: sub only, then pub too.
  t.equal(await alice.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  t.equal(await bob.request('sub ~alice.inbox'), 'OK subscribed to ~alice.inbox (max in flight 10)')
  t.equal(await bob.request('pub ~alice.inbox {"msg":"hi"}'), 'ERR FORBIDDEN user bob may not publish to ~alice.inbox', 'visible now, so a plain denial')
  t.equal(await alice.request('pub ~alice.inbox {"msg":"shared"}'), 'OK 2 published to ~alice.inbox (2 subscribers)')
  t.match(await alice.event(), { topic: '~alice.inbox', event: { msg: 'shared' } })
  t.match(await bob.event(), { topic: '~alice.inbox', event: { msg: 'shared' } })
  t.equal(await alice.request('grant ~alice.inbox bob pub'), 'OK bob may now pub,sub on ~alice.inbox')
  t.equal(await bob.request('pub ~alice.inbox {"msg":"reply"}'), 'OK 3 published to ~alice.inbox (2 subscribers)')
  t.match(await bob.event(), { event: { msg: 'reply' } })
  t.match(await alice.event(), { event: { msg: 'reply' } })

  // Revoking pub keeps the subscription; revoking sub ends it at once.
  t.equal(await alice.request('revoke ~alice.inbox bob pub'), 'OK bob may now sub on ~alice.inbox')
  t.equal(await bob.request('pub ~alice.inbox {"msg":"x"}'), 'ERR FORBIDDEN user bob may not publish to ~alice.inbox')
  t.equal(await alice.request('revoke ~alice.inbox bob'), 'OK bob may now none on ~alice.inbox (1 subscription ended)')
  t.equal(await alice.request('pub ~alice.inbox {"msg":"private again"}'), 'OK 4 published to ~alice.inbox (1 subscriber)')
  t.match(await alice.event(), { event: { msg: 'private again' } })
  t.equal(await bob.request('ack ~alice.inbox 4'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist')
  t.equal(await bob.request('sub ~alice.inbox'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist; publish to it first')
  t.equal(await bob.request('stats ~alice.inbox'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist', 'stats does not reveal a private topic either')
  t.equal(await bob.request('nack ~alice.inbox 4'), 'ERR UNKNOWN_TOPIC topic ~alice.inbox does not exist')
  t.match(await alice.request('stats ~alice.inbox'), /^OK \{"topic":"~alice.inbox"/, 'the owner sees it')
  t.ok(await bob.quiet(100), 'bob got nothing after the revoke')

  // An at-most-once subscription on a private topic ends with the revoke too.
  const bob2 = await tb.client()
  t.equal(await bob2.request('auth bob bob pw with spaces'), 'OK authenticated as bob')
  t.equal(await alice.request('grant ~alice.inbox bob sub'), 'OK bob may now sub on ~alice.inbox')
  t.equal(await bob2.request('sub ~alice.inbox ack=none'), 'OK subscribed to ~alice.inbox (at most once, ack=none)')
  t.equal(await alice.request('revoke ~alice.inbox bob'), 'OK bob may now none on ~alice.inbox (1 subscription ended)')
  t.equal(await alice.request('pub ~alice.inbox {"msg":"after the second revoke"}'), 'OK 5 published to ~alice.inbox (1 subscriber)')
  t.match(await alice.event(), { event: { msg: 'after the second revoke' } })
  t.ok(await bob2.quiet(100), 'the at-most-once subscriber got nothing after the revoke')

  // Argument errors.
  t.equal(await alice.request('grant ~alice.inbox'), 'ERR BAD_ARGS missing user name; usage: grant <topic> <user> [pub|sub|both]')
  t.equal(await alice.request('grant ~alice.inbox bob all'), 'ERR BAD_ARGS rights must be pub, sub or both, got "all"')
  t.equal(await alice.request('grant ~alice.inbox b.o.b'), 'ERR BAD_ARGS invalid user name "b.o.b": use 1-64 characters of A-Z a-z 0-9 _ -')
  t.equal(await alice.request('grant ~alice.inbox alice'), 'ERR BAD_ARGS you own ~alice.inbox already')
  t.equal(await alice.request('grant news bob'), 'ERR FORBIDDEN you can grant and revoke only on your own private topics (~alice.<name>)')
  t.equal(await alice.request('revoke ~alice.inbox nobody'), 'OK nobody may now none on ~alice.inbox')
  t.match(await alice.request('pub ~alice {"msg":1}'), /^ERR BAD_TOPIC /, 'a private topic needs ~<owner>.<name>')
  t.equal(await alice.request('grant ~alice.later dave both'), 'OK dave may now pub,sub on ~alice.later', 'grants may name users not (yet) configured and topics not yet created')
  t.match(tb.logs.filter(l => l.msg === 'access denied' && l.reason === 'hidden private topic')[0], { user: 'bob', topic: '~alice.inbox' })
})

t.test('a named subscription to a private topic is ended by revoke too', async t => {
  const tb = await startLoggedBroker(t, required)
  const alice = await tb.client()
  let bob = await tb.client()
  await alice.request('auth alice alice-pw')
  await bob.request('auth bob bob pw with spaces')
  t.equal(await alice.request('pub ~alice.jobs {"msg":0}'), 'OK 1 published to ~alice.jobs (0 subscribers)')
  t.equal(await alice.request('grant ~alice.jobs bob sub'), 'OK bob may now sub on ~alice.jobs')
  t.equal(await bob.request('name bob-worker'), 'OK named bob-worker')
  t.equal(await bob.request('sub ~alice.jobs'), 'OK subscribed to ~alice.jobs (max in flight 10)')
  bob.destroy()
  await bob.closedByPeer().catch(() => {})
  t.equal(await alice.request('pub ~alice.jobs {"msg":1}'), 'OK 2 published to ~alice.jobs (1 subscriber)', 'the named subscription waits')
  t.equal(await alice.request('revoke ~alice.jobs bob sub'), 'OK bob may now none on ~alice.jobs (1 subscription ended)')
  t.equal(await alice.request('pub ~alice.jobs {"msg":2}'), 'OK 3 published to ~alice.jobs (0 subscribers)')
  bob = await tb.client()
  await bob.request('auth bob bob pw with spaces')
  t.equal(await bob.request('name bob-worker'), 'OK named bob-worker')
  t.equal(await bob.request('sub ~alice.jobs'), 'ERR UNKNOWN_TOPIC topic ~alice.jobs does not exist; publish to it first')
})

t.test('the failed-auth rate limit, at its edge', async t => {
  const clock = new ManualClock()
  const tb = await startLoggedBroker(t, { auth: { required: true, users }, authFailuresPerMinutePerIp: 3 }, clock)
  const a = await tb.client()
  for (let i = 1; i <= 3; i++) {
    t.equal(await a.request(`auth alice wrong-${i}`), 'ERR AUTH_FAILED wrong user or password', `failure ${i} of 3 is allowed`)
    clock.advance(1000)
  }
  const limited = 'ERR RATE_LIMITED too many failed auth attempts from your address; try again later'
  t.equal(await a.request('auth alice alice-pw'), limited, 'attempt 4 is limited, even with the right password')
  t.equal(await a.request('auth mallory x'), limited)
  const b = await tb.client()
  t.equal(await b.request('auth alice alice-pw'), limited, 'the limit is per IP, not per connection')
  t.equal(await b.request('ping'), 'OK PONG')
  t.match(tb.logs.find(l => l.msg === 'auth refused: rate limited'), { ip: /127\.0\.0\.1$/ })

  clock.advance(57_000) // 60 s after the first failure: it leaves the one-minute window
  t.equal(await b.request('auth alice alice-pw'), 'OK authenticated as alice', 'one failure left the window: attempts resume')
  t.equal(await a.request('auth alice wrong-again'), 'ERR AUTH_FAILED wrong user or password', 'back at 3 failures in the window')
  t.equal(await a.request('auth alice alice-pw'), limited, 'limited again')
  clock.advance(60_000)
  t.equal(await a.request('auth alice alice-pw'), 'OK authenticated as alice')
})

t.test('auth not required: anonymous clients use public topics, the ACL binds authenticated users', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: false, users } })
  const anon = await tb.client()
  const carol = await tb.client()
  t.equal(await anon.request('pub news {"msg":1}'), 'OK 1 published to news (0 subscribers)')
  t.equal(await anon.request('sub news'), 'OK subscribed to news (max in flight 10)')
  t.equal(await anon.request('sub ~carol.x'), 'ERR UNKNOWN_TOPIC topic ~carol.x does not exist; publish to it first', 'private topics stay hidden')
  t.equal(await anon.request('pub ~carol.x {"msg":1}'), 'ERR UNKNOWN_TOPIC topic ~carol.x does not exist')
  t.equal(await anon.request('grant ~carol.x bob'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.match(await anon.request('help'), /, stats \[topic\], events <topic> \[from=<offset>\] \[limit=<n>\], webhook <topic> <name> <url> \[max-in-flight \[max-deliveries \[secret\]\]\], webhooks <topic>, unwebhook <topic> <name>, requeue <topic> \[event-id\|all\], exchange <exchange> <fanout\|direct\|topic>, bind <exchange> <topic> \[binding-key\], unbind <exchange> <topic> \[binding-key\], exchanges, route <exchange> <routing-key> <event-json> \[mandatory=1\], auth\|AUTH <user> <password>$/, 'help lists auth when users exist, not grant/revoke before auth')
  t.equal(await carol.request('auth carol carol-pw'), 'OK authenticated as carol')
  t.equal(await carol.request('pub news {"msg":1}'), 'ERR FORBIDDEN user carol may not publish to news')
  t.equal(await carol.request('pub ~carol.x {"msg":1}'), 'OK 1 published to ~carol.x (0 subscribers)')
})

t.test('with no users configured, help is unchanged and auth always fails', async t => {
  const tb = await startLoggedBroker(t, {})
  const a = await tb.client()
  t.match(await a.request('help'), /, help, ping, quit, stats \[topic\], events <topic> \[from=<offset>\] \[limit=<n>\], webhook <topic> <name> <url> \[max-in-flight \[max-deliveries \[secret\]\]\], webhooks <topic>, unwebhook <topic> <name>, requeue <topic> \[event-id\|all\], exchange <exchange> <fanout\|direct\|topic>, bind <exchange> <topic> \[binding-key\], unbind <exchange> <topic> \[binding-key\], exchanges, route <exchange> <routing-key> <event-json> \[mandatory=1\]$/)
  t.equal(await a.request('auth admin admin'), 'ERR AUTH_FAILED wrong user or password')
})

t.test('a bad password hash or pattern stops start-up', async t => {
  await t.rejects(startLoggedBroker(t, { auth: { required: true, users: { x: { passwordHash: 'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==' } } } }),
    /auth\.users\.x\.passwordHash is not usable \(N must be a power of two from 2 to 2\^20\); make one with npx ackline hash-password/)
  await t.rejects(startLoggedBroker(t, { auth: { required: true, users: { x: { passwordHash: 'plain', publish: ['a*'] } } } }),
    /invalid config in overrides: auth\.users\.x\.passwordHash must be a hash printed by npx ackline hash-password .*; auth\.users\.x\.publish\[0\] must be \*, <prefix>\.\* or a topic name$/)
  await t.rejects(startLoggedBroker(t, { auth: { required: true, users: { 'bad.name': { passwordHash: testHash('x') } } } }),
    /auth\.users: the name "bad\.name" must be 1 to 64 letters, digits, _ or -/)
  await t.rejects(startLoggedBroker(t, { auth: { users: {} } } as never), /auth is missing the field "required"/)
})

t.test('revoke ends the user\'s consumer-group memberships on the topic; what they held goes back to the group', async t => {
  const tb = await startLoggedBroker(t, required)
  const alice = await tb.client()
  const bob = await tb.client()
  const carol = await tb.client()
  await alice.request('auth alice alice-pw')
  await bob.request('auth bob bob pw with spaces')
  await carol.request('auth carol carol-pw')
  t.equal(await alice.request('pub ~alice.jobs {"id":"j0","msg":0}'), 'OK j0 published to ~alice.jobs (0 subscribers)')
  t.equal(await alice.request('grant ~alice.jobs bob sub'), 'OK bob may now sub on ~alice.jobs')
  t.equal(await alice.request('grant ~alice.jobs carol sub'), 'OK carol may now sub on ~alice.jobs')
  t.equal(await bob.request('sub ~alice.jobs 1 group=g'), 'OK subscribed to ~alice.jobs (group g, max in flight 1)')
  t.equal(await carol.request('sub ~alice.jobs 1 group=g'), 'OK subscribed to ~alice.jobs (group g, max in flight 1, 2 members, 0 pending)')
  t.equal(await alice.request('pub ~alice.jobs {"id":"j1","msg":1}'), 'OK j1 published to ~alice.jobs (1 subscriber)')
  t.equal(await alice.request('pub ~alice.jobs {"id":"j2","msg":2}'), 'OK j2 published to ~alice.jobs (1 subscriber)')
  t.equal((await bob.event()).event.id, 'j1')
  t.equal((await carol.event()).event.id, 'j2')

  t.equal(await alice.request('revoke ~alice.jobs bob sub'), 'OK bob may now none on ~alice.jobs (1 subscription ended)')
  t.equal(await bob.request('ack ~alice.jobs j1'), 'ERR UNKNOWN_TOPIC topic ~alice.jobs does not exist', 'the topic is hidden from bob again')
  t.equal(await carol.request('ack ~alice.jobs j2'), 'OK acked j2 on ~alice.jobs')
  const back = await carol.event()
  t.same([back.event.id, back.event.deliveries], ['j1', 2], 'what bob held went back to the group, to carol')
  t.equal(await carol.request('ack ~alice.jobs j1'), 'OK acked j1 on ~alice.jobs')
  for (let i = 3; i < 6; i++) {
    t.equal(await alice.request(`pub ~alice.jobs {"id":"j${i}","msg":${i}}`), `OK j${i} published to ~alice.jobs (1 subscriber)`, 'the group lives on')
    t.equal((await carol.event()).event.id, `j${i}`)
    t.equal(await carol.request(`ack ~alice.jobs j${i}`), `OK acked j${i} on ~alice.jobs`)
  }
  t.ok(await bob.quiet(100), 'bob got nothing after the revoke')
  const group = tb.broker.store.topic('~alice.jobs')!.subscriptions.get('group:g')!
  t.same((group.sink as unknown as { info: () => unknown }).info(), [{ member: '#3', inFlight: 0, maxInFlight: 1 }], 'carol is the one member left')

  // Granted again, bob joins again like anyone.
  t.equal(await alice.request('grant ~alice.jobs bob sub'), 'OK bob may now sub on ~alice.jobs')
  t.equal(await bob.request('sub ~alice.jobs 1 group=g'), 'OK subscribed to ~alice.jobs (group g, max in flight 1, 2 members, 0 pending)')
})
