import t from 'tap'
import { startLoggedBroker, testHash } from '../helpers/auth'

// `help` lists the commands this connection can use now: each listed command
// passes the auth gate (it may still fail on its arguments or topic rights).

const COMMON = 'pub|PUBLISH <topic> <event-json>, sub|SUBSCRIBE <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>], unsub|UNSUBSCRIBE <topic> [forget] [group=<name>], ' +
  'ack|ACKNOWLEDGE <topic> <event-id> [event-id ...], nack|NACK <topic> <event-id> [delay-ms], touch|TOUCH <topic> <event-id> [extend-ms], commit <topic> <offset>, create <topic>, delete <topic>, topics, ' +
  'name <client-id>, help, ping, quit, stats [topic], ' +
  'events <topic> [from=<offset>] [limit=<n>], webhook <topic> <name> <url> [max-in-flight [max-deliveries [secret]]], webhooks <topic>, unwebhook <topic> <name>, requeue <topic> [event-id|all], exchange <exchange> <fanout|direct|topic>, bind <exchange> <topic> [binding-key], unbind <exchange> <topic> [binding-key], exchanges, route <exchange> <routing-key> <event-json> [mandatory=1]'
const AUTH = 'auth|AUTH <user> <password>'
const GRANTS = 'grant <topic> <user> [pub|sub|both], revoke <topic> <user> [pub|sub|both]'
const users = { alice: { passwordHash: testHash('alice-pw'), publish: ['*'], subscribe: ['*'] } }

t.test('without auth: every command but auth, grant and revoke', async t => {
  const tb = await startLoggedBroker(t, {})
  const a = await tb.client()
  t.equal(await a.request('help'), `OK commands: ${COMMON}`)
})

t.test('auth required: only auth, help, ping and quit before auth; then everything but auth', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const a = await tb.client()
  t.equal(await a.request('help'), `OK commands: help, ping, quit, ${AUTH}`)
  for (const line of ['ping', 'quit']) t.notMatch(await (await tb.client()).request(line), /^ERR AUTH_REQUIRED/, `${line} works before auth, as listed`)
  t.equal(await a.request('stats'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>', 'an unlisted command is refused')
  t.equal(await a.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.equal(await a.request('help'), `OK commands: ${COMMON}, ${GRANTS}`)
  t.match(await a.request('auth alice alice-pw'), /^ERR ALREADY_AUTHENTICATED/, 'auth, no longer listed, no longer works')
})

t.test('auth optional: anonymous connections see auth but not grant and revoke; authenticated ones the reverse', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: false, users } })
  const a = await tb.client()
  t.equal(await a.request('help'), `OK commands: ${COMMON}, ${AUTH}`)
  t.equal(await a.request('grant ~alice.x bob'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>', 'grant, not listed, is refused')
  t.equal(await a.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.equal(await a.request('help'), `OK commands: ${COMMON}, ${GRANTS}`)
})

t.test('help follows renamed commands', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: true, users }, commands: { auth: ['login'], help: ['help', 'h'] } })
  const a = await tb.client()
  t.equal(await a.request('h'), 'OK commands: help|h, ping, quit, login <user> <password>')
})
