import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { startBroker } from '../../src/broker'
import { LineClient, tempDir } from '../helpers/broker'

t.test('structured logs: connections at debug, limit hits at warn, nothing per event at info', async t => {
  const records: Array<Record<string, any>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') records.push(JSON.parse(line))
      cb()
    },
  })
  const log = pino({ level: 'debug' }, sink)
  const broker = await startBroker({ overrides: { port: 0, http: null, host: '127.0.0.1', logDir: tempDir(), maxConnections: 1, maxTopics: 1 }, log })
  t.teardown(() => broker.stop())
  const a = await LineClient.connect(broker.address!.port)
  t.teardown(() => a.destroy())
  await a.request('pub one {"msg":"1"}')
  for (let i = 0; i < 10; i++) await a.request('pub one {"msg":"x"}')
  t.match(await a.request('pub two {"msg":"2"}'), /^ERR TOO_MANY_TOPICS/)
  const b = await LineClient.connect(broker.address!.port)
  t.match(await b.next(), /^ERR TOO_MANY_CONNECTIONS/)
  await b.closedByPeer()
  a.destroy()
  const deadline = Date.now() + 5000
  while (!records.some(r => r.msg === 'connection closed') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))

  const byMsg = (msg: string): Array<Record<string, any>> => records.filter(r => r.msg === msg)
  t.match(byMsg('connection opened'), [{ level: 20, session: 1, ip: '127.0.0.1', connections: 1 }])
  t.match(byMsg('connection closed'), [{ level: 20, session: 1, connections: 0 }])
  t.match(byMsg('limit hit: topic not created'), [{ level: 40, limit: 'maxTopics', max: 1, topic: 'two' }])
  t.match(byMsg('limit hit: connection refused'), [{ level: 40, limit: 'maxConnections', max: 1 }])
  // debug: the CLI prints the one human listening line, so a terminal at the default level does not show it twice.
  t.match(byMsg('listening'), [{ level: 20, host: '127.0.0.1', port: broker.address!.port, logDir: /^\// }])
  t.equal(records.filter(r => r.level >= 30 && !String(r.msg).startsWith('limit hit')).length, 0,
    'nothing else at info or above: no per-event lines')
})
