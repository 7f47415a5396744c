/**
 * The script of wildcard subscriptions in cluster mode (src/cluster/wildcards.ts):
 * one topic's member of a pattern subscription is an ordinary anonymous
 * subscription of the session (`a:<node>:<session>`), made by this script on
 * the topic's slot, by the subscriber's node for the topics that exist, or by
 * the node that creates a new topic, before its first event.
 */

/**
 * member: ARGV subscription, consumer, maxInFlight, ackTimeoutMs, start (as subscribe's), only new (1: only
 * while the topic does not exist yet: the creating node's attach), user ('' or the grantee it is for, whom
 * `revoke` ends it for). A topic not created yet is owed its events from its first.
 * → {0} not made (it exists, or the topic does) | {1} made
 */
const member = `
local sub, consumer = ARGV[2], ARGV[3]
local exists = redis.call('EXISTS', P .. 'seq') == 1
if ARGV[7] == '1' and exists then return {0} end
local m = sk(sub, 'm')
if redis.call('EXISTS', m) == 1 then return {0} end
redis.call('HSET', m, 'maxInFlight', ARGV[4], 'ackTimeoutMs', ARGV[5], 'named', '0', 'holder', consumer,
  'order', redis.call('INCR', P .. 'subseq'), 'to', 0, 'amo', 0)
if ARGV[8] ~= '' then redis.call('HSET', m, 'user', ARGV[8]) end
redis.call('SADD', P .. 'subs', sub)
if exists then owe_from(sub, start_of(ARGV[6]), 0) end
return {1}
`

/** The scripts of wildcard subscriptions (index.ts adds them to SCRIPTS). */
export const WILDCARD_SCRIPTS = {
  acklineMember: member,
} as const
