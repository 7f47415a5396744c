import t from 'tap'
import { describeListenError, hostPort } from '../../src/server/listenError'

/** An error shaped like the ones net.Server emits. */
function netError (code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}: something`), { code, syscall })
}

const plain = { host: '127.0.0.1', port: 80, tls: false }
const tls = { host: '127.0.0.1', port: 8443, tls: true }

t.test('each listen error is one line that says what to change, flag or config field', async t => {
  t.equal(describeListenError(netError('EACCES', 'listen'), plain), 'port 80 is not allowed for this user (EACCES): use a port from 1024 up, or pass --port <n>')
  t.equal(describeListenError(netError('EACCES', 'listen'), tls), 'TLS port 8443 is not allowed for this user (EACCES): use a port from 1024 up, or set another tls.port in the config')
  t.equal(describeListenError(netError('EADDRINUSE', 'listen'), tls), 'TLS port 8443 is in use: stop the other process or set another tls.port in the config')
  t.equal(describeListenError(netError('EAI_AGAIN', 'getaddrinfo'), { ...plain, host: 'broker.example' }),
    'cannot listen on broker.example: no such host (EAI_AGAIN): pass --host <address>, e.g. 127.0.0.1')
  t.equal(describeListenError(netError('EADDRNOTAVAIL', 'listen'), { ...tls, host: '192.0.2.1' }),
    'cannot listen on 192.0.2.1: not an address of this machine (EADDRNOTAVAIL): set tls.host in the config to an address of this machine')
  t.equal(describeListenError(netError('EINVAL', 'listen'), plain), 'cannot listen on 127.0.0.1:80: listen EINVAL: something')
})

t.test('other errors are not listen errors', async t => {
  t.equal(describeListenError(new Error('boom'), plain), null)
  t.equal(describeListenError(netError('ENOENT', 'open'), plain), null)
  t.equal(describeListenError(null, plain), null)
})

t.test('IPv6 addresses are bracketed next to a port', async t => {
  t.equal(hostPort('127.0.0.1', 8000), '127.0.0.1:8000')
  t.equal(hostPort('::1', 8000), '[::1]:8000')
})
