/**
 * The Lua scripts of exchanges in cluster mode (docs/cluster.md#scripts).
 * Each runs on the `{exchanges}` slot: KEYS[1] is the set of exchange names,
 * ARGV[1] the prefix `ackline:{exchanges}:` (as P in the prelude), ARGV[2]
 * the exchange's name where it takes one. An exchange is never deleted and
 * never changes type; a binding is the member `<topic> <key>` of the
 * exchange's ZSET (topic names hold no blank; key '' is a fanout binding
 * given none), scored by its number, so ZRANGE gives them in the order made.
 */
export const EXCHANGE_SCRIPTS = {
  /**
   * exchangeDeclare: ARGV name, type, maxExchanges.
   * → {1, type} declared | {0, type} it exists (with that type: the node compares) | {-1} maxExchanges reached
   */
  acklineExchangeDeclare: `
local m = P .. 'x:' .. ARGV[2]
local had = redis.call('HGET', m, 'type')
if had then return {0, had} end
if redis.call('SCARD', P .. 'xs') >= tonumber(ARGV[4]) then return {-1} end
redis.call('HSET', m, 'type', ARGV[3], 'seq', 0)
redis.call('SADD', P .. 'xs', ARGV[2])
return {1, ARGV[3]}
`,

  /** exchangeBind: ARGV name, topic, key, maxBindingsPerExchange. → {1} bound | {0} already | {-1} no such exchange | {-2} maxBindingsPerExchange reached */
  acklineExchangeBind: `
local m = P .. 'x:' .. ARGV[2]
if redis.call('EXISTS', m) == 0 then return {-1} end
local b = m .. ':b'
local member = ARGV[3] .. ' ' .. ARGV[4]
if redis.call('ZSCORE', b, member) then return {0} end
if redis.call('ZCARD', b) >= tonumber(ARGV[5]) then return {-2} end
redis.call('ZADD', b, redis.call('HINCRBY', m, 'seq', 1), member)
return {1}
`,

  /** exchangeUnbind: ARGV name, topic, key. → {1} unbound | {0} no such binding | {-1} no such exchange */
  acklineExchangeUnbind: `
local m = P .. 'x:' .. ARGV[2]
if redis.call('EXISTS', m) == 0 then return {-1} end
return {redis.call('ZREM', m .. ':b', ARGV[3] .. ' ' .. ARGV[4])}
`,

  /** exchangeRead: ARGV name. Read-only. → {} no such exchange | {type, binding, …} bindings in the order made */
  acklineExchangeRead: `
local m = P .. 'x:' .. ARGV[2]
local typ = redis.call('HGET', m, 'type')
if not typ then return {} end
local out = {typ}
local b = redis.call('ZRANGE', m .. ':b', 0, -1)
for i = 1, #b do out[#out + 1] = b[i] end
return out
`,

  /** exchangeList: read-only, one snapshot of all. → {name, type, bindings count, binding, …, name, …} */
  acklineExchangeList: `
local names = redis.call('SMEMBERS', P .. 'xs')
local out = {}
for i = 1, #names do
  local m = P .. 'x:' .. names[i]
  local b = redis.call('ZRANGE', m .. ':b', 0, -1)
  out[#out + 1] = names[i]
  out[#out + 1] = redis.call('HGET', m, 'type')
  out[#out + 1] = #b
  for j = 1, #b do out[#out + 1] = b[j] end
end
return out
`,
} as const

/**
 * admit (route's check, on a topic's slot: P is the topic's prefix), read-only: whether a publish in route mode
 * would take the event now. ARGV id (the route's: never ''), maxPendingPerSubscriber.
 * → {-1} no such topic (nothing to refuse) | {0} it would | {3, subscription} queue full | {4} the id is still held
 */
export const ADMIT_SCRIPT = `
local id, maxPending = ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local prev = redis.call('HGET', P .. 'ids', id)
if prev and held(prev) then return {4} end
local subs = redis.call('SMEMBERS', P .. 'subs')
for i = 1, #subs do
  if tonumber(redis.call('HGET', sk(subs[i], 'm'), 'amo') or '0') == 0 and
    redis.call('ZCARD', sk(subs[i], 'q')) + redis.call('ZCARD', sk(subs[i], 'if')) + redis.call('ZCARD', sk(subs[i], 'dl')) >= maxPending then return {3, subs[i]} end
end
return {0}
`
