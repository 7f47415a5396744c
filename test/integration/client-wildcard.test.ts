import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { connect } from '../../src/client'

t.test('a wildcard subscription gets the events of every matching topic, existing and new, and acks them by topic', async t => {
  const tb = await startTestBroker(t)
  const c = await connect({ port: tb.port })
  t.teardown(() => c.close())
  await c.publish('orders.eu', { msg: 'create' })
  const sub = c.subscribe('orders.*', { maxInFlight: 5 })
  await sub.ready
  await c.publish('orders.eu', { id: 'e1', msg: 1 })
  await c.publish('orders.us', { id: 'u1', msg: 2 })
  await c.publish('payments.eu', { id: 'p1', msg: 3 })
  const seen: string[] = []
  for await (const ev of sub) {
    seen.push(`${ev.topic} ${ev.id} ${String(await ev.ack())}`)
    if (seen.length === 2) break
  }
  t.same(seen.sort(), ['orders.eu e1 true', 'orders.us u1 true'])
  t.match(await c.stats(), { acked: 2 })
})
