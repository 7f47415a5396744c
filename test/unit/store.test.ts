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

t.test('assignId: the key is the id in decimal, across thousands, after a publisher\'s numeric id moved the counter, and after recovery set it', async t => {
  const topic = new Store().ensureTopic('ids')
  let wrong = 0
  const check = (): void => {
    const id = topic.assignId()
    if (topic.assignedKey !== String(id)) wrong++
  }
  for (let i = 0; i < 3000; i++) check()
  t.equal(topic.nextAutoId, 3001)
  topic.noteId('999999')
  t.equal(topic.assignId(), 1_000_000)
  t.equal(topic.assignedKey, '1000000')
  for (let i = 0; i < 2000; i++) check()
  topic.nextAutoId = 12 // recovery sets it (lower than before: another topic's state, say)
  for (let i = 0; i < 1000; i++) check()
  topic.nextAutoId = 2 ** 53 - 5
  for (let i = 0; i < 5; i++) check()
  t.equal(topic.assignedKey, String(2 ** 53 - 1))
  t.equal(wrong, 0, 'every key is String(id)')
})
