/**
 * `ackline/client`: a client for Ackline brokers. See docs/client.md.
 *
 *     import { connect } from 'ackline/client'
 *     const c = await connect({ host: '127.0.0.1', port: 8000 })
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
export type { BrokerStats, TopicStats, SubscriberStats } from './stats'
