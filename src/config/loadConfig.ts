import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv from 'ajv'
import { parseScryptHash } from '../auth/password'
import { ConfigError } from '../errors'
import { describeConfigErrors, fieldPath } from './configErrors'
import { COMMAND_NAMES } from '../commands/builtin'
import { DEFAULTS, type Action, type BrokerConfig } from './defaults'
import { configFileSchema } from './schema'
import { mergeWebhookConfig, type WebhookConfig } from '../webhooks/config'
import { mergeClusterConfig, type ClusterLayer } from '../cluster/config'

/** The config file shipped with the package (command table and defaults). */
export const DEFAULT_CONFIG_FILE = join(__dirname, '..', '..', 'config', 'default.json')

// verbose: errors carry their schema, for descriptions and the known names of an object.
const ajv = new Ajv({ allErrors: true, verbose: true })
const validateFile = ajv.compile(configFileSchema)

/** A config layer: any subset of fields; `commands`, `webhooks`, `retention` and `cluster` may name only the fields they change. */
export type ConfigOverrides = Partial<Omit<BrokerConfig, 'commands' | 'webhooks' | 'retention' | 'cluster'>> & {
  cluster?: ClusterLayer | null
  commands?: Partial<Record<Action, string[]>>
  webhooks?: Partial<WebhookConfig>
  retention?: Partial<BrokerConfig['retention']>
}

/** Reads and validates one JSON config file; errors name the file and the bad field. */
export function readConfigFile (file: string): ConfigOverrides {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`)
  }
  return checkConfig(data, file)
}

/** Validates an overrides object (from a file or from code). */
export function checkConfig (data: unknown, source: string): ConfigOverrides {
  if (!validateFile(data)) {
    throw new ConfigError(`invalid config in ${source}: ${describeConfigErrors(validateFile.errors ?? [], data)}`)
  }
  const overrides = data as ConfigOverrides
  // The schema checks a hash's shape; its parameters (N, r, p, sizes) are checked here, before start-up.
  for (const [name, user] of Object.entries(overrides.auth?.users ?? {})) {
    const hash = parseScryptHash(user.passwordHash)
    if (typeof hash === 'string') {
      const field = fieldPath(`/auth/users/${name}/passwordHash`, data)
      throw new ConfigError(`invalid config in ${source}: ${field} is not usable (${hash}); make one with npx ackline hash-password`)
    }
  }
  return overrides
}

/**
 * Layers config: DEFAULTS, then the shipped config/default.json, then the user's
 * --config file, then explicit overrides (command-line flags). Later wins.
 */
export function resolveConfig (opts: { file?: string, overrides?: ConfigOverrides, skipDefaultFile?: boolean } = {}): BrokerConfig {
  const layers: ConfigOverrides[] = []
  if (opts.skipDefaultFile !== true) layers.push(readConfigFile(DEFAULT_CONFIG_FILE))
  if (opts.file !== undefined) layers.push(readConfigFile(opts.file))
  if (opts.overrides !== undefined) layers.push(checkConfig(opts.overrides, 'overrides'))
  return mergeConfig(layers)
}

export function mergeConfig (layers: ConfigOverrides[]): BrokerConfig {
  const cfg: BrokerConfig = { ...DEFAULTS, commands: { ...DEFAULTS.commands }, webhooks: mergeWebhookConfig(DEFAULTS.webhooks, {}), retention: { ...DEFAULTS.retention } }
  for (const layer of layers) {
    const { commands, webhooks, retention, cluster, ...rest } = layer
    Object.assign(cfg, rest)
    if (commands !== undefined) Object.assign(cfg.commands, commands)
    cfg.webhooks = mergeWebhookConfig(cfg.webhooks, webhooks)
    // Retention merges field by field, like commands: a file may set only maxAgeMs.
    if (retention !== undefined) cfg.retention = { ...cfg.retention, ...retention }
    cfg.cluster = mergeClusterConfig(cfg.cluster, cluster)
  }
  checkCrossFields(cfg)
  return cfg
}

function checkCrossFields (cfg: BrokerConfig): void {
  const owner = new Map<string, Action>()
  for (const action of COMMAND_NAMES) {
    for (const word of cfg.commands[action]) {
      const key = word.toLowerCase()
      const prev = owner.get(key)
      if (prev !== undefined && prev !== action) {
        throw new ConfigError(`invalid config: commands.${action} reuses the word "${word}" already used by commands.${prev}`)
      }
      owner.set(key, action)
    }
  }
  if (cfg.ackTimeoutMs > cfg.maxAckTimeoutMs) {
    throw new ConfigError(`invalid config: ackTimeoutMs (${cfg.ackTimeoutMs}) must not exceed maxAckTimeoutMs (${cfg.maxAckTimeoutMs})`)
  }
  if (cfg.maxInFlight > cfg.maxInFlightLimit) {
    throw new ConfigError(`invalid config: maxInFlight (${cfg.maxInFlight}) must not exceed maxInFlightLimit (${cfg.maxInFlightLimit})`)
  }
  if (cfg.webhooks.maxInFlight > cfg.maxInFlightLimit) {
    throw new ConfigError(`invalid config: webhooks.maxInFlight (${cfg.webhooks.maxInFlight}) must not exceed maxInFlightLimit (${cfg.maxInFlightLimit})`)
  }
}
