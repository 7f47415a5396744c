import t from 'tap'
import { DEFAULTS } from '../../src/config/defaults'
import { resolveConfig } from '../../src/config/loadConfig'

t.test('retention config: defaults, field-by-field layering, overrides checked', async t => {
  t.same(DEFAULTS.retention, { maxAgeMs: 86400000, maxBytes: 1073741824, overrides: [] })
  const cfg = resolveConfig({ overrides: { retention: { maxAgeMs: 1000, overrides: [{ pattern: 'audit.*', maxAgeMs: 2592000000 }, { pattern: '~alice.logs', maxBytes: 4096 }] } } })
  t.same(cfg.retention, { maxAgeMs: 1000, maxBytes: 1073741824, overrides: [{ pattern: 'audit.*', maxAgeMs: 2592000000 }, { pattern: '~alice.logs', maxBytes: 4096 }] }, 'a layer that sets maxAgeMs keeps the default maxBytes')
  // 0 is the edge: keep nothing for replay (Topic.keepsNothing); below it is refused.
  t.equal(resolveConfig({ overrides: { retention: { maxAgeMs: 0 } } }).retention.maxAgeMs, 0)
  t.equal(resolveConfig({ overrides: { retention: { overrides: [{ pattern: 'metrics.*', maxBytes: 0 }] } } }).retention.overrides![0].maxBytes, 0)
  t.throws(() => resolveConfig({ overrides: { retention: { maxAgeMs: -1 } } }), /retention\.maxAgeMs must be >= 0$/)
  t.throws(() => resolveConfig({ overrides: { retention: { overrides: [{ pattern: 'a', maxBytes: -1 }] } } }), /retention\.overrides\[0\]\.maxBytes must be >= 0$/)
  t.throws(() => resolveConfig({ overrides: { retention: { overrides: [{ pattern: 'a/b' }] } } }), /retention\.overrides\[0\]\.pattern must be a match of/)
  t.throws(() => resolveConfig({ overrides: { retention: { overrides: [{ maxAgeMs: 5 }] } } as never }), /retention\.overrides\[0\] is missing the field "pattern"$/)
  t.throws(() => resolveConfig({ overrides: { retention: { maxAge: 5 } } as never }), /unknown field "retention\.maxAge" \(did you mean "retention\.maxAgeMs"\?\)$/)
  for (const [field, min] of [['segmentBytes', 1024], ['eventCacheBytes', 1], ['dedupeWindowMs', 1], ['dedupeMaxIds', 1], ['stateCompactMinBytes', 1024], ['stateTailBytes', 1024], ['retentionCheckMs', 10]] as const) {
    t.throws(() => resolveConfig({ overrides: { [field]: min - 1 } }), new RegExp(`${field} must be >= ${min}$`), `${field} below ${min}`)
    t.equal(resolveConfig({ overrides: { [field]: min } })[field], min, `${field} at ${min}`)
  }
})
