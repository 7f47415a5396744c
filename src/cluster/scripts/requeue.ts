/**
 * The scripts of `requeue` in cluster mode. The dead letters of `<topic>.dlq`
 * are what its `dead-letters` subscription still owes (waiting, in flight or
 * delayed), as on one node. A dead letter's original event is rebuilt by the
 * node (its members byte for byte: src/manager/handlers/requeue.ts
 * originalOf), so a requeue is two scripts: `deadLetters` reads them, then
 * `requeue` moves those still owed back to their topic, which shares the
 * `.dlq` topic's hash tag (keys.ts familyOf), so the move is one atomic step.
 */

/** The dead-letter topic's reader, as on one node (src/manager/redelivery.ts DEAD_LETTER_READER). */
const READER = `local reader = 'n:dead-letters'
local function owed(off)
  return redis.call('ZSCORE', sk(reader, 'q'), off) or redis.call('ZSCORE', sk(reader, 'if'), off) or redis.call('ZSCORE', sk(reader, 'dl'), off)
end
local function owed_count()
  return redis.call('ZCARD', sk(reader, 'q')) + redis.call('ZCARD', sk(reader, 'if')) + redis.call('ZCARD', sk(reader, 'dl'))
end
`

/**
 * deadLetters: ARGV which (`''`: the oldest, `all`, else a dead letter's id in the `.dlq` topic), limit.
 * Read-only. → {-1} no such topic | {owed, offset, text, …} the dead letters picked, oldest first
 */
const deadLetters = `${READER}
if redis.call('EXISTS', P .. 'seq') == 0 then return {-1} end
local which, limit = ARGV[2], tonumber(ARGV[3])
local out = {owed_count()}
local offs = {}
if which ~= '' and which ~= 'all' then
  local off = redis.call('HGET', P .. 'ids', which)
  if off and owed(off) then offs = {off} end
else
  local all = {}
  for _, part in ipairs({'q', 'if', 'dl'}) do
    local got = redis.call('ZRANGE', sk(reader, part), 0, -1)
    for i = 1, #got do all[#all + 1] = tonumber(got[i]) end
  end
  table.sort(all)
  local n = which == '' and 1 or limit
  for i = 1, math.min(n, #all) do offs[i] = all[i] end
end
for i = 1, #offs do
  local v = redis.call('HGET', P .. 'ev', offs[i])
  if v then
    out[#out + 1] = tonumber(offs[i])
    out[#out + 1] = ev_text(v)
  end
end
return out
`

/**
 * requeue: ARGV target topic prefix (same slot), maxPendingPerSubscriber, then per dead letter: its offset in
 * the `.dlq` topic, the original id, priority digit, text body (pre '' : the id is given). Each one still owed
 * is published to the target as publishEvent does on one node (DUPLICATE_ID while its id is held there,
 * QUEUE_FULL at maxPendingPerSubscriber), then leaves the reader; a refusal stops there (what moved before it
 * stays moved, as on one node). One no longer owed (requeued or acked meanwhile) is passed over.
 * → {0, moved, left, passed over, target created 1|0, subscribers of the last} | {1, moved, offset, 'dup'} |
 * {1, moved, offset, 'full', subscription}
 */
const requeue = `${READER}
local tp, maxPending = ARGV[2], tonumber(ARGV[3])
local function held_at(off)
  local subs = redis.call('SMEMBERS', tp .. 'subs')
  for i = 1, #subs do
    if redis.call('ZSCORE', skp(tp, subs[i], 'q'), off) or redis.call('ZSCORE', skp(tp, subs[i], 'if'), off) or redis.call('ZSCORE', skp(tp, subs[i], 'dl'), off) then return true end
  end
  return false
end
local created = redis.call('EXISTS', tp .. 'seq') == 0 and 1 or 0
local moved, passed, n = 0, 0, 0
local now = now_ms()
for i = 4, #ARGV, 4 do
  local off, id, prio, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if owed(off) then
    local prev = redis.call('HGET', tp .. 'ids', id)
    if prev and held_at(prev) then return {1, moved, tonumber(off), 'dup'} end
    local subs = redis.call('SMEMBERS', tp .. 'subs')
    for j = 1, #subs do
      if tonumber(redis.call('HGET', skp(tp, subs[j], 'm'), 'amo') or '0') == 0 and
        redis.call('ZCARD', skp(tp, subs[j], 'q')) + redis.call('ZCARD', skp(tp, subs[j], 'if')) + redis.call('ZCARD', skp(tp, subs[j], 'dl')) >= maxPending then
        return {1, moved, tonumber(off), 'full', subs[j]}
      end
    end
    redis.call('ZADD', tp .. 'idt', now, id)
    if #id < 16 and string.match(id, '^%d+$') and tonumber(id) > tonumber(redis.call('GET', tp .. 'aid') or '0') then redis.call('SET', tp .. 'aid', id) end
    local _, _, count = append_event(tp, '', body, id, prio)
    n = count
    if redis.call('ZSCORE', sk(reader, 'if'), off) then unflight(reader, off) end
    redis.call('ZREM', sk(reader, 'q'), off)
    redis.call('ZREM', sk(reader, 'dl'), off)
    redis.call('HDEL', sk(reader, 'd'), off)
    moved = moved + 1
  else
    passed = passed + 1
  end
end
return {0, moved, owed_count(), passed, created, n}
`

/** The scripts of `requeue` (index.ts adds them to SCRIPTS). */
export const REQUEUE_SCRIPTS = {
  acklineDeadLetters: deadLetters,
  acklineRequeue: requeue,
} as const
