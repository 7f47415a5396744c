/**
 * The scripts of private topics (`~owner.…`) in cluster mode: `grant`,
 * `revoke`, and the grant-checked variants of publish, subscribe and join
 * that a user other than the owner runs. A topic's grants are the HASH
 * `…:t:<topic>:g` (user → `pub`, `sub` or `both`) in the topic's slot, so the
 * check and the change are one script: a `revoke` is either before a `pub` or
 * `sub` (refused) or after it (the subscription it made is ended).
 *
 * A subscription a grantee makes remembers its user (`user` in its meta
 * HASH; a group member's `u:<consumer>`), so `revoke` ends it wherever its
 * client is, also a named one waiting for its client, as on one node.
 */

/**
 * The check before a variant's own script, for a user who is not the owner:
 * ARGV[#ARGV - 1] the user, ARGV[#ARGV] the right needed (`pub` or `sub`).
 * → {-3} no grant (the topic is hidden: UNKNOWN_TOPIC) | {-4} a grant without that right (FORBIDDEN)
 */
const CHECK = `
local g_user, g_right = ARGV[#ARGV - 1], ARGV[#ARGV]
local g_has = redis.call('HGET', P .. 'g', g_user)
if not g_has then return {-3} end
if g_has ~= 'both' and g_has ~= g_right then return {-4} end
`

/** A script run after CHECK, then `record` (Lua that may read the script's reply `r`), then its reply. */
function checked (script: string, record = ''): string {
  return `${CHECK}local function inner()\n${script}\nend\nlocal r = inner()\n${record}return r\n`
}

/** A subscription the grantee made (ARGV[2]) remembers who made it. */
const RECORD_SUBSCRIBER = `
if r[1] >= 0 and redis.call('EXISTS', sk(ARGV[2], 'm')) == 1 then redis.call('HSET', sk(ARGV[2], 'm'), 'user', g_user) end
`

/**
 * A group member (consumer ARGV[3] of group ARGV[2]) remembers its user; the
 * fields of members that have left go (a member's entry lives as long as it does).
 */
const RECORD_MEMBER = `
if r[1] >= 0 then
  local m, mb = sk(ARGV[2], 'm'), sk(ARGV[2], 'mb')
  local fields = redis.call('HKEYS', m)
  for i = 1, #fields do
    local f = fields[i]
    if string.sub(f, 1, 2) == 'u:' and redis.call('HEXISTS', mb, string.sub(f, 3)) == 0 then redis.call('HDEL', m, f) end
  end
  redis.call('HSET', m, 'u:' .. ARGV[3], g_user)
end
`

/**
 * grant: ARGV user, kind (`pub`, `sub` or `both`). Adds the rights, creating the topic when it does not exist
 * (the grant is kept with it). → {rights now: pub|sub|both, created 1|0}
 */
const grant = `
local user, kind = ARGV[2], ARGV[3]
local created = 0
if redis.call('EXISTS', P .. 'seq') == 0 then
  redis.call('SET', P .. 'seq', 0)
  created = 1
end
local cur = redis.call('HGET', P .. 'g', user)
local pub = cur == 'pub' or cur == 'both' or kind ~= 'sub'
local sub = cur == 'sub' or cur == 'both' or kind ~= 'pub'
local now = (pub and sub) and 'both' or (pub and 'pub' or 'sub')
redis.call('HSET', P .. 'g', user, now)
return {now, created}
`

/**
 * revoke: ARGV user, kind (`pub`, `sub` or `both`). Takes the rights back (a topic that does not exist is not
 * created). When the user may no longer subscribe, every subscription it made ends (its events dropped), and
 * each group member it joined as leaves its group, what the member held going back to the front of the
 * group's queue. → {rights left: pub|sub|both|none, subscriptions and memberships ended, events given back}
 */
const revoke = `
local user, kind = ARGV[2], ARGV[3]
if redis.call('EXISTS', P .. 'seq') == 0 then return {'none', 0, 0} end
local cur = redis.call('HGET', P .. 'g', user)
local pub = (cur == 'pub' or cur == 'both') and kind == 'sub'
local sub = (cur == 'sub' or cur == 'both') and kind == 'pub'
local left = (pub and sub) and 'both' or (pub and 'pub' or (sub and 'sub' or 'none'))
if left == 'none' then redis.call('HDEL', P .. 'g', user) else redis.call('HSET', P .. 'g', user, left) end
local ended, back = 0, 0
if not sub then
  local subs = redis.call('SMEMBERS', P .. 'subs')
  for i = 1, #subs do
    local s = subs[i]
    local m = sk(s, 'm')
    if redis.call('HGET', m, 'user') == user then
      drop_sub(s)
      ended = ended + 1
    elseif string.sub(s, 1, 2) == 'g:' then
      local fields = redis.call('HGETALL', m)
      for j = 1, #fields, 2 do
        if string.sub(fields[j], 1, 2) == 'u:' and fields[j + 1] == user then
          local consumer = string.sub(fields[j], 3)
          if redis.call('HDEL', sk(s, 'mb'), consumer) == 1 then
            back = back + give_back(s, consumer)
            ended = ended + 1
          end
          redis.call('HDEL', m, fields[j])
        end
      end
    end
  end
end
return {left, ended, back}
`

/** The scripts of private topics, built over the core scripts they check (index.ts adds them to SCRIPTS). */
export function grantScripts (core: { publish: string, subscribe: string, join: string }): {
  acklineGrant: string
  acklineRevoke: string
  acklinePublishGranted: string
  acklineSubscribeGranted: string
  acklineJoinGranted: string
} {
  return {
    acklineGrant: grant,
    acklineRevoke: revoke,
    acklinePublishGranted: checked(core.publish),
    acklineSubscribeGranted: checked(core.subscribe, RECORD_SUBSCRIBER),
    acklineJoinGranted: checked(core.join, RECORD_MEMBER),
  }
}
