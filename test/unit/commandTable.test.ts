import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CommandTable } from '../../src/protocol/commandTable'
import { parseCommand, splitToken } from '../../src/protocol/parseCommand'
import { DEFAULTS } from '../../src/config/defaults'
import { DEFAULT_CONFIG_FILE, mergeConfig, readConfigFile, resolveConfig } from '../../src/config/loadConfig'
import { BrokerError } from '../../src/errors'

const table = new CommandTable(DEFAULTS.commands)

t.test('default words and aliases, any case', async t => {
  for (const [word, action] of [['pub', 'pub'], ['PUBLISH', 'pub'], ['Publish', 'pub'], ['SUB', 'sub'], ['subscribe', 'sub'],
    ['unsub', 'unsub'], ['UNSUBSCRIBE', 'unsub'], ['ack', 'ack'], ['AcKnOwLeDgE', 'ack'], ['name', 'name'], ['HELP', 'help'],
    ['ping', 'ping'], ['quit', 'quit']] as const) {
    t.equal(table.lookup(word), action, word)
  }
  t.equal(table.lookup('publishx'), undefined)
})

t.test('parseCommand splits the word from the arguments', async t => {
  t.same(parseCommand('pub tweets {"msg": "a b"}', table), { action: 'pub', word: 'pub', args: 'tweets {"msg": "a b"}' })
  t.same(parseCommand('  \tPUBLISH   t  {}  ', table), { action: 'pub', word: 'PUBLISH', args: 't  {}' })
  t.same(parseCommand('ping', table), { action: 'ping', word: 'ping', args: '' })
  t.equal(parseCommand('   ', table), null)
  t.equal(parseCommand('', table), null)
  t.throws(() => parseCommand('frobnicate x', table), new BrokerError('UNKNOWN_COMMAND', 'unknown command "frobnicate"; type help for the list'))
  t.same(splitToken('a b  c'), ['a', 'b  c'])
  t.same(splitToken('a'), ['a', ''])
})

t.test('parseCommand refuses a control character anywhere in the line, naming it; TAB is a blank', async t => {
  const control = (hex: string): BrokerError => new BrokerError('CONTROL_CHAR', `control character 0x${hex} in command`)
  t.throws(() => parseCommand('ping\x04', table), control('04'), 'glued to the command word')
  t.throws(() => parseCommand('\x1b[Aping', table), control('1b'))
  t.throws(() => parseCommand('frob\x00nicate', table), control('00'), 'before the word is looked up')
  t.throws(() => parseCommand('sub t\x01 5', table), control('01'))
  t.throws(() => parseCommand('ack t 1\x1f', table), control('1f'))
  t.throws(() => parseCommand('ping are you there\x0c', table), control('0c'), 'even in arguments the command ignores')
  t.throws(() => parseCommand('pub t\x02 {"msg":1}', table), control('02'), 'the topic of a pub')
  t.throws(() => parseCommand('pub t {"msg":\r1}', table), control('0d'), 'a bare CR in the JSON of a pub')
  t.throws(() => parseCommand('pub t {"msg":"\x05",\r"id":1}', table), control('05'), 'the first control character is named')
  t.same(parseCommand('pub t {"msg":"\x07"}', table), { action: 'pub', word: 'pub', args: 't {"msg":"\x07"}' },
    'the rest of the event JSON is left to the JSON parser, which refuses raw control characters')
  t.same(parseCommand('\tsub\tt\t5\t', table), { action: 'sub', word: 'sub', args: 't\t5' })
})

t.test('renames and aliases come from config, no code change', async t => {
  const cfg = mergeConfig([{ commands: { pub: ['send', 'produce'], ack: ['ok', 'ack'] } }])
  const renamed = new CommandTable(cfg.commands)
  t.equal(renamed.lookup('SEND'), 'pub')
  t.equal(renamed.lookup('produce'), 'pub')
  t.equal(renamed.lookup('pub'), undefined, 'the old word is gone')
  t.equal(renamed.lookup('OK'), 'ack')
  t.equal(renamed.lookup('sub'), 'sub', 'other actions keep their defaults')
  t.match(renamed.helpText(), /send\|produce <topic> <event-json>/)
  t.equal(renamed.usage('ack'), 'ok <topic> <event-id>')
})

t.test('config validation names the bad field', async t => {
  const dir = t.testdir({
    'typo.json': JSON.stringify({ maxLineByte: 10 }),
    'type.json': JSON.stringify({ maxInFlight: 'ten' }),
    'cmd.json': JSON.stringify({ commands: { pub: ['has space'] } }),
    'dup.json': JSON.stringify({ commands: { pub: ['go'], sub: ['GO'] } }),
    'cap.json': JSON.stringify({ maxInFlight: 50, maxInFlightLimit: 20 }),
    'notjson.json': '{ nope',
    'ok.json': JSON.stringify({ port: 9001, commands: { quit: ['quit', 'exit', 'bye'] } }),
  })
  t.throws(() => readConfigFile(join(dir, 'typo.json')), /unknown field "\/maxLineByte"/)
  t.throws(() => readConfigFile(join(dir, 'type.json')), /field "\/maxInFlight" must be integer/)
  t.throws(() => readConfigFile(join(dir, 'cmd.json')), /field "\/commands\/pub\/0" must match pattern/)
  t.throws(() => resolveConfig({ file: join(dir, 'dup.json') }), /"\/commands\/sub" reuses the word "GO"/)
  t.throws(() => resolveConfig({ file: join(dir, 'cap.json') }), /"\/maxInFlight" \(50\) must not exceed "\/maxInFlightLimit" \(20\)/)
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

t.test('retention config: defaults, field-by-field layering, overrides checked', async t => {
  t.same(DEFAULTS.retention, { maxAgeMs: 86400000, maxBytes: 1073741824, overrides: [] })
  const cfg = resolveConfig({ overrides: { retention: { maxAgeMs: 1000, overrides: [{ pattern: 'audit.*', maxAgeMs: 2592000000 }, { pattern: '~alice.logs', maxBytes: 4096 }] } } })
  t.same(cfg.retention, { maxAgeMs: 1000, maxBytes: 1073741824, overrides: [{ pattern: 'audit.*', maxAgeMs: 2592000000 }, { pattern: '~alice.logs', maxBytes: 4096 }] }, 'a layer that sets maxAgeMs keeps the default maxBytes')
  t.throws(() => resolveConfig({ overrides: { retention: { maxAgeMs: 0 } } }), /field "\/retention\/maxAgeMs" must be >= 1/)
  t.throws(() => resolveConfig({ overrides: { retention: { overrides: [{ pattern: 'a/b' }] } } }), /field "\/retention\/overrides\/0\/pattern" must match pattern/)
  t.throws(() => resolveConfig({ overrides: { retention: { overrides: [{ maxAgeMs: 5 }] } } as never }), /must have required property 'pattern'/)
  t.throws(() => resolveConfig({ overrides: { retention: { maxAge: 5 } } as never }), /unknown field "\/retention\/maxAge"/)
  for (const [field, min] of [['segmentBytes', 1024], ['eventCacheBytes', 1], ['dedupeWindowMs', 1], ['dedupeMaxIds', 1], ['stateCompactMinBytes', 1024], ['stateTailBytes', 1024], ['retentionCheckMs', 10]] as const) {
    t.throws(() => resolveConfig({ overrides: { [field]: min - 1 } }), new RegExp(`field "/${field}" must be >= ${min}`), `${field} below ${min}`)
    t.equal(resolveConfig({ overrides: { [field]: min } })[field], min, `${field} at ${min}`)
  }
})
