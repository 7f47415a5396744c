import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as arg from '../../src/commands/args'
import { BUILTIN_COMMANDS, COMMAND_NAMES } from '../../src/commands/builtin'
import { ACCESS_CLASSES, defineCommand, type Command } from '../../src/commands/spec'
import { DEFAULTS } from '../../src/config/defaults'
import { DEFAULT_CONFIG_FILE, readConfigFile } from '../../src/config/loadConfig'
import { configFileSchema } from '../../src/config/schema'
import { BrokerError } from '../../src/errors'
import type { Session } from '../../src/manager/session'
import type { StoredEvent } from '../../src/store/event'
import { testHash } from '../helpers/auth'
import { startTestBroker } from '../helpers/broker'

// The command registry is the single source of the commands: config keys, default words, usage texts, `help`,
// the auth gate and the dispatch all come from its entries.

/** How `help` shows a command with its default words. */
const helpItem = (c: Command): string => c.usage === '' ? c.words.join('|') : `${c.words.join('|')} ${c.usage}`
const helpItems = (reply: string): string[] => reply.replace(/^OK commands: /, '').split(', ')
const users = {
  alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['orders.*'] },
  bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
}

t.test('every registry entry is a config key with its default words, has usage and an access class, and is documented', async t => {
  const schemaKeys = Object.keys(configFileSchema.properties.commands.properties)
  t.same(schemaKeys, COMMAND_NAMES, 'the config schema\'s command keys are the registry names')
  t.same(Object.keys(DEFAULTS.commands), COMMAND_NAMES, 'DEFAULTS.commands has one entry per command')
  const shipped = readConfigFile(DEFAULT_CONFIG_FILE).commands ?? {}
  t.same(Object.keys(shipped).sort(), [...COMMAND_NAMES].sort(), 'config/default.json lists every command')
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8')
  const renaming = doc.slice(doc.indexOf('## Renaming commands'))
  for (const c of BUILTIN_COMMANDS) {
    t.same(DEFAULTS.commands[c.name], c.words, `${c.name}: default words`)
    t.ok(ACCESS_CLASSES.includes(c.access), `${c.name}: access class ${c.access}`)
    t.equal(typeof c.usage, 'string', `${c.name}: usage`)
    for (const a of c.args) t.ok(a.label !== '' && a.what !== '', `${c.name} ${a.name}: label and name for messages`)
    // The command table of docs/protocol.md: `| what | words | syntax |`, with | escaped in the syntax.
    const row = `| ${c.words.map(w => `\`${w}\``).join(', ')} | \`${[c.words[0], c.usage].filter(s => s !== '').join(' ').replace(/\|/g, '\\|')}\` |`
    t.ok(doc.includes(row), `${c.name}: docs/protocol.md's command table has ${row}`)
    t.ok(renaming.includes(`\`${c.name}\``), `${c.name}: listed where docs/protocol.md explains renaming`)
  }
})

t.test('help lists every registry entry to the connection that can use it', async t => {
  const tb = await startTestBroker(t, { auth: { required: false, users } })
  const anonymous = helpItems(await (await tb.client()).request('help'))
  const alice = await tb.client()
  t.equal(await alice.request('auth alice alice-pw'), 'OK authenticated as alice')
  const authenticated = helpItems(await alice.request('help'))
  for (const c of BUILTIN_COMMANDS) {
    const listed = c.access === 'login' ? anonymous : authenticated
    t.ok(listed.includes(helpItem(c)), `${c.name} (${c.access}) is listed as ${helpItem(c)}`)
  }
  t.same([...new Set([...anonymous, ...authenticated])].sort(), BUILTIN_COMMANDS.map(helpItem).sort(), 'and nothing else')
})

/** A test-only command, declared in one place: words, argument spec, access class and handler. */
const echo = defineCommand({
  name: 'echo',
  words: ['echo', 'ECHO'],
  args: [arg.topic(), arg.eventId(), arg.optional(arg.millis('delayMs', 'delay-ms', 'delay', 0))],
  access: 'topic-publish',
  handler: (_ctx, session, { topic, id, delayMs }) => session.reply(`OK echo ${topic} ${id} ${delayMs ?? 'none'}`),
})

t.test('a command added in one place is reachable over TCP, listed in help and gated by its access class', async t => {
  const tb = await startTestBroker(t, { auth: { required: true, users } }, undefined, [...BUILTIN_COMMANDS, echo])
  const anonymous = await tb.client()
  t.notOk(helpItems(await anonymous.request('help')).includes('echo|ECHO <topic> <event-id> [delay-ms]'), 'not listed before auth')
  t.equal(await anonymous.request('echo orders.eu x'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>')
  t.equal(await anonymous.request('echo'), 'ERR AUTH_REQUIRED authenticate first: auth <user> <password>', 'before its arguments are read')

  const alice = await tb.client()
  t.equal(await alice.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.ok(helpItems(await alice.request('help')).includes('echo|ECHO <topic> <event-id> [delay-ms]'), 'listed once usable, with its usage')
  t.equal(await alice.request('ECHO orders.eu x 250'), 'OK echo orders.eu x 250', 'any of its words, typed fields')
  t.equal(await alice.request('echo orders.eu x'), 'OK echo orders.eu x none')
  t.equal(await alice.request('echo ~alice.notes x'), 'OK echo ~alice.notes x none', 'the owner publishes to her private topic')
  t.equal(await alice.request('echo payments x'), 'ERR FORBIDDEN user alice may not publish to payments', 'topic-publish: the publish right')
  t.equal(await alice.request('echo ~bob.secret x'), 'ERR UNKNOWN_TOPIC topic ~bob.secret does not exist', 'a private topic looks missing')
  t.equal(await alice.request('echo orders.eu'), 'ERR BAD_ARGS missing event id; usage: echo <topic> <event-id> [delay-ms]')
  t.equal(await alice.request('echo orders.eu x 1 2'), 'ERR BAD_ARGS unexpected "2"; usage: echo <topic> <event-id> [delay-ms]')
  t.equal(await alice.request('echo orders.eu x -1'), 'ERR BAD_DELAY delay must be an integer from 0 to 86400000 ms, got "-1"')
  t.equal(await alice.request('ping'), 'OK PONG', 'the built-in commands are still there')
})

/** A session without a socket, as a transport with its own framing (HTTP) would make: replies are collected. */
function fieldSession (id: number): Session & { replies: string[] } {
  const replies: string[] = []
  const held: Array<{ line: string, ticket: number }> = []
  return {
    id,
    name: null,
    subscriptions: new Map(),
    scheduled: false,
    throttled: false,
    replies,
    get holding () { return held.length > 0 },
    reply: (line: string) => { replies.push(line) },
    nextLine: () => undefined,
    hasLines: () => false,
    batchDone: () => {},
    end: () => {},
    hold: (line: string, ticket: number) => { held.push({ line, ticket }) },
    releaseHeld: (ticket: number) => {
      while (held.length > 0 && held[0].ticket <= ticket) replies.push(held.shift()!.line)
      return held.length === 0
    },
    failHeld: () => {},
    canDeliver: () => true,
    stalled: () => false,
    deliver: (_topic: string, _ev: StoredEvent) => {},
  }
}

t.test('run(): a transport calls a command by name with typed fields, on the same core as TCP', async t => {
  const tb = await startTestBroker(t)
  const commands = tb.broker.manager.commands
  const tcp = await tb.client()
  t.equal(await tcp.request('pub orders {"msg":"create the topic"}'), 'OK 1 published to orders (0 subscribers)')
  t.equal(await tcp.request('sub orders'), 'OK subscribed to orders (max in flight 10)')

  const http = fieldSession(1_000_000)
  commands.run(http, 'pub', { topic: 'orders', event: '{"id":"o-1","msg":{"qty":1.50}}' })
  t.same(http.replies, ['OK o-1 published to orders (1 subscriber)'])
  // The publisher's members byte for byte, then the broker's own fields (see docs/protocol.md, the EVENT line).
  t.match(await tcp.next(), /^EVENT orders \{"priority":0,"id":"o-1","msg":\{"qty":1\.50\},"timestamp":\d+[,}]/, 'the TCP subscriber gets it, bytes kept')

  const refused = (fn: () => void, code: string, message: string): void => {
    t.throws(fn, new BrokerError(code as BrokerError['code'], message))
  }
  refused(() => commands.run(http, 'pub', { topic: 'orders' }), 'BAD_ARGS', 'missing event JSON; usage: pub <topic> <event-json>')
  refused(() => commands.run(http, 'sub', { topic: 'orders', maxInFlight: 0 }), 'BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "0"')
  refused(() => commands.run(http, 'sub', { topic: 'nothing', maxInFlight: 2 }), 'UNKNOWN_TOPIC', 'topic nothing does not exist; publish to it first')
  refused(() => commands.run(http, 'publish', {}), 'UNKNOWN_COMMAND', 'unknown command "publish"; type help for the list')
  t.equal(http.replies.length, 1, 'a refused command replies nothing: the transport words the error')
})

t.test('run() goes through the same gate', async t => {
  const tb = await startTestBroker(t, { auth: { required: true, users } })
  const commands = tb.broker.manager.commands
  const http = fieldSession(1_000_001)
  t.throws(() => commands.run(http, 'stats', {}), new BrokerError('AUTH_REQUIRED', 'authenticate first: auth <user> <password>'))
  commands.run(http, 'auth', { user: 'alice', password: 'alice-pw' })
  t.same(http.replies, ['OK authenticated as alice'])
  t.throws(() => commands.run(http, 'pub', { topic: 'payments', event: '{"msg":1}' }), new BrokerError('FORBIDDEN', 'user alice may not publish to payments'))
  t.throws(() => commands.run(http, 'sub', { topic: '~bob.inbox' }), new BrokerError('UNKNOWN_TOPIC', 'topic ~bob.inbox does not exist; publish to it first'))
  t.throws(() => commands.run(http, 'stats', { topic: 'payments' }),
    new BrokerError('FORBIDDEN', 'user alice may not publish to or subscribe to payments'), 'topic-read: one of the two rights')
  t.throws(() => commands.run(http, 'grant', { topic: '~bob.inbox', user: 'alice' }),
    new BrokerError('FORBIDDEN', 'you can grant and revoke only on your own private topics (~alice.<name>)'))
})
