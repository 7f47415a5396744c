import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv, { type ErrorObject } from 'ajv'
import { ConfigError } from '../errors'
import { ACTIONS, DEFAULTS, type Action, type BrokerConfig } from './defaults'
import { configFileSchema } from './schema'

/** The config file shipped with the package (command table and defaults). */
export const DEFAULT_CONFIG_FILE = join(__dirname, '..', '..', 'config', 'default.json')

const ajv = new Ajv({ allErrors: true })
const validateFile = ajv.compile(configFileSchema)

/** A config layer: any subset of fields; `commands` may name only the actions it changes. */
export type ConfigOverrides = Partial<Omit<BrokerConfig, 'commands' | 'retention'>> & { commands?: Partial<Record<Action, string[]>>, retention?: Partial<BrokerConfig['retention']> }

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
    throw new ConfigError(`invalid config in ${source}: ${describeErrors(validateFile.errors ?? [])}`)
  }
  return data as ConfigOverrides
}

function describeErrors (errors: ErrorObject[]): string {
  return errors.map(e => {
    const field = e.instancePath === '' ? '(top level)' : e.instancePath
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty
      return `unknown field "${e.instancePath}/${extra}"`
    }
    return `field "${field}" ${e.message ?? 'is invalid'}`
  }).join('; ')
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
  const cfg: BrokerConfig = { ...DEFAULTS, commands: { ...DEFAULTS.commands }, retention: { ...DEFAULTS.retention } }
  for (const layer of layers) {
    const { commands, retention, ...rest } = layer
    Object.assign(cfg, rest)
    if (commands !== undefined) Object.assign(cfg.commands, commands)
    // Retention merges field by field, like commands: a file may set only maxAgeMs.
    if (retention !== undefined) cfg.retention = { ...cfg.retention, ...retention }
  }
  checkCrossFields(cfg)
  return cfg
}

function checkCrossFields (cfg: BrokerConfig): void {
  const owner = new Map<string, Action>()
  for (const action of ACTIONS) {
    for (const word of cfg.commands[action]) {
      const key = word.toLowerCase()
      const prev = owner.get(key)
      if (prev !== undefined && prev !== action) {
        throw new ConfigError(`invalid config: field "/commands/${action}" reuses the word "${word}" already used by "/commands/${prev}"`)
      }
      owner.set(key, action)
    }
  }
  if (cfg.ackTimeoutMs > cfg.maxAckTimeoutMs) {
    throw new ConfigError(`invalid config: field "/ackTimeoutMs" (${cfg.ackTimeoutMs}) must not exceed "/maxAckTimeoutMs" (${cfg.maxAckTimeoutMs})`)
  }
  if (cfg.maxInFlight > cfg.maxInFlightLimit) {
    throw new ConfigError(`invalid config: field "/maxInFlight" (${cfg.maxInFlight}) must not exceed "/maxInFlightLimit" (${cfg.maxInFlightLimit})`)
  }
}
