import t from 'tap'
import { addGrant, grantFromWord, grantWord, PatternSet, privateOwner, removeGrant } from '../../src/auth/acl'
import type { GrantRights } from '../../src/store/topic'
import { hashPassword, parseScryptHash, passwordProblem, verifyPassword, type ScryptHash } from '../../src/auth/password'
import { FailureLimiter } from '../../src/auth/rateLimit'
import { isValidTopicName } from '../../src/store/names'

t.test('topic patterns: *, prefix.*, exact; never private topics', async t => {
  const p = new PatternSet(['orders.*', 'news'])
  t.ok(p.matches('orders.eu'))
  t.ok(p.matches('orders.eu.paris'))
  t.notOk(p.matches('orders'))
  t.notOk(p.matches('orders.'), 'the prefix alone is not a topic under it')
  t.notOk(p.matches('ordersx'))
  t.ok(p.matches('news'))
  t.notOk(p.matches('news.eu'))
  const all = new PatternSet(['*'])
  t.ok(all.matches('anything'))
  t.notOk(all.matches('~alice.inbox'))
  t.notOk(new PatternSet([]).matches('news'))
})

t.test('private topic names', async t => {
  t.equal(privateOwner('~alice.inbox'), 'alice')
  t.equal(privateOwner('~alice.a.b'), 'alice')
  t.equal(privateOwner('alice.inbox'), null)
  t.ok(isValidTopicName('~alice.inbox'))
  t.ok(isValidTopicName('~a_b-c.x.y'))
  for (const bad of ['~', '~alice', '~alice.', '~.x', '~al.ice/x', 'a~b', `~${'a'.repeat(65)}.x`, `~alice.${'x'.repeat(200)}`]) {
    t.notOk(isValidTopicName(bad), bad)
  }
})

t.test('grants add and remove rights', async t => {
  const g = new Map<string, GrantRights>()
  t.same(addGrant(g, 'bob', 'sub'), { pub: false, sub: true })
  t.same(g.get('bob'), { pub: false, sub: true })
  addGrant(g, 'bob', 'pub')
  t.same(g.get('bob'), { pub: true, sub: true })
  t.same(removeGrant(g, 'bob', 'sub'), { pub: true, sub: false })
  t.equal(removeGrant(g, 'bob', 'both'), undefined)
  t.equal(g.get('bob'), undefined)
  t.equal(g.size, 0, 'a user with nothing left is removed')
  t.equal(removeGrant(g, 'bob', 'both'), undefined, 'revoking nothing is fine')
})

t.test('grant words round-trip; anything else is refused', async t => {
  for (const w of ['pub', 'sub', 'both'] as const) t.equal(grantWord(grantFromWord(w)), w)
  t.equal(grantFromWord('none'), undefined)
  t.equal(grantWord(undefined), 'none')
  t.equal(grantWord({ pub: false, sub: false }), 'none')
  t.throws(() => grantFromWord('all'), /invalid grant "all": expected pub, sub, both or none/)
  t.throws(() => grantFromWord(1), /invalid grant 1/)
})

t.test('failure limiter: N failures allowed, then limited until the oldest leaves the window', async t => {
  const l = new FailureLimiter(2, 1000)
  t.notOk(l.isLimited('ip', 0))
  l.recordFailure('ip', 0)
  t.notOk(l.isLimited('ip', 10))
  l.recordFailure('ip', 500)
  t.ok(l.isLimited('ip', 501))
  t.notOk(l.isLimited('other', 501), 'per IP')
  t.ok(l.isLimited('ip', 999))
  t.notOk(l.isLimited('ip', 1000), 'the first failure left the window')
  t.notOk(l.isLimited('ip', 1500))
  t.equal(l.size, 0, 'expired IPs are forgotten')
  for (let i = 0; i < 50; i++) l.recordFailure(`ip${i}`, 2000)
  l.recordFailure('late', 5000)
  t.equal(l.size, 1, 'a sweep drops stale IPs')
})

t.test('scrypt hashes: format, verification, parameter bounds', async t => {
  const text = hashPassword('pw', { N: 1024 })
  const h = parseScryptHash(text) as ScryptHash
  t.equal(h.N, 1024)
  t.ok(verifyPassword('pw', h))
  t.notOk(verifyPassword('pW', h))
  t.notOk(verifyPassword('', h))
  const [, , , , salt, hash] = text.split('$')
  t.match(parseScryptHash('bcrypt$x'), /must look like/)
  t.match(parseScryptHash(`scrypt$1000$8$1$${salt}$${hash}`), /power of two/)
  t.match(parseScryptHash(`scrypt$1024$0$1$${salt}$${hash}`), /r must be/)
  t.match(parseScryptHash(`scrypt$1024$8$17$${salt}$${hash}`), /p must be/)
  t.match(parseScryptHash(`scrypt$1048576$8$1$${salt}$${hash}`), /128 MiB/)
  t.match(parseScryptHash(`scrypt$1024$8$1$c2FsdA==$${hash}`), /salt/)
  t.match(parseScryptHash(`scrypt$1024$8$1$${salt}$aGFzaA==`), /hash must be/)
})

t.test('passwordProblem: what auth <user> <password> could never send', async t => {
  for (const ok of ['pw', 'correct horse', 'a  b', 'caf\u00e9', '\u00a0nbsp\u00a0', '"quoted"']) t.equal(passwordProblem(ok), null, JSON.stringify(ok))
  t.equal(passwordProblem(''), 'empty password')
  for (const bad of [' pw', 'pw ', '\tpw', 'pw\t', ' ']) t.match(passwordProblem(bad), /^the password starts or ends with a space or tab/, JSON.stringify(bad))
  for (const [bad, code] of [['p\u0000w', '00'], ['p\tw', '09'], ['\u001b[A', '1b'], ['x\u001f', '1f'], ['x\u007fy', '7f']]) {
    t.match(passwordProblem(bad), `the password contains the control character 0x${code},`, JSON.stringify(bad))
  }
})
