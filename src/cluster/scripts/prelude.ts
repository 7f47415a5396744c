/**
 * Lua shared by every script (prepended to each): key helpers over one
 * topic's prefix and the moves every script makes. Each script runs on the
 * slot of its topic family (KEYS[1] is a key of the topic, ARGV[1] its prefix
 * `ackline:{<base>}:t:<topic>:`), so every key it touches is in that slot.
 *
 * Event texts are stored as `<priority digit><id> <text>` (HASH `ev`), so a
 * redelivery knows the priority and retention the id without parsing the
 * JSON (ids hold no blanks); the broker's `timestamp` and `offset` end every text.
 *
 * Pending order (ZSET `q` scores): `(9 - priority) * 2^44 + offset` (high
 * priority first, then offset); an event given back (ack timeout, nack, a
 * holder gone) gets that minus 2^52, so redeliveries go first, as on one node.
 */
export const PRELUDE = `
local P = ARGV[1]
local PRIO = 17592186044416
local FRONT = 4503599627370496
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function sk(sub, part) return P .. 's:' .. sub .. ':' .. part end
local function skp(tp, sub, part) return tp .. 's:' .. sub .. ':' .. part end
local function order(off, prio) return (9 - prio) * PRIO + off end
-- An event as stored in HASH ev: '<priority digit><id> <text>' (an id holds no space).
local function ev_text(v) return string.sub(v, string.find(v, ' ', 2, true) + 1) end
local function ev_id(v) return string.sub(v, 2, string.find(v, ' ', 2, true) - 1) end
local function ev_time(v) return tonumber(string.match(v, '"timestamp":(%d+),"offset":%d+}$')) end
local function prio_of(off)
  local v = redis.call('HGET', P .. 'ev', off)
  if v then return tonumber(string.sub(v, 1, 1)) end
  return 0
end
local function drop_sub(sub)
  redis.call('DEL', sk(sub, 'q'), sk(sub, 'if'), sk(sub, 'dl'), sk(sub, 'd'), sk(sub, 'o'), sk(sub, 'c'), sk(sub, 'm'), sk(sub, 'mb'))
  redis.call('SREM', P .. 'subs', sub)
end
-- Where a new subscription starts: 'next' (the next offset), 'beginning', 'latest' (the newest retained),
-- 'o:<offset>' (the first retained one if it was trimmed) or 't:<unix-ms>' (the first stamped at or after it).
local function start_of(mode)
  local first = tonumber(redis.call('GET', P .. 'first') or '1')
  local last = tonumber(redis.call('GET', P .. 'seq'))
  local kind = string.sub(mode, 1, 2)
  if mode == 'next' then return last + 1 end
  if mode == 'beginning' then return first end
  if mode == 'latest' then return last >= first and last or last + 1 end
  if kind == 'o:' then return math.max(first, tonumber(string.sub(mode, 3))) end
  local at = tonumber(string.sub(mode, 3))
  for off = first, last do
    local v = redis.call('HGET', P .. 'ev', off)
    if v and ev_time(v) >= at then return off end
  end
  return last + 1
end
-- A new subscription is owed the retained events from start (up to its range's end, to; 0: none).
local function owe_from(sub, start, to)
  local last = tonumber(redis.call('GET', P .. 'seq'))
  if to > 0 and to < last then last = to end
  for off = start, last do
    local v = redis.call('HGET', P .. 'ev', off)
    if v then redis.call('ZADD', sk(sub, 'q'), order(off, tonumber(string.sub(v, 1, 1))), off) end
  end
end
-- A range (to=) whose every event has been acked: the subscription ends. Returns its end offset, or 0.
local function range_done(sub)
  local to = tonumber(redis.call('HGET', sk(sub, 'm'), 'to') or '0')
  if to == 0 then return 0 end
  if tonumber(redis.call('GET', P .. 'seq')) < to then return 0 end
  if redis.call('ZCARD', sk(sub, 'q')) + redis.call('ZCARD', sk(sub, 'if')) + redis.call('ZCARD', sk(sub, 'dl')) > 0 then return 0 end
  drop_sub(sub)
  return to
end
-- An in-flight event leaves flight: its deadline, owner and its owner's count go.
local function unflight(sub, off)
  local owner = redis.call('HGET', sk(sub, 'o'), off)
  redis.call('ZREM', sk(sub, 'if'), off)
  redis.call('HDEL', sk(sub, 'o'), off)
  if owner then
    if redis.call('HINCRBY', sk(sub, 'c'), owner, -1) <= 0 then redis.call('HDEL', sk(sub, 'c'), owner) end
  end
end
-- Back to the front of the queue: delivered again before anything new.
local function requeue(sub, off)
  redis.call('ZADD', sk(sub, 'q'), order(tonumber(off), prio_of(off)) - FRONT, off)
end
-- What one consumer holds in flight (consumer nil: every consumer, a named subscription or webhook
-- taken over) goes back to the front of the queue, delivered again first. Returns how many.
local function give_back(sub, consumer)
  local offs = redis.call('ZRANGE', sk(sub, 'if'), 0, -1)
  local n = 0
  for i = 1, #offs do
    if consumer == nil or redis.call('HGET', sk(sub, 'o'), offs[i]) == consumer then
      unflight(sub, offs[i])
      requeue(sub, offs[i])
      n = n + 1
    end
  end
  return n
end
-- Appends an event to the topic of prefix tp (text built by the node: pre .. id .. body .. offset .. '}')
-- and queues it for every subscription. id == '': the broker assigns one. An at-most-once subscription
-- holding more events than it may (its 'amo' field) loses its oldest of the lowest priority.
-- Returns offset, id, subscriber count, events so dropped.
local function append_event(tp, pre, body, id, prio)
  local off = redis.call('INCR', tp .. 'seq')
  local text
  if id == '' then
    id = tostring(redis.call('INCR', tp .. 'aid'))
    text = pre .. id .. body .. off .. '}'
  else
    text = body .. off .. '}'
  end
  redis.call('HSET', tp .. 'ev', off, prio .. id .. ' ' .. text)
  redis.call('INCRBY', tp .. 'bytes', #text)
  redis.call('HSET', tp .. 'ids', id, off)
  local subs = redis.call('SMEMBERS', tp .. 'subs')
  local score = order(off, tonumber(prio))
  local dropped = 0
  for i = 1, #subs do
    local m = redis.call('HMGET', skp(tp, subs[i], 'm'), 'to', 'amo')
    local to = tonumber(m[1] or '0')
    local q = skp(tp, subs[i], 'q')
    -- A range (to=) takes no event past its end.
    if to == 0 or off <= to then redis.call('ZADD', q, score, off) end
    local maxWaiting = tonumber(m[2] or '0')
    if maxWaiting > 0 and redis.call('ZCARD', q) > maxWaiting then
      local last = redis.call('ZRANGE', q, -1, -1, 'WITHSCORES')
      local band = math.floor(tonumber(last[2]) / PRIO) * PRIO
      local victim = redis.call('ZRANGEBYSCORE', q, band, '+inf', 'LIMIT', 0, 1)
      redis.call('ZREM', q, victim[1])
      redis.call('HINCRBY', skp(tp, subs[i], 'm'), 'dropped', 1)
      dropped = dropped + 1
    end
  end
  return off, id, #subs, dropped
end
-- Whether some subscription of this topic still owes or holds offset off.
local function held(off)
  local subs = redis.call('SMEMBERS', P .. 'subs')
  for i = 1, #subs do
    if redis.call('ZSCORE', sk(subs[i], 'q'), off) or redis.call('ZSCORE', sk(subs[i], 'if'), off) or redis.call('ZSCORE', sk(subs[i], 'dl'), off) then return true end
  end
  return false
end
`
