import t from 'tap'
import { Store } from '../../src/store/store'
import { AuthService } from '../../src/auth/auth'
import { DEFAULTS } from '../../src/config/defaults'
import { checkConfig } from '../../src/config/loadConfig'
import { silentLogger } from '../../src/log'
import { editDistance, nearestName } from '../../src/config/configErrors'

/** The message checkConfig gives for `data`, without the `invalid config in x: ` prefix. */
function problem (data: unknown): string {
  try {
    checkConfig(data, 'x')
  } catch (err) {
    return (err as Error).message.replace(/^invalid config in x: /, '')
  }
  throw new Error('accepted')
}

t.test('each kind of schema error reads as a sentence about the field as written in the file', async t => {
  t.equal(problem({ logLevel: 'loud' }), 'logLevel must be one of fatal, error, warn, info, debug, trace, silent')
  t.equal(problem({ tls: { port: 0, certFile: 'c', keyFile: 'k', clientCert: 'maybe' } }), 'tls.clientCert must be one of none, request, require')
  t.equal(problem({ port: '8000' }), 'port must be an integer')
  t.equal(problem({ host: 1 }), 'host must be a string')
  t.equal(problem({ auth: { required: 'yes', users: {} } }), 'auth.required must be true or false')
  t.equal(problem({ overflowDropOldest: 'a.*' }), 'overflowDropOldest must be a list [...]')
  t.equal(problem({ tls: 'on' }), 'tls must be an object {...} or null')
  t.equal(problem([]), 'the config must be an object {...}')
  t.equal(problem({ port: 70000 }), 'port must be <= 65535')
  t.equal(problem({ host: '' }), 'host must not be empty')
  t.equal(problem({ commands: { quit: [] } }), 'commands.quit must not be empty')
  t.equal(problem({ commands: { quit: ['q', 'q'] } }), 'commands.quit must not list the same value twice')
  t.equal(problem({ commands: { quit: ['q', '2x'] } }), 'commands.quit[1] must be a word: a letter, then up to 31 letters, digits, _ or -')
  t.equal(problem({ auth: { required: true, users: { alice: { publish: ['*'] } } } }), 'auth.users.alice is missing the field "passwordHash"')
})

t.test('an unknown field suggests the nearest known one, at any depth, or lists a short set of known fields', async t => {
  t.equal(problem({ maxInFlght: 5 }), 'unknown field "maxInFlght" (did you mean "maxInFlight"?)')
  t.equal(problem({ fsnyc: 'off' }), 'unknown field "fsnyc" (did you mean "fsync"?)', 'a swapped pair is one edit')
  t.equal(problem({ logdir: 'x' }), 'unknown field "logdir" (did you mean "logDir"?)', 'case is ignored')
  t.equal(problem({ auth: { required: true, users: { alice: { pasword: 'x', passwordHash: 'scrypt$16384$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==' } } } }),
    'unknown field "auth.users.alice.pasword" (did you mean "auth.users.alice.passwordHash"?)', 'the start of a longer name')
  t.equal(problem({ commands: { publish: ['p'] } }),
    'unknown field "commands.publish" (known fields: pub, sub, unsub, ack, nack, touch, commit, create, delete, topics, name, help, ping, quit, stats, events, webhook, webhooks, unwebhook, requeue, exchange, bind, unbind, exchanges, route, auth, grant, revoke)')
  t.equal(problem({ frobnicate: true }), 'unknown field "frobnicate"', 'nothing close, and too many fields to list')
})

t.test('user names that are not plain words are quoted in the field path', async t => {
  t.equal(problem({ auth: { required: true, users: { 'bad.name': { passwordHash: 'pw' } } } }),
    'auth.users: the name "bad.name" must be 1 to 64 letters, digits, _ or -; ' +
    'auth.users["bad.name"].passwordHash must be a hash printed by npx ackline hash-password (scrypt$<N>$<r>$<p>$<salt>$<hash>), not the password itself')
})

t.test('a well-formed hash with unusable parameters says how to make a good one', async t => {
  t.equal(problem({ auth: { required: true, users: { alice: { passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==' } } } }),
    'auth.users.alice.passwordHash is not usable (salt must be at least 8 bytes); make one with npx ackline hash-password')
})

t.test('edit distance and nearest name', async t => {
  t.equal(editDistance('', 'abc'), 3)
  t.equal(editDistance('abc', ''), 3)
  t.equal(editDistance('maxinflght', 'maxinflight'), 1)
  t.equal(editDistance('ab', 'ba'), 1)
  t.equal(nearestName('prot', ['port', 'host']), 'port')
  t.equal(nearestName('xyz', ['port', 'host']), null)
  t.equal(nearestName('tls', []), null)
})

t.test('a config built in code, past checkConfig, with an unusable hash is still refused by the broker', async t => {
  const config = { ...DEFAULTS, auth: { required: true, users: { x: { passwordHash: 'plain' } } } }
  t.throws(() => new AuthService(config, new Store(), silentLogger), /passwordHash/)
})
