import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Webhook as Verifier } from 'standardwebhooks'
import { generateSecret, messageId, parseSecret, sign, signatureHeaders, SECRET_MAX_BYTES, SECRET_MIN_BYTES } from '../../src/webhooks/signature'

const NOW = Date.now()

t.test('a generated secret is whsec_ and 32 random bytes, and parses back', async t => {
  const a = generateSecret()
  const b = generateSecret()
  t.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.not(a, b, 'each secret is new')
  const key = parseSecret(a)
  t.ok(Buffer.isBuffer(key))
  t.equal((key as Buffer).length, 32)
  t.equal((key as Buffer).toString('base64'), a.slice(6))
})

t.test('signatures verify with the standardwebhooks package, and only with the right secret and bytes', async t => {
  const secret = generateSecret()
  const key = parseSecret(secret) as Buffer
  const body = Buffer.from('{"id":"é-1","priority":0,"msg":"ünïcödé ✓","timestamp":1}')
  const headers = signatureHeaders(key, 'msg_abc', NOW, body)
  t.equal(headers['webhook-timestamp'], String(Math.floor(NOW / 1000)), 'unix seconds')
  t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/)
  const verifier = new Verifier(secret)
  t.same(verifier.verify(body, { ...headers }), JSON.parse(body.toString()), 'the verifier accepts it and returns the body')
  // The package signs the same string the same way.
  t.equal(verifier.sign('msg_abc', new Date(NOW), body.toString()), headers['webhook-signature'])
  t.throws(() => new Verifier(generateSecret()).verify(body, { ...headers }), /No matching signature/, 'another secret fails')
  const tampered = Buffer.from(body.toString().replace('✓', 'x'))
  t.throws(() => verifier.verify(tampered, { ...headers }), /No matching signature/, 'another body fails')
  t.throws(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_abd' }), /No matching signature/, 'another id fails')
  t.throws(() => verifier.verify(body, { ...headers, 'webhook-timestamp': String(Math.floor(NOW / 1000) - 1) }), /No matching signature/, 'another timestamp fails')
})

t.test('sign() covers "<id>.<timestamp>.<body>" exactly', async t => {
  const key = Buffer.alloc(24, 7)
  const { createHmac } = await import('node:crypto')
  const expected = createHmac('sha256', key).update('m.17.{"a":1}').digest('base64')
  t.equal(sign(key, 'm', 17, Buffer.from('{"a":1}')), 'v1,' + expected)
})

t.test('a given secret is refused with a reason when it is not whsec_ base64 of 24 to 64 bytes', async t => {
  const b64 = (n: number): string => 'whsec_' + Buffer.alloc(n, 1).toString('base64')
  t.ok(Buffer.isBuffer(parseSecret(b64(SECRET_MIN_BYTES))), 'the shortest key')
  t.ok(Buffer.isBuffer(parseSecret(b64(SECRET_MAX_BYTES))), 'the longest key')
  t.equal(parseSecret(b64(SECRET_MIN_BYTES - 1)), 'secret must encode 24 to 64 bytes, got 23')
  t.equal(parseSecret(b64(SECRET_MAX_BYTES + 1)), 'secret must encode 24 to 64 bytes, got 65')
  t.equal(parseSecret(Buffer.alloc(32).toString('base64')), 'secret must start with whsec_')
  t.match(parseSecret('whsec_' + 'a'.repeat(31) + '!'), /standard base64/, 'a character outside base64')
  t.match(parseSecret('whsec_' + 'a'.repeat(33)), /standard base64/, 'a length that is not a multiple of 4')
  t.match(parseSecret('whsec_' + Buffer.alloc(32).toString('base64url').replace(/^./, '-')), /standard base64/, 'base64url')
  t.equal(parseSecret('whsec_'), 'secret must encode 24 to 64 bytes, got 0')
  const problem = parseSecret('whsec_' + 'x'.repeat(31) + '!') as string
  t.notMatch(problem, /xxxx/, 'the secret is not echoed')
})

t.test('webhook-id: stable for one event, different for another, header-safe whatever the event id', async t => {
  const a = messageId('orders', 7, 'o-1')
  t.equal(messageId('orders', 7, 'o-1'), a, 'same topic, sequence and id: same webhook-id')
  t.match(a, /^msg_[A-Za-z0-9_-]{27}$/)
  t.not(messageId('orders', 8, 'o-1'), a, 'the same id published again later')
  t.not(messageId('orders2', 7, 'o-1'), a, 'another topic')
  t.not(messageId('orders', 7, 'o-2'), a, 'another id')
  t.match(messageId('orders', 1, 'ünï\u2028code'), /^msg_[A-Za-z0-9_-]{27}$/)
})

t.test('the example delivery in docs/webhooks.md is what the broker sends, and it verifies', async t => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'webhooks.md'), 'utf8')
  const secret = /secret is\s+`(whsec_[^`]+)`/.exec(doc)![1]
  const block = /```text\n(POST [^\n]*\n[\s\S]*?)```/.exec(doc)![1]
  const [head, body] = block.split('\n\n')
  const headers = Object.fromEntries(head.split('\n').slice(1).map(l => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]))
  const bytes = Buffer.from(body.trimEnd())
  t.equal(headers['content-length'], String(bytes.length))
  t.equal(headers['webhook-id'], messageId('orders', 17, 'o-17'), 'the id of event o-17, published 17th on orders')
  t.same(signatureHeaders(parseSecret(secret) as Buffer, headers['webhook-id'], Number(headers['webhook-timestamp']) * 1000, bytes),
    { 'webhook-id': headers['webhook-id'], 'webhook-timestamp': headers['webhook-timestamp'], 'webhook-signature': headers['webhook-signature'] })
  const realNow = Date.now
  Date.now = () => Number(headers['webhook-timestamp']) * 1000
  try {
    t.same(new Verifier(secret).verify(bytes, headers), JSON.parse(body))
  } finally {
    Date.now = realNow
  }
})

t.test('the by-hand verifier in docs/webhooks.md accepts a delivery and refuses a forged one', async t => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'webhooks.md'), 'utf8')
  const code = /```js\n(const \{ createHmac[\s\S]*?)```/.exec(doc)![1]
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const verify = new Function('require', `${code}; return verify`)(require) as (secret: string, body: Buffer, headers: Record<string, string>) => unknown
  const secret = generateSecret()
  const body = Buffer.from('{"priority":0,"id":"x","msg":"ü","timestamp":1}')
  const headers = { ...signatureHeaders(parseSecret(secret) as Buffer, 'msg_1', Date.now(), body) }
  t.same(verify(secret, body, headers), JSON.parse(body.toString()))
  t.same(verify(secret, body, { ...headers, 'webhook-signature': `v1,${'A'.repeat(43)}= ${headers['webhook-signature']}` }), JSON.parse(body.toString()), 'one of several signatures')
  t.throws(() => verify(secret, Buffer.from(body.toString().replace('ü', 'u')), headers), /no matching signature/)
  t.throws(() => verify(generateSecret(), body, headers), /no matching signature/)
  t.throws(() => verify(secret, body, { ...headers, 'webhook-signature': 'v2,' + headers['webhook-signature'].slice(3) }), /no matching signature/)
  const old = { ...signatureHeaders(parseSecret(secret) as Buffer, 'msg_1', Date.now() - 301000, body) }
  t.throws(() => verify(secret, body, old), /stale or future timestamp/)
})
