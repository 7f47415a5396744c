/**
 * `ackline/client`: a client for Ackline brokers, loaded by that name from
 * ES modules and CommonJS. `connect()` is where to start; see docs/client.md.
 */
export { connect, AcklineClient } from './client'
export type { ClientEvents, PublishOutcome } from './client'
export { AcklineError } from './errors'
export type { AcklineErrorCode, ClientErrorCode } from './errors'
export { AcklineEvent } from './event'
export { Subscription } from './subscription'
export type { SubscribeInfo } from './subscription'
export type { PublishResult } from './publisher'
export { CLIENT_DEFAULTS } from './options'
export type { ConnectOptions, SubscribeOptions, ReconnectOptions, TlsOptions } from './options'
export type { BrokerStats, TopicStats, SubscriberStats, TopicInfo } from './stats'
export type { StartPosition } from './commands'
export type { SubscriptionEnd } from './replies'
