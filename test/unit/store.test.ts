import t from 'tap'
import { Store } from '../../src/store/store'

t.test('ensureTopic: the same topic for the same name (a fresh string each time, as from a pub line), a new one after a delete, and each creation observed once', async t => {
  const store = new Store()
  const created: string[] = []
  store.observer = { topicCreated: (topic) => created.push(topic.name), delivered: () => {} }
  const name = (s: string): string => Buffer.from(s).toString('latin1')
  const a = store.ensureTopic(name('alpha'))
  t.equal(store.ensureTopic(name('alpha')), a, 'the same topic')
  const b = store.ensureTopic(name('beta'))
  t.not(b, a)
  t.equal(store.ensureTopic(name('alpha')), a, 'back to the first one')
  t.equal(store.ensureTopic(name('beta')), b)
  a.nextOffset = 7
  t.equal(store.deleteTopic('beta'), b)
  t.ok(b.deleted)
  const b2 = store.ensureTopic(name('beta'))
  t.not(b2, b, 'deleted while it was the last one asked for: a new topic')
  t.equal(b2.nextOffset, 1)
  t.equal(store.topic('beta'), b2)
  store.deleteTopic('alpha')
  const a2 = store.ensureTopic(name('alpha'))
  t.not(a2, a, 'deleted while another was the last one asked for: a new topic too')
  t.same(created, ['alpha', 'beta', 'beta', 'alpha'])
  t.equal(store.ensureTopic('gamma', false).name, 'gamma')
  t.same(created, ['alpha', 'beta', 'beta', 'alpha'], 'recovery: not observed')
})
