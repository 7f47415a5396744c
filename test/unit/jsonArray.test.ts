import t from 'tap'
import { arrayElementTexts } from '../../src/http/jsonArray'

t.test('element texts of a JSON array, bytes as sent; the framing is checked, each element left to its parser', async t => {
  t.same(arrayElementTexts(' [ {"a":1} ,{"b":"x,]\\"}"}, {"c":[1,{"d":2}]}\n] '), ['{"a":1}', '{"b":"x,]\\"}"}', '{"c":[1,{"d":2}]}'])
  t.same(arrayElementTexts('[]'), [])
  t.same(arrayElementTexts(' [ \n ] '), [])
  t.same(arrayElementTexts('[3, "s", null]'), ['3', '"s"', 'null'], 'scalars are elements too (the event parser refuses them, naming the index)')
  t.same(arrayElementTexts('[{"a":[}]]'), ['{"a":[}]'], 'a broken element is cut where the framing says; its parser refuses it')
  for (const bad of ['', '{}', '[', '[{"a":1}', '[{"a":1},', '[{"a":1},]', '[,{"a":1}]', '[{"a":1},,{"b":2}]', '[{"a":1}] x', '[{"a":"open]', '[{"a":"esc\\', 'x[{}]']) {
    t.equal(arrayElementTexts(bad), null, JSON.stringify(bad))
  }
})
