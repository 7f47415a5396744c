import t from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { resolveConfig, type ConfigOverrides } from '../../src/config/loadConfig'
import { CLUSTER_DEFAULTS, parseClusterSeeds, seedAddress } from '../../src/cluster/config'
import { buildProgram } from '../../src/cli'

const withCluster = (cluster: unknown): ReturnType<typeof resolveConfig> =>
  resolveConfig({ overrides: { cluster } as ConfigOverrides })

t.test('cluster is off by default; a section needs redis and gets the defaults for the rest', async t => {
  t.equal(resolveConfig().cluster, null)
  t.same(withCluster({ redis: ['127.0.0.1:7001'] }).cluster, { ...CLUSTER_DEFAULTS, redis: ['127.0.0.1:7001'] })
  t.same(CLUSTER_DEFAULTS, { nodeId: null, waitReplicas: 1, waitTimeoutMs: 1000, pullIntervalMs: 1000, reapIntervalMs: 250, nodeTtlMs: 5000, commandTimeoutMs: 10000 })
  t.throws(() => withCluster({}), /cluster/, 'redis is required')
  t.throws(() => withCluster({ redis: [] }), /cluster/, 'at least one seed')
  t.throws(() => withCluster({ redis: ['localhost'] }), /cluster/, 'a seed has a port')
  t.throws(() => withCluster({ redis: ['127.0.0.1:7001'], waitreplicas: 1 }), /waitreplicas/, 'typos fail loudly')
})

t.test('each cluster limit at its edges', async t => {
  const edges: Array<[string, number, number]> = [
    ['waitReplicas', 0, 16], ['waitTimeoutMs', 1, 60000], ['pullIntervalMs', 10, 60000], ['reapIntervalMs', 10, 60000], ['nodeTtlMs', 100, 600000], ['commandTimeoutMs', 100, 600000],
  ]
  for (const [field, min, max] of edges) {
    t.equal(withCluster({ redis: ['h:1'], [field]: min }).cluster![field as 'waitReplicas'], min, `${field} ${min}`)
    t.equal(withCluster({ redis: ['h:1'], [field]: max }).cluster![field as 'waitReplicas'], max, `${field} ${max}`)
    t.throws(() => withCluster({ redis: ['h:1'], [field]: min - 1 }), new RegExp(field), `${field} below ${min}`)
    t.throws(() => withCluster({ redis: ['h:1'], [field]: max + 1 }), new RegExp(field), `${field} above ${max}`)
  }
  t.equal(withCluster({ redis: ['h:1'], nodeId: 'node-1.a_b' }).cluster!.nodeId, 'node-1.a_b')
  t.throws(() => withCluster({ redis: ['h:1'], nodeId: 'a:b' }), /nodeId/, 'a node id cannot hold a key separator')
})

t.test('layers: a file section keeps its fields when a later layer names the seeds; null turns it off', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'c.json')
  writeFileSync(file, JSON.stringify({ cluster: { redis: ['127.0.0.1:1'], waitReplicas: 0 } }))
  t.same(resolveConfig({ file, overrides: { cluster: { redis: ['127.0.0.1:2'] } } }).cluster, { ...CLUSTER_DEFAULTS, redis: ['127.0.0.1:2'], waitReplicas: 0 })
  t.equal(resolveConfig({ file, overrides: { cluster: null } }).cluster, null)
})

t.test('--cluster seeds: comma-separated, redis:// optional, anything else refused', async t => {
  t.same(parseClusterSeeds('redis://127.0.0.1:7001,127.0.0.1:7002, redis://[::1]:7003'), ['127.0.0.1:7001', '127.0.0.1:7002', '[::1]:7003'])
  t.equal(parseClusterSeeds(''), null)
  t.equal(parseClusterSeeds('redis://host'), null)
  t.equal(parseClusterSeeds('127.0.0.1:7001,http://x:1'), null)
  t.same(seedAddress('redis://[::1]:7003'), { host: '::1', port: 7003 })
  t.same(seedAddress('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 })
  const help = buildProgram().commands.find(c => c.name() === 'start')!.helpInformation()
  t.match(help, /--cluster <seeds>/)
})
