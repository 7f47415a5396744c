import t from 'tap'
import { Cluster } from 'ioredis'
import { existsSync } from 'node:fs'
import { alive, hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// The Redis Cluster harness itself (test/helpers/redisCluster.ts): 3 masters + 3 replicas on loopback,
// healthy on every node, usable through ioredis's Cluster client, and gone without a trace when stopped.

t.test('starts 3 masters with a replica each, serves SET/GET through ioredis Cluster, stops cleanly', { skip: hasRedis() ? false : skipReason }, async (t) => {
  const rc = await startRedisCluster(t)
  t.equal(rc.nodes.length, 6)
  t.equal(rc.nodes.filter(n => n.role === 'master').length, 3, '3 masters')
  t.equal(rc.nodes.filter(n => n.role === 'replica').length, 3, '3 replicas')
  t.equal(rc.clusterArg, rc.nodes.map(n => `redis://127.0.0.1:${n.port}`).join(','))
  for (const n of rc.nodes) {
    t.ok(n.port >= 20000 && n.port <= 22767, `port ${n.port} below the ephemeral range, bus too`)
    t.ok(alive(n.pid), `pid ${n.pid} running`)
    const info = await rc.cli(n.port, 'CLUSTER', 'INFO')
    t.match(info, /cluster_state:ok/)
    t.match(info, /cluster_slots_ok:16384/)
  }

  const redis = new Cluster(rc.nodes.filter(n => n.role === 'master').map(n => ({ host: '127.0.0.1', port: n.port })))
  t.teardown(() => redis.disconnect())
  // keys on different slots, so that more than one master answers
  for (const key of ['{a}k', '{b}k', '{c}k', '{orders}k']) {
    t.equal(await redis.set(key, `v-${key}`), 'OK')
    t.equal(await redis.get(key), `v-${key}`)
  }
  t.equal(await redis.wait(1, 2000), 1, 'WAIT 1: a replica has the last write')
  redis.disconnect()

  const pids = rc.nodes.map(n => n.pid)
  const dirs = rc.nodes.map(n => n.dir)
  await rc.stop()
  for (const pid of pids) t.notOk(alive(pid), `pid ${pid} gone`)
  for (const d of dirs) t.notOk(existsSync(d), `${d} removed`)
  await rc.stop() // idempotent
})

t.test('kill -9 of a master: its replica takes over and the cluster is ok again', { skip: hasRedis() ? false : skipReason }, async (t) => {
  const rc = await startRedisCluster(t)
  const victim = rc.masterPorts()[0]
  await rc.killMaster(victim)
  const started = Date.now()
  await rc.waitHealthy()
  t.ok(Date.now() - started < 20_000, `failover in ${Date.now() - started} ms`)
  t.equal(rc.masterPorts().length, 3, 'a replica was promoted')
  t.notOk(rc.masterPorts().includes(victim))
  // it comes back as a replica of the promoted one
  await rc.startNode(victim)
  await rc.waitHealthy()
  t.equal(rc.nodes.find(n => n.port === victim)?.role, 'replica')
})

t.test('with AOF (appendfsync always), data survives a restart of every server', { skip: hasRedis() ? false : skipReason }, async (t) => {
  const rc = await startRedisCluster(t, { appendonly: 'always' })
  const redis = new Cluster([{ host: '127.0.0.1', port: rc.nodes[0].port }])
  t.teardown(() => redis.disconnect())
  await redis.set('{x}survivor', 'payload')
  redis.disconnect()
  await rc.restart()
  const again = new Cluster([{ host: '127.0.0.1', port: rc.nodes[0].port }])
  t.teardown(() => again.disconnect())
  t.equal(await again.get('{x}survivor'), 'payload')
})
