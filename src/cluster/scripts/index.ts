import { ADMIT_SCRIPT, EXCHANGE_SCRIPTS } from './exchanges'
import { grantScripts } from './grants'
import { PRELUDE } from './prelude'
import { REQUEUE_SCRIPTS } from './requeue'
import { WILDCARD_SCRIPTS } from './wildcard'

/**
 * The Lua scripts of cluster mode, one per multi-key change (docs/cluster.md#scripts).
 * Each takes one key (a key of its topic, so ioredis routes it to the topic
 * family's slot) and ARGV[1] = the topic's key prefix; the rest of ARGV is
 * listed per script. Loaded with ioredis `defineCommand` (ClusterStore).
 */

/**
 * publish: ARGV pre, body, id ('' = assign), priority digit, dedupeWindowMs, maxPendingPerSubscriber (an
 * at-most-once subscription is never full: it drops its oldest of the lowest priority instead), mode: `@route`
 * for `route` (a word no user name can be), anything else (absent, '') for `pub`. As on one node, a route
 * refuses an id still held ({4}) and does not deduplicate within the window; its id, a UUID the broker made
 * included, enters the window, so a `pub` that completes a partial route is a duplicate where the route stored it.
 * → {1, offset, id, subscribers, created 1|0, at-most-once drops} | {2, offset, id} duplicate | {3, subscription} queue full
 * | {4} route: the id is still held
 */
const publish = `
local pre, body, id, prio = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local window, maxPending, routed = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '@route'
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', P .. 'idt', '-inf', now - window)
if id ~= '' then
  local prev = redis.call('HGET', P .. 'ids', id)
  if prev and routed then
    if held(prev) then return {4} end
  elseif prev and (redis.call('ZSCORE', P .. 'idt', id) or held(prev)) then return {2, tonumber(prev), id} end
end
local subs = redis.call('SMEMBERS', P .. 'subs')
for i = 1, #subs do
  if tonumber(redis.call('HGET', sk(subs[i], 'm'), 'amo') or '0') == 0 and
    redis.call('ZCARD', sk(subs[i], 'q')) + redis.call('ZCARD', sk(subs[i], 'if')) + redis.call('ZCARD', sk(subs[i], 'dl')) >= maxPending then return {3, subs[i]} end
end
if id ~= '' then
  redis.call('ZADD', P .. 'idt', now, id)
  -- Broker-assigned ids keep clear of numeric ids publishers chose, as on one node.
  if #id < 16 and string.match(id, '^%d+$') then
    local n = tonumber(id)
    if n > tonumber(redis.call('GET', P .. 'aid') or '0') then redis.call('SET', P .. 'aid', n) end
  end
end
local created = redis.call('EXISTS', P .. 'seq') == 0 and 1 or 0
local off, eid, n, dropped = append_event(P, pre, body, id, prio)
return {1, off, eid, n, created, dropped}
`

/**
 * subscribe: ARGV subscription, consumer, maxInFlight ('' = keep or default), ackTimeoutMs (same), named (1|0),
 * default maxInFlight, default ackTimeoutMs, start (`next`, `beginning`, `latest`, `o:<offset>`, `t:<unix-ms>`:
 * where a new subscription starts; it is owed the retained events from there), to (a range's last offset, 0:
 * none), at most once (0: no; else `ack=none` with this node's atMostOnceMaxWaiting: events pulled are not kept
 * in flight, and at most that many wait). A subscription whose holder is
 * another consumer (gone: names are leased) gives that holder's in-flight events back to the front of its queue.
 * → {-1} no such topic | {-2, start} to before start | {resumed 0|1, pending, maxInFlight, range done at (0: not)}
 */
const subscribe = `
local sub, consumer, askedMax, askedTimeout = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local m = sk(sub, 'm')
local resumed = redis.call('EXISTS', m)
local done = 0
if resumed == 0 then
  local start, to = start_of(ARGV[9]), tonumber(ARGV[10])
  if to > 0 and to < start then return {-2, start} end
  redis.call('HSET', m, 'maxInFlight', askedMax ~= '' and askedMax or ARGV[7], 'ackTimeoutMs', askedTimeout ~= '' and askedTimeout or ARGV[8], 'named', ARGV[6], 'holder', consumer,
    'order', redis.call('INCR', P .. 'subseq'), 'to', to, 'amo', ARGV[11])
  redis.call('SADD', P .. 'subs', sub)
  owe_from(sub, start, to)
  done = range_done(sub)
else
  if askedMax ~= '' then redis.call('HSET', m, 'maxInFlight', askedMax) end
  if askedTimeout ~= '' then redis.call('HSET', m, 'ackTimeoutMs', askedTimeout) end
  local holder = redis.call('HGET', m, 'holder')
  if holder ~= consumer then
    give_back(sub, nil)
    redis.call('HSET', m, 'holder', consumer)
  end
end
if done > 0 then return {resumed, 0, tonumber(ARGV[4] ~= '' and ARGV[4] or ARGV[7]), done} end
local pending = redis.call('ZCARD', sk(sub, 'q')) + redis.call('ZCARD', sk(sub, 'dl'))
return {resumed, pending, tonumber(redis.call('HGET', m, 'maxInFlight')), 0}
`

/**
 * join: ARGV group subscription, consumer, member cap, ackTimeoutMs ('' = keep or default), default ackTimeoutMs,
 * start (as for subscribe: where a new group starts).
 * Joins a consumer group: one durable subscription whose members (HASH `mb` consumer → cap) share its queue.
 * → {-1} no such topic | {resumed 0|1, members, pending}
 */
const join = `
local sub, consumer, cap, askedTimeout = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local m = sk(sub, 'm')
local resumed = redis.call('EXISTS', m)
if resumed == 0 then
  redis.call('HSET', m, 'maxInFlight', cap, 'ackTimeoutMs', askedTimeout ~= '' and askedTimeout or ARGV[6], 'named', '1', 'holder', '',
    'order', redis.call('INCR', P .. 'subseq'))
  redis.call('SADD', P .. 'subs', sub)
  owe_from(sub, start_of(ARGV[7]), 0)
elseif askedTimeout ~= '' then
  redis.call('HSET', m, 'ackTimeoutMs', askedTimeout)
end
redis.call('HSET', sk(sub, 'mb'), consumer, cap)
return {resumed, redis.call('HLEN', sk(sub, 'mb')), redis.call('ZCARD', sk(sub, 'q')) + redis.call('ZCARD', sk(sub, 'dl'))}
`

/**
 * pull: ARGV subscription, consumer, cap ('' = the subscription's maxInFlight; a group member's own cap),
 * budget (optional: at most this many more, a wildcard subscription's free slots across its topics).
 * Moves up to (cap - this consumer's in flight) events from the queue into flight with their deadline,
 * counting the delivery. → {0, offset, deliveries, text, …} | {1} the subscription (or membership) is gone
 */
const pull = `
local sub, consumer = ARGV[2], ARGV[3]
local m = sk(sub, 'm')
local max = tonumber(redis.call('HGET', m, 'maxInFlight'))
if not max then return {1} end
if ARGV[4] ~= '' then
  if not redis.call('HGET', sk(sub, 'mb'), consumer) then return {1} end
  max = tonumber(ARGV[4])
end
local out = {0}
if tonumber(redis.call('HGET', m, 'amo') or '0') > 0 then
  -- At most once: written and forgotten, a batch at a time while the socket drains.
  local popped = redis.call('ZPOPMIN', sk(sub, 'q'), 256)
  for i = 1, #popped, 2 do
    local v = redis.call('HGET', P .. 'ev', popped[i])
    if v then
      out[#out + 1] = tonumber(popped[i])
      out[#out + 1] = 1
      out[#out + 1] = ev_text(v)
    end
  end
  return out
end
local room = max - tonumber(redis.call('HGET', sk(sub, 'c'), consumer) or '0')
if ARGV[5] and ARGV[5] ~= '' then room = math.min(room, tonumber(ARGV[5])) end
if room <= 0 then return out end
local deadline = now_ms() + tonumber(redis.call('HGET', m, 'ackTimeoutMs'))
local taken = 0
while room > 0 do
  local popped = redis.call('ZPOPMIN', sk(sub, 'q'), room)
  if #popped == 0 then break end
  for i = 1, #popped, 2 do
    local off = popped[i]
    local v = redis.call('HGET', P .. 'ev', off)
    if v then
      redis.call('ZADD', sk(sub, 'if'), deadline, off)
      redis.call('HSET', sk(sub, 'o'), off, consumer)
      local d = redis.call('HINCRBY', sk(sub, 'd'), off, 1)
      out[#out + 1] = tonumber(off)
      out[#out + 1] = d
      out[#out + 1] = ev_text(v)
      room = room - 1
      taken = taken + 1
    else
      redis.call('HDEL', sk(sub, 'd'), off)
    end
  end
end
if taken > 0 then redis.call('HINCRBY', sk(sub, 'c'), consumer, taken) end
return out
`

/**
 * ack: ARGV subscription, consumer, id… (distinct). All or nothing: every id must be in flight for this consumer.
 * A range whose every event is now acked ends. → {0, range end (0: not done)} acked | {i} the i-th id is not
 * in flight for it (nothing acked)
 */
const ack = `
local sub, consumer = ARGV[2], ARGV[3]
local offs = {}
for i = 4, #ARGV do
  local off = redis.call('HGET', P .. 'ids', ARGV[i])
  if not off or not redis.call('ZSCORE', sk(sub, 'if'), off) or redis.call('HGET', sk(sub, 'o'), off) ~= consumer then return {i - 3} end
  offs[#offs + 1] = off
end
for i = 1, #offs do
  unflight(sub, offs[i])
  redis.call('HDEL', sk(sub, 'd'), offs[i])
end
return {0, range_done(sub)}
`

/**
 * commit: ARGV subscription, consumer, offset. Acks every event delivered and not acked whose offset is at most
 * `offset`: in flight to this consumer, owed a redelivery or delayed by a nack; never-delivered ones stay.
 * → {acked, range end (0: not done)}
 */
const commit = `
local sub, consumer, upTo = ARGV[2], ARGV[3], tonumber(ARGV[4])
local n = 0
local delivered = redis.call('HKEYS', sk(sub, 'd'))
for i = 1, #delivered do
  local off = delivered[i]
  if tonumber(off) <= upTo then
    local acked = false
    if redis.call('ZSCORE', sk(sub, 'if'), off) then
      if redis.call('HGET', sk(sub, 'o'), off) == consumer then
        unflight(sub, off)
        acked = true
      end
    elseif redis.call('ZREM', sk(sub, 'q'), off) == 1 or redis.call('ZREM', sk(sub, 'dl'), off) == 1 then
      acked = true
    end
    if acked then
      redis.call('HDEL', sk(sub, 'd'), off)
      n = n + 1
    end
  end
end
return {n, range_done(sub)}
`

/**
 * nack: ARGV subscription, consumer, id, delayMs, maxDeliveries, isDeadLetterTopic (1|0).
 * → {-1} not in flight | {0, deliveries} given back | {1, offset, deliveries, text} to dead-letter (still in flight: deadLetter moves it)
 */
const nack = `
local sub, consumer, id, delay, maxDel = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local off = redis.call('HGET', P .. 'ids', id)
if not off or not redis.call('ZSCORE', sk(sub, 'if'), off) or redis.call('HGET', sk(sub, 'o'), off) ~= consumer then return {-1} end
local d = tonumber(redis.call('HGET', sk(sub, 'd'), off) or '0')
if d >= maxDel and ARGV[7] == '0' then
  local v = redis.call('HGET', P .. 'ev', off)
  if v then return {1, tonumber(off), d, ev_text(v)} end
end
unflight(sub, off)
if delay > 0 then redis.call('ZADD', sk(sub, 'dl'), now_ms() + delay, off) else requeue(sub, off) end
return {0, d}
`

/**
 * deadLetter: ARGV subscription, offset, dead-letter topic prefix, pre, body, priority digit, default maxInFlight,
 * default ackTimeoutMs. Moves an in-flight event to `<topic>.dlq` (same slot), creating that topic with its
 * `dead-letters` reader. → {0} no longer in flight | {1, offset in the dead-letter topic, its subscribers, created 1|0}
 */
const deadLetter = `
local sub, off, dp = ARGV[2], ARGV[3], ARGV[4]
if not redis.call('ZSCORE', sk(sub, 'if'), off) then return {0} end
unflight(sub, off)
redis.call('HDEL', sk(sub, 'd'), off)
local created = 0
if redis.call('EXISTS', dp .. 'seq') == 0 then
  created = 1
  redis.call('SET', dp .. 'seq', 0)
  local reader = 'n:dead-letters'
  redis.call('HSET', skp(dp, reader, 'm'), 'maxInFlight', ARGV[8], 'ackTimeoutMs', ARGV[9], 'named', '1', 'holder', '', 'order', redis.call('INCR', dp .. 'subseq'))
  redis.call('SADD', dp .. 'subs', reader)
end
local o, id, n = append_event(dp, ARGV[5], ARGV[6], '', ARGV[7])
return {1, o, n, created}
`

/**
 * touch: ARGV subscription, consumer, id, extendMs ('' = the subscription's ack timeout).
 * → {-1} not in flight | {ms}
 */
const touch = `
local sub, consumer, id = ARGV[2], ARGV[3], ARGV[4]
local off = redis.call('HGET', P .. 'ids', id)
if not off or not redis.call('ZSCORE', sk(sub, 'if'), off) or redis.call('HGET', sk(sub, 'o'), off) ~= consumer then return {-1} end
local ms = ARGV[5] ~= '' and tonumber(ARGV[5]) or tonumber(redis.call('HGET', sk(sub, 'm'), 'ackTimeoutMs'))
redis.call('ZADD', sk(sub, 'if'), now_ms() + ms, off)
return {ms}
`

/** unsubscribe: ARGV subscription. Ends it, dropping what it holds. → {-1} none | {dropped} */
const unsubscribe = `
local sub = ARGV[2]
if redis.call('EXISTS', sk(sub, 'm')) == 0 then return {-1} end
local dropped = redis.call('ZCARD', sk(sub, 'q')) + redis.call('ZCARD', sk(sub, 'if')) + redis.call('ZCARD', sk(sub, 'dl'))
drop_sub(sub)
return {dropped}
`

/**
 * detach: ARGV subscription, consumer. A consumer went away (its connection closed, or it left its group): what
 * it held goes back to the front of the queue, redelivered first; a named subscription no longer has a holder,
 * a group one member fewer. → {given back}
 */
const detach = `
local sub, consumer = ARGV[2], ARGV[3]
local n = give_back(sub, consumer)
if redis.call('HGET', sk(sub, 'm'), 'holder') == consumer then redis.call('HSET', sk(sub, 'm'), 'holder', '') end
redis.call('HDEL', sk(sub, 'mb'), consumer)
return {n}
`

/**
 * reap: ARGV maxDeliveries, isDeadLetterTopic (1|0), limit, retention maxAgeMs, retention maxBytes. Delayed
 * events that are due and in-flight events past their deadline go back to the front of their queue; one past
 * maxDeliveries stays in flight (deadline moved 30 s on) for the node to dead-letter. Then retention: from the
 * oldest, events older than maxAgeMs or past maxBytes go, up to the first one a subscription still owes or
 * holds (never dropped), at most `limit`. → {given back, trimmed, subscription, offset, deliveries, text, …}
 */
const reap = `
local maxDel, isDlq, limit = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local maxAge, maxBytes = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local out = {0, 0}
local subs = redis.call('SMEMBERS', P .. 'subs')
for i = 1, #subs do
  local sub = subs[i]
  local due = redis.call('ZRANGEBYSCORE', sk(sub, 'dl'), '-inf', now, 'LIMIT', 0, limit)
  for j = 1, #due do
    redis.call('ZREM', sk(sub, 'dl'), due[j])
    requeue(sub, due[j])
    out[1] = out[1] + 1
  end
  local expired = redis.call('ZRANGEBYSCORE', sk(sub, 'if'), '-inf', now, 'LIMIT', 0, limit)
  for j = 1, #expired do
    local off = expired[j]
    local d = tonumber(redis.call('HGET', sk(sub, 'd'), off) or '0')
    local v = redis.call('HGET', P .. 'ev', off)
    if d >= maxDel and isDlq == '0' and v then
      redis.call('ZADD', sk(sub, 'if'), now + 30000, off)
      out[#out + 1] = sub
      out[#out + 1] = tonumber(off)
      out[#out + 1] = d
      out[#out + 1] = ev_text(v)
    else
      unflight(sub, off)
      requeue(sub, off)
      out[1] = out[1] + 1
    end
  end
end
local first = tonumber(redis.call('GET', P .. 'first') or '1')
local last = tonumber(redis.call('GET', P .. 'seq') or '0')
local from = first
while first <= last and out[2] < limit do
  local v = redis.call('HGET', P .. 'ev', first)
  if v then
    if held(first) then break end
    local bytes = tonumber(redis.call('GET', P .. 'bytes') or '0')
    if now - ev_time(v) <= maxAge and bytes <= maxBytes then break end
    redis.call('HDEL', P .. 'ev', first)
    redis.call('DECRBY', P .. 'bytes', #ev_text(v))
    local id = ev_id(v)
    if redis.call('HGET', P .. 'ids', id) == tostring(first) then redis.call('HDEL', P .. 'ids', id) end
    out[2] = out[2] + 1
  end
  first = first + 1
end
if first ~= from then redis.call('SET', P .. 'first', first) end
return out
`

/** create: → 1 created | 0 it exists */
const create = `
if redis.call('EXISTS', P .. 'seq') == 1 then return 0 end
redis.call('SET', P .. 'seq', 0)
return 1
`

/** remove (delete): every key of the topic. → {-1} none | {0, subscription, …} the subscriptions it ended */
const remove = `
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local subs = redis.call('SMEMBERS', P .. 'subs')
for i = 1, #subs do drop_sub(subs[i]) end
redis.call('DEL', P .. 'seq', P .. 'aid', P .. 'bytes', P .. 'first', P .. 'subseq', P .. 'ev', P .. 'ids', P .. 'idt', P .. 'subs', P .. 'g')
local out = {0}
for i = 1, #subs do out[#out + 1] = subs[i] end
return out
`

/**
 * info: → {-1} none | {lastOffset, retainedEvents, retainedBytes, subscriptions, pending, inFlight,
 * then per subscription: key, pending, inFlight, maxInFlight, holder, at most once 1|0, dropped, member count, then per member:
 * consumer, inFlight, cap}
 */
const info = `
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local subs = redis.call('SMEMBERS', P .. 'subs')
-- In the order they were created, as on one node.
local rank = {}
for i = 1, #subs do rank[subs[i]] = tonumber(redis.call('HGET', sk(subs[i], 'm'), 'order') or '0') end
table.sort(subs, function (x, y) return rank[x] < rank[y] end)
local out = {tonumber(redis.call('GET', P .. 'seq')), redis.call('HLEN', P .. 'ev'), tonumber(redis.call('GET', P .. 'bytes') or '0'), #subs, 0, 0}
for i = 1, #subs do
  local pending = redis.call('ZCARD', sk(subs[i], 'q')) + redis.call('ZCARD', sk(subs[i], 'dl'))
  local inFlight = redis.call('ZCARD', sk(subs[i], 'if'))
  out[5] = out[5] + pending
  out[6] = out[6] + inFlight
  out[#out + 1] = subs[i]
  out[#out + 1] = pending
  out[#out + 1] = inFlight
  out[#out + 1] = tonumber(redis.call('HGET', sk(subs[i], 'm'), 'maxInFlight'))
  out[#out + 1] = redis.call('HGET', sk(subs[i], 'm'), 'holder') or ''
  out[#out + 1] = tonumber(redis.call('HGET', sk(subs[i], 'm'), 'amo') or '0') > 0 and 1 or 0
  out[#out + 1] = tonumber(redis.call('HGET', sk(subs[i], 'm'), 'dropped') or '0')
  local members = redis.call('HGETALL', sk(subs[i], 'mb'))
  out[#out + 1] = #members / 2
  for j = 1, #members, 2 do
    out[#out + 1] = members[j]
    out[#out + 1] = tonumber(redis.call('HGET', sk(subs[i], 'c'), members[j]) or '0')
    out[#out + 1] = tonumber(members[j + 1])
  end
end
return out
`

/**
 * page (`events`): ARGV from ('' = the first retained), limit, maxBytes. Read-only.
 * → {-1} no such topic | {from, next, lastOffset, text, …} the retained events from `from` in offset order,
 * at most `limit`, stopping once maxBytes of text are taken
 */
const page = `
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local first = tonumber(redis.call('GET', P .. 'first') or '1')
local last = tonumber(redis.call('GET', P .. 'seq'))
local from = ARGV[2] ~= '' and math.max(tonumber(ARGV[2]), first) or first
local limit, maxBytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {from, from, last}
local at, bytes, n = from, 0, 0
while at <= last and n < limit and bytes < maxBytes do
  local v = redis.call('HGET', P .. 'ev', at)
  if v then
    local text = ev_text(v)
    out[#out + 1] = text
    bytes = bytes + #text
    n = n + 1
  end
  at = at + 1
end
out[2] = at
return out
`

/**
 * webhookCreate: ARGV subscription (`w:<name>`), maxInFlight, ackTimeoutMs, url, secret, maxDeliveries ('' none),
 * user (on a private topic, its creator, whose `revoke` ends it, as on one node; '' none). A webhook's durable subscription, owed what is published from now on, with its spec in its meta hash; no
 * holder yet (the node that leases it takes it with subscribe). → {-1} no such topic | {-2} it exists | {0}
 */
const webhookCreate = `
local sub = ARGV[2]
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local m = sk(sub, 'm')
if redis.call('EXISTS', m) == 1 then return {-2} end
redis.call('HSET', m, 'maxInFlight', ARGV[3], 'ackTimeoutMs', ARGV[4], 'named', '1', 'holder', '', 'order', redis.call('INCR', P .. 'subseq'),
  'to', 0, 'amo', 0, 'url', ARGV[5], 'secret', ARGV[6], 'maxDeliveries', ARGV[7], 'disabled', '', 'failures', 0)
if ARGV[8] ~= '' then redis.call('HSET', m, 'user', ARGV[8]) end
redis.call('SADD', P .. 'subs', sub)
owe_from(sub, start_of('next'), 0)
return {0}
`

/**
 * webhookTake: ARGV subscription (`w:<name>`), consumer. A node that leased the webhook becomes its holder: what
 * the previous holder had in flight goes back to the front of the queue (redelivered first, deliveries counted on).
 * Never makes a subscription (unlike subscribe): an ended webhook stays ended. → {-1} no such webhook | {0, given back}
 */
const webhookTake = `
local sub, consumer = ARGV[2], ARGV[3]
local m = sk(sub, 'm')
if redis.call('HEXISTS', m, 'url') == 0 then return {-1} end
local back = 0
if redis.call('HGET', m, 'holder') ~= consumer then
  back = give_back(sub, nil)
  redis.call('HSET', m, 'holder', consumer)
end
return {0, back}
`

/** Every script by its ioredis command name: the prelude, then the script's own Lua. */
export const SCRIPTS = {
  acklinePublish: publish,
  acklineSubscribe: subscribe,
  acklineJoin: join,
  acklinePull: pull,
  acklineAck: ack,
  acklineNack: nack,
  acklineCommit: commit,
  acklineDeadLetter: deadLetter,
  acklineTouch: touch,
  acklineUnsubscribe: unsubscribe,
  acklineDetach: detach,
  acklineReap: reap,
  acklineCreate: create,
  acklineRemove: remove,
  acklineInfo: info,
  acklinePage: page,
  acklineWebhookCreate: webhookCreate,
  acklineWebhookTake: webhookTake,
  acklineAdmit: ADMIT_SCRIPT,
  ...EXCHANGE_SCRIPTS,
  ...grantScripts({ publish, subscribe, join }),
  ...REQUEUE_SCRIPTS,
  ...WILDCARD_SCRIPTS,
} as const

export type ScriptName = keyof typeof SCRIPTS

/** The full Lua text of a script. */
export function scriptSource (name: ScriptName): string {
  return PRELUDE + SCRIPTS[name]
}
