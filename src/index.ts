export { Broker, startBroker } from './broker'
export { DEFAULTS, type BrokerConfig, type Action } from './config/defaults'
export { resolveConfig, readConfigFile } from './config/loadConfig'
export { BrokerError, Errors, ERROR_CODES, type ErrorCode } from './errors'
