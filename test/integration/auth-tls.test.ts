import t from 'tap'
import { readFileSync } from 'node:fs'
import { connect } from 'node:tls'
import { LineClient } from '../helpers/broker'
import { makeCert, sClient, startLoggedBroker, testHash } from '../helpers/auth'

const users = { alice: { passwordHash: testHash('alice-pw'), publish: ['*'], subscribe: ['*'] } }

t.test('a TLS session with openssl s_client, auth required', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startLoggedBroker(t, { auth: { required: true, users }, tls: { port: 0, certFile: cert, keyFile: key } })
  const tlsPort = tb.broker.tlsAddress!.port
  t.not(tlsPort, tb.port, 'TLS has its own port')
  const out = await sClient(tlsPort, ['ping', 'pub news {"msg":1}', 'auth alice alice-pw', 'pub news {"msg":1}', 'sub news', 'quit'],
    ['-CAfile', cert, '-verify_hostname', 'localhost'])
  t.equal(out.code, 0, out.stderr)
  t.same(out.stdout.split('\n'), [
    'OK PONG',
    'ERR AUTH_REQUIRED authenticate first: auth <user> <password>',
    'OK authenticated as alice',
    'OK 1 published to news (0 subscribers)',
    'OK subscribed to news (max in flight 10)',
    'OK bye',
    '',
  ])
  t.match(out.stderr, /verify return:1/, 's_client verified the certificate')

  // The plain port still serves when TLS is not required.
  const plain = await LineClient.connect(tb.port)
  t.equal(await plain.request('ping'), 'OK PONG')
  plain.destroy()
})

t.test('the plain port refuses clients when TLS is required', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startLoggedBroker(t, { tls: { port: 0, certFile: cert, keyFile: key, required: true } })
  const tlsPort = tb.broker.tlsAddress!.port
  const plain = await LineClient.connect(tb.port)
  plain.send('ping')
  t.equal(await plain.next(), `ERR TLS_REQUIRED this broker accepts only TLS connections, on port ${tlsPort}`)
  await plain.closedByPeer()
  t.equal(plain.lines.length, 1, 'nothing else, the command was not run')
  const out = await sClient(tlsPort, ['ping', 'quit'], ['-CAfile', cert])
  t.equal(out.stdout, 'OK PONG\nOK bye\n')
})

t.test('client certificates: required, checked against caFile', async t => {
  const dir = t.testdir({})
  const server = await makeCert(dir, 'server')
  const client = await makeCert(dir, 'client')
  const other = await makeCert(dir, 'other')
  const tb = await startLoggedBroker(t, {
    tls: { port: 0, certFile: server.cert, keyFile: server.key, caFile: client.cert, clientCert: 'require' },
  })
  const tlsPort = tb.broker.tlsAddress!.port
  const good = await sClient(tlsPort, ['ping', 'quit'], ['-CAfile', server.cert, '-cert', client.cert, '-key', client.key])
  t.equal(good.stdout, 'OK PONG\nOK bye\n', good.stderr)
  t.match(tb.logs.find(l => l.msg === 'tls client certificate'), { authorized: true, subject: 'client' })

  const none = await sClient(tlsPort, ['ping', 'quit'], ['-CAfile', server.cert])
  t.equal(none.stdout, '', 'no certificate: no session')
  const wrong = await sClient(tlsPort, ['ping', 'quit'], ['-CAfile', server.cert, '-cert', other.cert, '-key', other.key])
  t.equal(wrong.stdout, '', 'a certificate from another CA: no session')
})

t.test('TLS clients share the connection limit and the same command path (node:tls client)', async t => {
  const dir = t.testdir({})
  const { cert, key } = await makeCert(dir)
  const tb = await startLoggedBroker(t, { maxConnections: 1, tls: { port: 0, certFile: cert, keyFile: key, clientCert: 'request' } })
  const tlsPort = tb.broker.tlsAddress!.port
  const s = connect({ port: tlsPort, host: '127.0.0.1', ca: [readFileSync(cert)], servername: 'localhost' })
  await new Promise<void>((resolve, reject) => { s.once('secureConnect', () => resolve()); s.once('error', reject) })
  s.setEncoding('utf8')
  let got = ''
  const line = new Promise<string>(resolve => s.on('data', (d: string) => { got += d; if (got.includes('\n')) resolve(got) }))
  s.write('ping\n')
  t.equal(await line, 'OK PONG\n')
  const plain = await LineClient.connect(tb.port)
  t.match(await plain.next(), /^ERR TOO_MANY_CONNECTIONS /, 'the TLS client counts toward maxConnections')
  s.destroy()
})

t.test('unreadable certificate files stop start-up with the field named', async t => {
  await t.rejects(startLoggedBroker(t, { tls: { port: 0, certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } }),
    /tls\.certFile: cannot read \/nonexistent\/cert.pem/)
  await t.rejects(startLoggedBroker(t, { tls: { port: 0, certFile: 'x' } } as never), /tls is missing the field "keyFile"/)
})
