import t from 'tap'
import { ackedReply, publishedReply } from '../../src/manager/replyText'

t.test('pub replies: the tail built once per topic and subscriber count, the same text as built in full', async t => {
  const full = (key: string, topic: string, n: number): string => `OK ${key} published to ${topic} (${n} subscriber${n === 1 ? '' : 's'})`
  const cases: Array<[string, string, number]> = [['1', 'orders', 1], ['2', 'orders', 1], ['3', 'orders', 0], ['4', 'orders', 2],
    ['5', 'orders.eu-west-and-more', 2], ['x', 'orders', 2], ['é', 'café', 1], ['7', 'café', 1]]
  for (const [key, topic, n] of cases) t.equal(publishedReply(key, topic, n), full(key, topic, n), `${key} ${topic} ${n}`)
  // A topic name sliced from a longer line: the reply is the same (the cache keeps a copy of the name, not the line).
  const line = 'pub a-topic-name-long-enough-to-be-sliced {"msg":1}'
  const topic = line.slice(4, line.indexOf(' ', 4))
  t.equal(publishedReply('9', topic, 3), full('9', 'a-topic-name-long-enough-to-be-sliced', 3))
  t.equal(publishedReply('10', 'a-topic-name-long-enough-to-be-sliced', 3), full('10', 'a-topic-name-long-enough-to-be-sliced', 3))
})

t.test('ack replies: an id or a batch count, per topic', async t => {
  t.equal(ackedReply('42', 'orders'), 'OK acked 42 on orders')
  t.equal(ackedReply(3, 'orders'), 'OK acked 3 on orders')
  t.equal(ackedReply('42', 'billing'), 'OK acked 42 on billing')
  t.equal(ackedReply('x', 'orders'), 'OK acked x on orders')
  // The same name in another string (sliced from a line): the same text, the tail built again for it.
  const line = 'ack a-topic-name-long-enough-to-be-sliced 9'
  const sliced = line.slice(4, line.lastIndexOf(' '))
  t.equal(ackedReply('9', sliced), 'OK acked 9 on a-topic-name-long-enough-to-be-sliced')
  t.equal(ackedReply('10', 'a-topic-name-long-enough-to-be-sliced'), 'OK acked 10 on a-topic-name-long-enough-to-be-sliced')
  t.equal(ackedReply('11', 'orders'), 'OK acked 11 on orders')
})
