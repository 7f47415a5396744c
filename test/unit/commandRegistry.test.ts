import t from 'tap'
import { join } from 'node:path'
import * as arg from '../../src/commands/args'
import * as opt from '../../src/commands/options'
import { BUILTIN_COMMANDS } from '../../src/commands/builtin'
import { CommandLayer } from '../../src/commands/dispatch'
import { CommandRegistry } from '../../src/commands/registry'
import { defineCommand, type Command, type Fields } from '../../src/commands/spec'
import { DEFAULTS, type BrokerConfig } from '../../src/config/defaults'
import { DEFAULT_CONFIG_FILE, mergeConfig, readConfigFile, resolveConfig } from '../../src/config/loadConfig'
import { BrokerError } from '../../src/errors'
import type { HandlerContext } from '../../src/manager/context'
import type { Session } from '../../src/manager/session'

const registry = new CommandRegistry(BUILTIN_COMMANDS, DEFAULTS)
const get = (name: string): Command => registry.get(name)!
const err = (code: string, message: string): BrokerError => new BrokerError(code as BrokerError['code'], message)

/** The fields a line's arguments give for a command (the text after the word, trailing blanks trimmed as the dispatch does). */
function fields (name: string, args: string): Fields {
  return registry.fieldsFromLine(get(name), args, 0, args.trimEnd().length)
}

t.test('default words and aliases, any case', async t => {
  for (const [word, name] of [['pub', 'pub'], ['PUBLISH', 'pub'], ['Publish', 'pub'], ['SUB', 'sub'], ['subscribe', 'sub'],
    ['unsub', 'unsub'], ['UNSUBSCRIBE', 'unsub'], ['ack', 'ack'], ['AcKnOwLeDgE', 'ack'], ['name', 'name'], ['HELP', 'help'],
    ['ping', 'ping'], ['quit', 'quit']] as const) {
    t.equal(registry.lookup(word)?.name, name, word)
  }
  t.equal(registry.lookup('publishx'), undefined)
  t.equal(registry.get('PUB'), undefined, 'get takes the registry name, not a word')
})

t.test('lookupAt: the word in place, the last two compared without slicing, answers as lookup does', async t => {
  const r = new CommandRegistry(BUILTIN_COMMANDS, DEFAULTS)
  // Each line's word is line[2, end): recent words, their prefixes and extensions, other cases, unknown words.
  const words = ['pub', 'ack', 'pub', 'ack', 'pu', 'pubx', 'ack', 'ACK', 'PUBLISH', 'pub', 'Pub', 'nope', 'ack', 'sub', 'pub',
    'acknowledge', 'AcKnOwLeDgE', 'ack', 'subscribe', 'sub', 'subx', 'quit', 'acknowledgements']
  for (const word of words) {
    const line = `  ${word} topic x`
    t.equal(r.lookupAt(line, 2, 2 + word.length)?.name, r.lookup(word)?.name, word)
  }
  t.equal(r.lookupAt('ack', 0, 2), undefined, 'a recent word\'s prefix is not that word')
  t.equal(r.lookupAt('ackx', 0, 4), undefined, 'nor is a longer word starting with it')
})

t.test('usage and help come from the argument specs', async t => {
  t.equal(registry.usage(get('sub')), 'sub <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>]',
    'optional arguments nest; each key=value option has its own brackets')
  t.equal(registry.usage(get('grant')), 'grant <topic> <user> [pub|sub|both]', 'a choice shows its words')
  t.equal(registry.usage(get('stats')), 'stats [topic]')
  t.equal(registry.usage(get('ping')), 'ping', 'no arguments, no trailing blank')
  t.equal(registry.helpText(c => c.name === 'pub' || c.name === 'quit'), 'pub|PUBLISH <topic> <event-json>, quit')
})

t.test('arguments become typed fields, left to right', async t => {
  t.same(fields('sub', 't'), { topic: 't', maxInFlight: undefined, ackTimeoutMs: undefined, from: undefined, to: undefined })
  t.same(fields('sub', 't\t5  6000 '), { topic: 't', maxInFlight: 5, ackTimeoutMs: 6000, from: undefined, to: undefined }, 'tabs and runs of blanks separate words')
  t.same(fields('nack', 'work w1 0'), { topic: 'work', id: 'w1', delayMs: 0 })
  t.same(fields('auth', 'alice  pass word '), { user: 'alice', password: 'pass word' }, 'the rest of the line keeps its inner blanks')
  t.same(fields('grant', '~alice.x bob sub'), { topic: '~alice.x', user: 'bob', rights: 'sub' })
  t.same(fields('stats', ''), { topic: undefined })
  t.same(fields('ping', 'are you there'), {}, 'ping ignores extra words')
  const pub = fields('pub', 'news  {"msg": "a b"}')
  t.equal(pub.topic, 'news')
  t.equal((pub.event as { text: string }).text, '{"msg": "a b"}', 'the event keeps the publisher\'s text')

  t.throws(() => fields('pub', ''), err('BAD_ARGS', 'missing topic name; usage: pub <topic> <event-json>'))
  t.throws(() => fields('pub', 'news'), err('BAD_ARGS', 'missing event JSON; usage: pub <topic> <event-json>'))
  t.throws(() => fields('ack', 't'), err('BAD_ARGS', 'missing event id; usage: ack <topic> <event-id> [event-id ...]'))
  t.same(fields('ack', 't 1'), { topic: 't', id: '1', more: undefined }, 'one id: no list')
  t.same(fields('ack', 't 1 2\t 3'), { topic: 't', id: '1', more: ['2', '3'] }, 'more ids: the rest of the line, split at blanks')
  t.throws(() => fields('nack', 't 1 2 3'), err('BAD_ARGS', 'unexpected "3"; usage: nack <topic> <event-id> [delay-ms]'))
  t.throws(() => fields('ack', '../x'), err('BAD_TOPIC', 'invalid topic name "../x": use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")'),
    'the leftmost problem is reported')
  t.throws(() => fields('sub', 't 0'), err('BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "0"'))
  t.throws(() => fields('sub', 't +5'), err('BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "+5"'), 'digits only')
  t.throws(() => fields('sub', 't 1234567890'), err('BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "1234567890"'), 'too many digits')
  t.throws(() => fields('sub', 't 5 9'), err('BAD_DELAY', 'ack timeout must be an integer from 10 to 86400000 ms, got "9"'))
  t.throws(() => fields('touch', 't 1 0'), err('BAD_DELAY', 'extension must be an integer from 1 to 86400000 ms, got "0"'))
  t.throws(() => fields('nack', 't 1 1e3'), err('BAD_DELAY', 'delay must be an integer from 0 to 86400000 ms, got "1e3"'))
  t.throws(() => fields('grant', '~alice.x bob all'), err('BAD_ARGS', 'rights must be pub, sub or both, got "all"'))
  t.throws(() => fields('grant', '~alice.x b.o.b'), err('BAD_ARGS', 'invalid user name "b.o.b": use 1-64 characters of A-Z a-z 0-9 _ -'))
  t.throws(() => fields('name', 'a/b'), err('BAD_NAME', 'invalid client id "a/b": use 1-200 characters of A-Z a-z 0-9 . _ -'))
})

t.test('key=value options: after the arguments, any order, typed and checked once', async t => {
  const usage = 'usage: sub <topic> [max-in-flight [ack-timeout-ms]] [from=beginning|latest|<offset>|time:<unix-ms>] [to=<offset>] [ack=explicit|none] [group=<name>]'
  const sub = (text: string): Fields => fields('sub', text)
  t.same(sub('t from=beginning'), { topic: 't', maxInFlight: undefined, ackTimeoutMs: undefined, from: 'beginning', to: undefined },
    'an option ends the positional arguments: the ones left are absent')
  t.same(sub('t 5 to=9 from=3'), { topic: 't', maxInFlight: 5, ackTimeoutMs: undefined, from: { offset: 3 }, to: 9 }, 'in any order')
  t.same(sub('t 5 100 from=latest'), { topic: 't', maxInFlight: 5, ackTimeoutMs: 100, from: 'latest', to: undefined })
  t.same(sub('t FROM=time:1700000000000'), { topic: 't', maxInFlight: undefined, ackTimeoutMs: undefined, from: { time: 1700000000000 }, to: undefined },
    'keys in any case')
  t.same(sub('t from=9007199254740991').from, { offset: 9007199254740991 }, 'the largest safe integer')

  const bad = (text: string, message: string): void => { t.throws(() => sub(text), err('BAD_OPTION', message), text) }
  bad('t form=beginning', `unknown option "form"; ${usage}`)
  bad('t =5', `unknown option ""; ${usage}`)
  bad('t from=1 from=2', `option from given twice; ${usage}`)
  bad('t from=1 FROM=2', `option from given twice; ${usage}`)
  bad('t from=', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got ""')
  bad('t from=0', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "0"')
  bad('t from=-1', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "-1"')
  bad('t from=Beginning', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "Beginning"')
  bad('t from=time:', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "time:"')
  bad('t from=time:1e3', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "time:1e3"')
  bad('t from=9007199254740992', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "9007199254740992"')
  bad('t to=0', 'option to must be an offset (an integer from 1), got "0"')
  bad('t to=x', 'option to must be an offset (an integer from 1), got "x"')
  bad('t to=1=2', 'option to must be an offset (an integer from 1), got "1=2"')
  t.throws(() => sub('t from=1 5'), err('BAD_ARGS', `unexpected "5"; ${usage}`), 'arguments come before the options')
  t.throws(() => sub('from=1'), err('BAD_ARGS', `missing topic name; ${usage}`), 'a required argument cannot be an option')
  t.throws(() => sub('t 0 from=x'), err('BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "0"'), 'left to right')
  t.same(fields('ack', 't id=5'), { topic: 't', id: 'id=5' }, 'a command without options reads = as text')
})

t.test('an option is one line in a command\'s spec', async t => {
  const mode = opt.choice('ack', 'ackMode', ['none', 'explicit'])
  const group = opt.option('group', 'group', '<name>', '1-20 letters', 'string', text => /^[a-z]{1,20}$/.test(text) ? text : undefined)
  const cmd = defineCommand({
    name: 'listen',
    words: ['listen'],
    args: [arg.topic()],
    options: [mode, group],
    access: 'open',
    handler: (_ctx, session, f) => {
      const m: 'none' | 'explicit' | undefined = f.ackMode // typed by the spec
      session.reply(`OK ${f.topic} ${m ?? '-'} ${f.group ?? '-'}`)
    },
  })
  const { run } = layerWith([cmd])
  t.equal(cmd.usage, '<topic> [ack=none|explicit] [group=<name>]')
  t.same(run('listen t group=g ack=none'), ['OK t none g'])
  t.same(run('listen t'), ['OK t - -'])
  t.same(run('listen t ack=all'), ['ERR BAD_OPTION option ack must be none or explicit, got "all"'])
  t.same(run('listen t group=G1'), ['ERR BAD_OPTION option group must be 1-20 letters, got "G1"'])
  t.same(run('listen t ack=none group=a ack=none'), ['ERR BAD_OPTION option ack given twice; usage: listen <topic> [ack=none|explicit] [group=<name>]'])
  t.same(run('listen t x=\x01'), ['ERR CONTROL_CHAR control character 0x01 in command'])
  const handler = (): void => {}
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.topic()], options: [opt.to('topic')], access: 'open', handler }), /two arguments or options are named topic/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [], options: [opt.to(), opt.offset('to', 'upTo')], access: 'open', handler }), /two options use the key to/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [], options: [opt.offset('To', 'upTo')], access: 'open', handler }), /the option key "To" must be lower-case/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [], options: [opt.offset('to', 'a-b')], access: 'open', handler }), /the option field name "a-b"/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.password()], options: [opt.to()], access: 'open', handler }), /rest of the line cannot have options/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [], options: [opt.to()], access: 'open', ignoreExtra: true, handler }), /ignores extra words cannot have options/)
})

t.test('a choice of one word says so', async t => {
  const only = arg.choice('mode', 'mode', ['fast'])
  t.equal(only.label, 'fast')
  t.equal(only.kind.parse('fast', DEFAULTS), 'fast')
  t.throws(() => only.kind.parse('slow', DEFAULTS), err('BAD_ARGS', 'mode must be fast, got "slow"'))
})

t.test('limits of the arguments come from the config', async t => {
  const small = new CommandRegistry(BUILTIN_COMMANDS, mergeConfig([{ maxInFlight: 5, maxInFlightLimit: 12, ackTimeoutMs: 100, maxAckTimeoutMs: 500 }]))
  t.same(small.fieldsFromLine(get('sub'), 't 12 500', 0, 8), { topic: 't', maxInFlight: 12, ackTimeoutMs: 500 }, 'the edges are accepted')
  t.throws(() => small.fieldsFromLine(get('sub'), 't 13', 0, 4), /from 1 to 12, got "13"/)
  t.throws(() => small.fieldsFromLine(get('sub'), 't 12 501', 0, 8), /from 10 to 500 ms, got "501"/)
})

t.test('typed fields (a transport without lines) get the same checks and errors', async t => {
  const values = (name: string, v: Fields): Fields => registry.fieldsFromValues(get(name), v)
  t.same(values('sub', { topic: 't', maxInFlight: 5 }), { topic: 't', maxInFlight: 5, ackTimeoutMs: undefined, from: undefined, to: undefined })
  t.same(values('sub', { topic: 't', maxInFlight: '5', ackTimeoutMs: 6000 }), { topic: 't', maxInFlight: 5, ackTimeoutMs: 6000, from: undefined, to: undefined },
    'an integer also as its decimal text')
  t.same(values('sub', { topic: 't', from: 'beginning', to: 9 }), { topic: 't', maxInFlight: undefined, ackTimeoutMs: undefined, from: 'beginning', to: 9 },
    'options are fields too')
  t.throws(() => values('sub', { topic: 't', from: 'x' }), err('BAD_OPTION', 'option from must be beginning, latest, an offset from 1 or time:<unix-ms>, got "x"'))
  t.throws(() => values('sub', { topic: 't', to: '' }), err('BAD_OPTION', 'option to must be an offset (an integer from 1), got ""'), 'an empty option value is a bad value')
  t.throws(() => values('sub', { topic: 't', from: 7 }), err('BAD_ARGS', 'field "from" must be a string'))
  t.throws(() => values('sub', { topic: 't', from: 'time: 5' }), err('BAD_ARGS', 'field "from" must be one word (no spaces)'))
  t.same(values('auth', { user: 'alice', password: 'pass word' }), { user: 'alice', password: 'pass word' })
  const pub = values('pub', { topic: 'news', event: '{"msg":1.0}' })
  t.equal((pub.event as { text: string }).text, '{"msg":1.0}', 'an event is taken as its JSON text, so its bytes are kept')

  t.throws(() => values('pub', { topic: 'news' }), err('BAD_ARGS', 'missing event JSON; usage: pub <topic> <event-json>'))
  t.throws(() => values('ack', { topic: 't', id: '' }), err('BAD_ARGS', 'missing event id; usage: ack <topic> <event-id> [event-id ...]'), 'empty is absent')
  t.throws(() => values('sub', { topic: 't', maxInFlight: 1.5 }), err('BAD_IN_FLIGHT', 'max in flight must be an integer from 1 to 1000, got "1.5"'))
  t.throws(() => values('sub', { topic: 't', maxInFlight: true }), err('BAD_ARGS', 'field "maxInFlight" must be an integer'))
  t.throws(() => values('sub', { topic: 5 }), err('BAD_ARGS', 'field "topic" must be a string'))
  t.throws(() => values('sub', { topic: 't', form: 'x' }), err('BAD_ARGS', 'unknown field "form"; expected topic, maxInFlight, ackTimeoutMs, from, to'))
  t.throws(() => values('ping', { x: 1 }), err('BAD_ARGS', 'unknown field "x"; expected none'))
  t.same(values('ack', { topic: 't', id: 'a', more: 'b c' }), { topic: 't', id: 'a', more: ['b', 'c'] })
  t.throws(() => values('ack', { topic: 't', id: 'a b' }), err('BAD_ARGS', 'field "id" must be one word (no spaces)'), 'what no line could carry')
  t.throws(() => values('ack', { topic: 't', id: 'a\u0004' }), err('CONTROL_CHAR', 'control character 0x04 in command'))
  t.throws(() => values('pub', { topic: 't', event: '{"msg":"\u0007"}' }), err('CONTROL_CHAR', 'control character 0x07 in command'),
    'an event\'s raw control character is named as on a line')
})

/** A command layer over test commands, with a gate that admits everyone: what runLine does with a line. */
function layerWith (commands: Command[], auth: Partial<HandlerContext['auth']> = {}): { run: (line: string) => string[], runAt: (text: string, from: number, to: number) => string[], layer: CommandLayer, errors: unknown[] } {
  const config: BrokerConfig = mergeConfig([])
  const errors: unknown[] = []
  const ctx = {
    config,
    commands: new CommandRegistry(commands, config),
    auth: { admit: () => {}, authorize: () => {}, ...auth },
    log: { error: (o: { err: unknown }) => errors.push(o.err) },
  } as unknown as HandlerContext
  const layer = new CommandLayer(ctx)
  const runAt = (text: string, from: number, to: number): string[] => {
    const replies: string[] = []
    layer.runLine({ id: 1, reply: (l: string) => replies.push(l) } as unknown as Session, text, from, to)
    return replies
  }
  const run = (line: string): string[] => runAt(line, 0, line.length)
  return { run, runAt, layer, errors }
}

const echo = (name: string, args: Parameters<typeof defineCommand>[0]['args']): Command =>
  defineCommand({ name, words: [name], args, access: 'open', handler: (_ctx, session, f) => session.reply('OK ' + JSON.stringify(f)) })

t.test('runLine of a line inside a longer text (a read\'s): the same replies as for the line alone', async t => {
  const borrowing = (name: string, args: Parameters<typeof defineCommand>[0]['args']): Command =>
    defineCommand({ name, words: [name], args, access: 'open', borrowsLine: true, handler: (_ctx, session, f) => session.reply('OK ' + JSON.stringify(f)) })
  const { run, runAt } = layerWith([
    borrowing('say', [arg.topic(), arg.event()]), borrowing('two', [arg.topic(), arg.eventId(), arg.moreEventIds()]),
    echo('copy', [arg.topic(), arg.event()]), defineCommand({ name: 'opts', words: ['opts'], args: [arg.topic()], options: [opt.from()], access: 'open', handler: (_ctx, session, f) => session.reply('OK ' + JSON.stringify(f)) }),
  ])
  const lines = [
    'say t {"msg":1}', 'say t {"msg":1}  ', 'say t {"msg":1', 'say t {"msg":"a', 'say t {"msg":', 'say t', 'say', 'say t {"msg":1} x',
    'say t {"msg":\r1}', 'say t\r {"msg":1}', 'say bad/topic {"msg":1}', 'say t [1]', 'say t {"id":"x","priority":3,"msg":[true,null]}',
    'two t a', 'two t a b  c ', 'two t', 'copy t {"msg":2}', 'copy t {"msg":2', 'opts t from=beginning', 'opts t from=', 'opts t x=1',
    'opts t from=latest extra', '  say   t   {"msg":3}', 'nope t', '', '   ',
  ]
  for (const line of lines) {
    const alone = run(line)
    for (const [before, after] of [['', '\n'], ['ping\n', '\r\n'], ['x\r\n', '\n"}\nsay t {"msg":9}\n'], ['', '\r\n1}\r\n'], ['say t {"msg":0}\n', '\n']]) {
      const text = before + line + after
      t.same(runAt(text, before.length, before.length + line.length), alone, `${JSON.stringify(line)} between ${JSON.stringify(before)} and ${JSON.stringify(after)}`)
    }
  }
})

t.test('runLine: blank lines, unknown words and control characters', async t => {
  const { run } = layerWith([echo('say', [arg.topic(), arg.event()]), echo('two', [arg.topic(), arg.eventId()])])
  t.same(run('say t  {"msg": "a b"}  '), ['OK {"topic":"t","event":{"text":"{\\"msg\\": \\"a b\\"}","priority":0,"hasPriority":false}}'],
    'the JSON is the rest of the line, without trailing blanks')
  t.same(run('   '), [], 'a blank line gets no reply')
  t.same(run(''), [])
  t.same(run('  \tTWO   t  1  '), ['OK {"topic":"t","id":"1"}'], 'any case, leading and trailing blanks')
  t.same(run('frobnicate x'), ['ERR UNKNOWN_COMMAND unknown command "frobnicate"; type help for the list'])
  const control = (hex: string): string[] => [`ERR CONTROL_CHAR control character 0x${hex} in command`]
  t.same(run('two\x04'), control('04'), 'glued to the command word')
  t.same(run('\x1b[Atwo'), control('1b'))
  t.same(run('frob\x00nicate'), control('00'), 'before the word is looked up')
  t.same(run('two t\x01 5'), control('01'))
  t.same(run('two t 1\x1f'), control('1f'))
  t.same(run('two t 1 extra\x0c'), control('0c'), 'even in words the command would refuse')
  t.same(run('say t\x02 {"msg":1}'), control('02'), 'the topic before the JSON')
  t.same(run('say t {"msg":\r1}'), control('0d'), 'a bare CR in the JSON')
  t.same(run('say t {"msg":"\x05",\r"id":1}'), control('05'), 'the first control character is named')
  t.same(run('say t {"msg":"\x07"}'), control('07'), 'left to the event parser, which names it')
  t.same(run('two t'), ['ERR BAD_ARGS missing event id; usage: two <topic> <event-id>'])
})

t.test('arguments that refuse control characters themselves: the line is searched only when refused, with the same precedence', async t => {
  t.equal(get('pub').argsRefuseControlChars, true, 'a topic and an event')
  t.equal(get('ack').argsRefuseControlChars, true, 'a topic and event ids')
  t.equal(get('nack').argsRefuseControlChars, false, 'a delay is a kind that does not')
  t.equal(get('sub').argsRefuseControlChars, false, 'options')
  let handled = 0
  const counted = (name: string, args: Parameters<typeof defineCommand>[0]['args']): Command =>
    defineCommand({ name, words: [name], args, access: 'topic-publish', handler: (_ctx, session, f) => { handled++; session.reply('OK ' + JSON.stringify(f)) } })
  const say = counted('say', [arg.topic(), arg.event()])
  const two = counted('two', [arg.topic(), arg.eventId(), arg.moreEventIds()])
  t.equal(say.argsRefuseControlChars && two.argsRefuseControlChars, true)
  const control = (hex: string): string[] => [`ERR CONTROL_CHAR control character 0x${hex} in command`]
  const anonymous = layerWith([say, two], { admit: () => { throw new BrokerError('AUTH_REQUIRED', 'authenticate first: auth <user> <password>') } })
  t.same(anonymous.run('say t\x02 {"msg":1}'), control('02'), 'before AUTH_REQUIRED: in the topic')
  t.same(anonymous.run('two t 1\x1f'), control('1f'), 'in an event id')
  t.same(anonymous.run('two t 1 2 3\x1b'), control('1b'), 'in a later event id')
  t.same(anonymous.run('say t {"msg":\r1}'), control('0d'), 'a CR in the JSON')
  t.same(anonymous.run('say t {"msg":"\x07"}'), ['ERR AUTH_REQUIRED authenticate first: auth <user> <password>'],
    'as before: the JSON is left to the event parser, which never runs for an anonymous line')
  t.same(anonymous.run('say t {"msg":1}'), ['ERR AUTH_REQUIRED authenticate first: auth <user> <password>'])
  const forbidden = layerWith([say, two], { authorize: () => { throw new BrokerError('FORBIDDEN', 'no') } })
  t.same(forbidden.run('two t\x01 1'), control('01'), 'before BAD_TOPIC and FORBIDDEN')
  t.same(forbidden.run('say t {"msg":1}\r'), control('0d'), 'an accepted line with a CR is still refused')
  t.same(forbidden.run('say t {"msg":1}'), ['ERR FORBIDDEN no'])
  const open = layerWith([say, two])
  t.same(open.run('two t 1\x1f'), control('1f'))
  t.same(open.run('two t 1\r'), control('0d'), 'a CR outside JSON is refused by its argument\'s kind')
  t.same(open.run('say t {"msg":1,\r"x":2}'), control('0d'))
  t.same(open.run('two\tt\t1\t2'), ['OK {"topic":"t","id":"1","more":["2"]}'], 'TAB is a blank, not a control character')
  t.equal(handled, 1, 'no handler ran for a line holding a control character')
})

t.test('runLine: an unexpected failure is one ERR INTERNAL line, and logged', async t => {
  const boom = defineCommand({ name: 'boom', words: ['boom'], args: [], access: 'open', handler: () => { throw new Error('secret detail') } })
  const { run, errors } = layerWith([boom])
  t.same(run('boom'), ['ERR INTERNAL internal error'])
  t.equal(errors.length, 1)
})

t.test('run: a command by name with typed fields; refusals are thrown', async t => {
  const { layer } = layerWith([echo('two', [arg.topic(), arg.optional(arg.inFlight())])])
  const replies: string[] = []
  const session = { id: 1, reply: (l: string) => replies.push(l) } as unknown as Session
  layer.run(session, 'two', { topic: 't', maxInFlight: 3 })
  t.same(replies, ['OK {"topic":"t","maxInFlight":3}'])
  t.throws(() => layer.run(session, 'nope', {}), err('UNKNOWN_COMMAND', 'unknown command "nope"; type help for the list'))
  t.throws(() => layer.run(session, 'two', { maxInFlight: 3 }), err('BAD_ARGS', 'missing topic name; usage: two <topic> [max-in-flight]'))
  t.equal(replies.length, 1, 'a refused command replies nothing: the transport words the error')
})

t.test('a bad command spec fails when it is defined, a clash when the registry is built', async t => {
  const handler = (): void => {}
  t.throws(() => defineCommand({ name: 'Bad', words: ['x'], args: [], access: 'open', handler }), /command Bad: the name must be lower-case/)
  t.throws(() => defineCommand({ name: 'x', words: [], args: [], access: 'open', handler }), /needs at least one word/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [], access: 'everyone' as 'open', handler }), /unknown access class "everyone"/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.topic(), arg.topic()], access: 'open', handler }), /two arguments are named topic/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.eventId('__proto__')], access: 'open', handler }),
    /the argument name "__proto__" must be letters and digits/, 'field names are plain identifiers (they go into the compiled parser)')
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.eventId('a b')], access: 'open', handler }), /the argument name "a b"/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.password(), arg.topic()], access: 'open', handler }), /must be the last argument/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.optional(arg.topic()), arg.eventId()], access: 'open', handler }), /the required id follows an optional/)
  t.throws(() => defineCommand({ name: 'x', words: ['x'], args: [arg.eventId()], access: 'topic-publish', handler }), /access topic-publish needs a topic argument/)
  const x = defineCommand({ name: 'x', words: ['PUB'], args: [], access: 'open', handler })
  t.throws(() => new CommandRegistry([...BUILTIN_COMMANDS, x], DEFAULTS), /commands pub and x both use the word PUB/)
  t.throws(() => new CommandRegistry([x, x], DEFAULTS), /two commands are named x/)
})

t.test('renames and aliases come from config, no code change', async t => {
  const cfg = mergeConfig([{ commands: { pub: ['send', 'produce'], ack: ['ok', 'ack'] } }])
  const renamed = new CommandRegistry(BUILTIN_COMMANDS, cfg)
  t.equal(renamed.lookup('SEND')?.name, 'pub')
  t.equal(renamed.lookup('produce')?.name, 'pub')
  t.equal(renamed.lookup('pub'), undefined, 'the old word is gone')
  t.equal(renamed.lookup('OK')?.name, 'ack')
  t.equal(renamed.lookup('sub')?.name, 'sub', 'other commands keep their defaults')
  t.match(renamed.helpText(() => true), /send\|produce <topic> <event-json>/)
  t.equal(renamed.usage(get('ack')), 'ok <topic> <event-id> [event-id ...]')
  t.throws(() => renamed.fieldsFromLine(get('pub'), 'x', 0, 1), /usage: send <topic> <event-json>$/, 'errors show the configured word')
})

t.test('config validation names the bad field', async t => {
  const dir = t.testdir({
    'typo.json': JSON.stringify({ maxLineByte: 10 }),
    'type.json': JSON.stringify({ maxInFlight: 'ten' }),
    'cmd.json': JSON.stringify({ commands: { pub: ['has space'] } }),
    'unknown.json': JSON.stringify({ commands: { publish: ['send'] } }),
    'dup.json': JSON.stringify({ commands: { pub: ['go'], sub: ['GO'] } }),
    'cap.json': JSON.stringify({ maxInFlight: 50, maxInFlightLimit: 20 }),
    'ack.json': JSON.stringify({ ackTimeoutMs: 2000, maxAckTimeoutMs: 1000 }),
    'notjson.json': '{ nope',
    'ok.json': JSON.stringify({ port: 9001, commands: { quit: ['quit', 'exit', 'bye'] } }),
  })
  t.throws(() => readConfigFile(join(dir, 'typo.json')), /unknown field "maxLineByte" \(did you mean "maxLineBytes"\?\)/)
  t.throws(() => readConfigFile(join(dir, 'type.json')), /: maxInFlight must be an integer$/)
  t.throws(() => readConfigFile(join(dir, 'cmd.json')), /: commands\.pub\[0\] must be a word: a letter, then up to 31 letters, digits, _ or -$/)
  t.throws(() => readConfigFile(join(dir, 'unknown.json')), /unknown field "commands\.publish"/, 'only registry names are command keys')
  t.throws(() => resolveConfig({ file: join(dir, 'dup.json') }), /invalid config: commands\.sub reuses the word "GO" already used by commands\.pub$/)
  t.throws(() => resolveConfig({ file: join(dir, 'cap.json') }), /invalid config: maxInFlight \(50\) must not exceed maxInFlightLimit \(20\)$/)
  t.throws(() => resolveConfig({ file: join(dir, 'ack.json') }), /invalid config: ackTimeoutMs \(2000\) must not exceed maxAckTimeoutMs \(1000\)$/)
  t.throws(() => readConfigFile(join(dir, 'notjson.json')), /not valid JSON/)
  t.throws(() => readConfigFile(join(dir, 'missing.json')), /cannot read config file/)
  const cfg = resolveConfig({ file: join(dir, 'ok.json'), overrides: { port: 9002 } })
  t.equal(cfg.port, 9002, 'overrides (command-line flags) win over the file')
  t.same(cfg.commands.quit, ['quit', 'exit', 'bye'])
  t.same(cfg.commands.pub, ['pub', 'PUBLISH'])
})

t.test('config/default.json mirrors the DEFAULTS object', async t => {
  const shipped = readConfigFile(DEFAULT_CONFIG_FILE) as Record<string, unknown>
  delete shipped.$comment
  t.same(shipped, DEFAULTS)
})
