import t from 'tap'
import { deliveryJson, parseEvent, sealEvent } from '../../src/store/event'
import { BrokerError } from '../../src/errors'

function code (fn: () => unknown): string {
  try { fn() } catch (e) { return e instanceof BrokerError ? `${e.code}: ${e.message}` : String(e) }
  return 'no error'
}

t.test('valid events', async t => {
  t.same(parseEvent('{"msg":"hi"}'), { text: '{"msg":"hi"}', id: undefined, priority: 0, hasPriority: false })
  t.same(parseEvent(' {"priority":0,"msg":"hi"} '), { text: ' {"priority":0,"msg":"hi"} ', id: undefined, priority: 0, hasPriority: true })
  t.same(parseEvent('{"id":"a-1","priority":9,"msg":{"x":[1,2]},"extra":true}').priority, 9)
  t.equal(parseEvent('{"id":42,"msg":null}').id, 42)
  t.equal(parseEvent('{"id":-7,"msg":0}').id, -7)
})

t.test('invalid events name the problem', async t => {
  t.equal(code(() => parseEvent('')), 'BAD_JSON: event is not valid JSON (it ends too early)')
  t.equal(code(() => parseEvent('{"msg":1,}')), 'BAD_JSON: event is not valid JSON (error at character 10)')
  t.equal(code(() => parseEvent('{"msg":')), 'BAD_JSON: event is not valid JSON (it ends too early)')
  t.equal(code(() => parseEvent('nope')), 'BAD_JSON: event is not valid JSON (unexpected "o")')
  t.equal(code(() => parseEvent('{"msg":1} x')), 'BAD_JSON: event is not valid JSON (error at character 11)')
  t.match(code(() => parseEvent('[1,2]')), /^BAD_EVENT: event must be object/)
  t.match(code(() => parseEvent('{"id":"1"}')), /^BAD_EVENT: event must have required property 'msg'/)
  t.match(code(() => parseEvent('{"msg":1,"priority":10}')), /^BAD_EVENT: field "priority" must be <= 9/)
  t.match(code(() => parseEvent('{"msg":1,"priority":-1}')), /^BAD_EVENT: field "priority" must be >= 0/)
  t.match(code(() => parseEvent('{"msg":1,"priority":2.5}')), /^BAD_EVENT: field "priority" must be integer/)
  t.match(code(() => parseEvent('{"msg":1,"priority":"3"}')), /^BAD_EVENT: field "priority" must be integer/)
  t.match(code(() => parseEvent('{"msg":1,"id":"a b"}')), /^BAD_EVENT: field "id" must be a string of 1-200 non-space/)
  t.match(code(() => parseEvent('{"msg":1,"id":""}')), /^BAD_EVENT: field "id"/)
  // A control character could never be typed back in `ack` (refused, or erased for DEL), so an id may not hold one.
  t.match(code(() => parseEvent('{"msg":1,"id":"a\\u0004"}')), /^BAD_EVENT: field "id" must be a string of 1-200 non-space, non-control characters/)
  t.match(code(() => parseEvent('{"msg":1,"id":"a\\u007f"}')), /^BAD_EVENT: field "id"/)
  t.equal(parseEvent('{"msg":1,"id":"caf\\u00e9-\\u0080"}').id, 'café-\u0080', 'other characters are fine')
  t.match(code(() => parseEvent('{"msg":1,"id":1.5}')), /^BAD_EVENT: field "id"/)
  t.match(code(() => parseEvent('{"msg":1,"id":true}')), /^BAD_EVENT: field "id"/)
  t.match(code(() => parseEvent(`{"msg":1,"id":${2 ** 60}}`)), /^BAD_EVENT: field "id"/)
  t.match(code(() => parseEvent('{"msg":1,"deliveries":3}')), /^BAD_EVENT: field "deliveries" is reserved/)
  t.equal(code(() => parseEvent('{"msg":1,"timestamp":5}')), 'BAD_EVENT: field "timestamp" is reserved for the broker')
  t.equal(code(() => parseEvent('{"msg":1,"\\u0074imestamp":null}')), 'BAD_EVENT: field "timestamp" is reserved for the broker', 'however the name is spelt')
  t.equal(code(() => parseEvent('{"msg":1,"deadLetter":{}}')), 'BAD_EVENT: field "deadLetter" is reserved for the broker')
  t.equal(code(() => parseEvent('{"msg":1,"offset":42}')), 'BAD_EVENT: field "offset" is reserved for the broker')
  t.equal(code(() => parseEvent('{"__proto__":{"timestamp":1},"msg":1}')), 'no error', 'a nested name is the publisher\'s own')
})

t.test('sealed event: broker id and priority first, fields as sent, broker timestamp last', async t => {
  const ev = sealEvent(parseEvent('{"msg":"m","extra":1}'), 7, 3, 1700000000000)
  t.equal(ev.json, '{"id":7,"priority":0,"msg":"m","extra":1,"timestamp":1700000000000,"offset":3}')
  t.equal(ev.key, '7')
  t.equal(ev.offset, 3)
  t.equal(ev.timestamp, 1700000000000)
  t.equal(deliveryJson(ev, 1), ev.json)
  t.equal(deliveryJson(ev, 3), '{"id":7,"priority":0,"msg":"m","extra":1,"timestamp":1700000000000,"offset":3,"deliveries":3}')
})
