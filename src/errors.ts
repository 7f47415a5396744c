/**
 * One catalogue of coded errors, in the manner of fastify's `lib/errors.js`:
 * each entry maps a key to its message template, and call sites pass only
 * parameters (`fail('NOT_IN_FLIGHT', { id, topic })`). A key is a protocol
 * code (`NOT_IN_FLIGHT`), or a code and a variant (`BAD_ARGS.unexpected`) when
 * one code has several wordings. Placeholders: `{name}` inserts a parameter as
 * is; `{name:q}` quotes untrusted input (JSON string, control bytes escaped,
 * cut at 60 characters), `{name:q20}` cuts at 20. The parameters a template
 * needs are checked by the compiler.
 * Every code is documented in docs/protocol.md (a test checks both ways).
 */
export const Errors = {
  UNKNOWN_COMMAND: 'unknown command {word:q}; type help for the list',
  'UNKNOWN_COMMAND.route': 'no route {method} {url:q}; see docs/http.md',
  'BAD_ARGS.missing': 'missing {what}; usage: {usage}',
  'BAD_ARGS.unexpected': 'unexpected {extra:q20}; usage: {usage}',
  'BAD_ARGS.notOneOf': '{what} must be {choices}, got {got:q20}',
  'BAD_ARGS.notOffset': '{what} must be an offset (an integer from 1), got {got:q20}',
  'BAD_ARGS.fieldType': 'field {field:q20} must be {type}',
  'BAD_ARGS.unknownField': 'unknown field {field:q20}; expected {expected}',
  'BAD_ARGS.badUserName': 'invalid user name {user:q}: use 1-64 characters of A-Z a-z 0-9 _ -',
  'BAD_ARGS.ownTopic': 'you own {topic} already',
  'BAD_ARGS.repeatedId': 'event id {id:q} is listed twice; nothing was acked',
  'BAD_ARGS.webhook': '{problem}',
  'BAD_ARGS.maxDeliveries': 'max deliveries must be an integer from 1 to {max}, got {got:q20}',
  BAD_OPTION: 'unknown option {option:q20}; usage: {usage}',
  'BAD_OPTION.value': 'option {option} must be {expected}, got {got:q20}',
  'BAD_OPTION.duplicate': 'option {option} given twice; usage: {usage}',
  'BAD_OPTION.range': 'to={to} is before the start of the range, offset {start}',
  'BAD_OPTION.atMostOnceNamed': 'ack=none is for anonymous subscriptions: {name} is a durable name (subscribe on a connection without a name)',
  'BAD_OPTION.atMostOnceWith': 'ack=none takes no {what}: nothing is acked, replayed or redelivered',
  BAD_TOPIC: 'invalid topic name {name:q}: use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")',
  BAD_JSON: 'event is not valid JSON{where}',
  BAD_EVENT: '{where} {detail}',
  'BAD_EVENT.reserved': 'field "{field}" is reserved for the broker',
  'BAD_EVENT.batch': 'event {index} of the batch: {detail}',
  'BAD_EVENT.notBatch': 'a batch must be a JSON array of event objects with 1 to {max} events',
  'BAD_TOPIC.notDeadLetter': '{topic:q} is not a dead-letter topic; requeue takes <topic>.dlq',
  UNKNOWN_TOPIC: 'topic {topic} does not exist',
  'UNKNOWN_TOPIC.sub': 'topic {topic} does not exist; publish to it first',
  TOPIC_EXISTS: 'topic {topic} exists already',
  NOT_SUBSCRIBED: 'not subscribed to {topic}',
  ALREADY_SUBSCRIBED: 'already subscribed to {topic}',
  NOT_IN_FLIGHT: 'event {id:q} is not in flight for you on {topic}',
  'NOT_IN_FLIGHT.batch': 'event {id:q} is not in flight for you on {topic}; nothing was acked',
  DUPLICATE_ID: 'event id {id} is still pending on {topic}; ids must be unique among a topic\'s unacked events',
  LINE_TOO_LONG: 'line exceeds maxLineBytes ({max} bytes); discarded up to the next newline',
  'LINE_TOO_LONG.body': 'request body exceeds maxLineBytes ({max} bytes)',
  CONTROL_CHAR: 'control character {hex} in command',
  BAD_NAME: 'invalid client id {name:q}: use 1-200 characters of A-Z a-z 0-9 . _ -',
  'BAD_NAME.webhook': 'invalid webhook name {name:q}: use 1-200 characters of A-Z a-z 0-9 . _ -',
  NAME_IN_USE: 'name {name} is held by another live connection',
  ALREADY_NAMED: 'this connection is already named {name}',
  NAME_AFTER_SUB: 'set the name before subscribing: anonymous subscriptions are already open',
  BAD_IN_FLIGHT: 'max in flight must be an integer from 1 to {max}, got {got:q20}',
  BAD_DELAY: '{what} must be an integer from {min} to {max} ms, got {got:q20}',
  QUEUE_FULL: 'subscriber {subscriber} on {topic} holds {max} events (maxPendingPerSubscriber); publish refused',
  'QUEUE_FULL.allDelivered': 'subscriber {subscriber} on {topic} holds {max} events, all delivered before; publish refused',
  OVERLOADED: 'the broker holds {held} bytes of undelivered events (maxPendingBytes {max}); publish refused, retry when subscribers catch up',
  TOO_MANY_CONNECTIONS: 'the broker is at its limit of {max} connections (maxConnections); try again later',
  TOO_MANY_CONNECTIONS_PER_IP: 'your address {ip} is at its limit of {max} connections (maxConnectionsPerIp); close one first',
  TOO_MANY_SUBSCRIPTIONS: 'this connection is at its limit of {max} subscriptions (maxSubscriptionsPerConnection); unsub from one first',
  TOO_MANY_TOPICS: 'the broker is at its limit of {max} topics (maxTopics); topic {topic} was not created',
  IDLE_TIMEOUT: 'no input for {ms} ms (idleTimeoutMs) and no subscriptions; closing the connection',
  STORAGE_FAILED: 'journal write failed ({cause}); commands since your last OK may not be stored',
  AUTH_REQUIRED: 'authenticate first: {usage}',
  AUTH_FAILED: 'wrong user or password',
  ALREADY_AUTHENTICATED: 'this connection is already authenticated as {user}',
  RATE_LIMITED: 'too many failed auth attempts from your address; try again later',
  FORBIDDEN: 'user {user} may not {right} {topic}',
  'FORBIDDEN.notOwner': 'you can grant and revoke only on your own private topics (~{user}.<name>)',
  BAD_EXCHANGE: 'invalid exchange name {name:q}: use 1-200 characters of A-Z a-z 0-9 . _ -',
  BAD_KEY: 'invalid {what} {key:q}: {detail}',
  'BAD_KEY.missing': 'a {type} exchange needs a binding key: bind <exchange> <topic> <binding-key>',
  UNKNOWN_EXCHANGE: 'exchange {name} does not exist; declare it with exchange <name> fanout|direct|topic',
  EXCHANGE_TYPE: 'exchange {name} is a {type} exchange already; an exchange keeps its type',
  NOT_BOUND: 'exchange {name} has no binding of {topic}{with}',
  UNROUTABLE: 'no binding of exchange {name} matches routing key {key:q}; nothing was published (mandatory=1)',
  'FORBIDDEN.route': 'user {user} may not publish to every topic exchange {name} routes {key:q} to; nothing was published',
  TOO_MANY_EXCHANGES: 'the broker is at its limit of {max} exchanges (maxExchanges); exchange {name} was not declared',
  TOO_MANY_BINDINGS: 'exchange {name} is at its limit of {max} bindings (maxBindingsPerExchange); unbind one first',
  TLS_REQUIRED: 'this broker accepts only TLS connections, on port {port}',
  WEBHOOK_EXISTS: 'topic {topic} already has a webhook named {name}; delete it first or pick another name',
  UNKNOWN_WEBHOOK: 'topic {topic} has no webhook named {name:q}',
  NO_DEAD_LETTER: 'no dead letter {id:q} waits in {topic}',
  'NO_DEAD_LETTER.empty': 'no dead letters wait in {topic}',
  NOT_IN_CLUSTER: '{command} is not available in cluster mode yet; see docs/cluster.md',
  NOT_REPLICATED: 'applied on the Redis master, but {got} of {want} replicas confirmed within {ms} ms (cluster.waitReplicas); it may still be delivered, and a failover now could lose it',
  CLUSTER_UNAVAILABLE: 'the Redis Cluster did not answer ({cause:q}); the command may or may not have been applied: retry it (a pub with an id is deduplicated)',
  ROUTE_PARTIAL: 'event {id} reached {done} of {n} topics, not all: {detail}; pub it with "id":{idJson} to the topics not published to (pub deduplicates)',
  INTERNAL: 'internal error',
} as const

/** A catalogue key: a code, or `CODE.variant`. */
export type ErrorKey = keyof typeof Errors

/** The codes clients see after `ERR`. */
export type ErrorCode = ErrorKey extends infer K ? K extends `${infer C}.${string}` ? C : K : never

type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? (P extends `${infer N}:${string}` ? N : P) | Placeholders<Rest>
  : never

/** The parameters a key's template needs. */
export type ErrorParams<K extends ErrorKey> = { [P in Placeholders<typeof Errors[K]>]: string | number }

type ParamArgs<K extends ErrorKey> = [Placeholders<typeof Errors[K]>] extends [never] ? [] : [ErrorParams<K>]

/** Every code, in catalogue order (for docs checks and HTTP status tables). */
export const ERROR_CODES: readonly ErrorCode[] = [...new Set(Object.keys(Errors).map(k => k.split('.')[0]))] as ErrorCode[]

/**
 * The HTTP status of each code (docs/http.md): 400 bad input, 401 missing or
 * bad credentials, 403 forbidden, 404 unknown, 409 conflict, 413 too large,
 * 429 rate limited, 503 overloaded or full. Typed so a new code cannot be left out.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  UNKNOWN_COMMAND: 404,
  BAD_ARGS: 400,
  BAD_OPTION: 400,
  BAD_TOPIC: 400,
  BAD_JSON: 400,
  BAD_EVENT: 400,
  UNKNOWN_TOPIC: 404,
  TOPIC_EXISTS: 409,
  NOT_SUBSCRIBED: 409,
  ALREADY_SUBSCRIBED: 409,
  NOT_IN_FLIGHT: 409,
  DUPLICATE_ID: 409,
  LINE_TOO_LONG: 413,
  CONTROL_CHAR: 400,
  BAD_NAME: 400,
  NAME_IN_USE: 409,
  ALREADY_NAMED: 409,
  NAME_AFTER_SUB: 409,
  BAD_IN_FLIGHT: 400,
  BAD_DELAY: 400,
  QUEUE_FULL: 503,
  OVERLOADED: 503,
  TOO_MANY_CONNECTIONS: 503,
  TOO_MANY_CONNECTIONS_PER_IP: 429,
  TOO_MANY_SUBSCRIPTIONS: 409,
  TOO_MANY_TOPICS: 503,
  IDLE_TIMEOUT: 408,
  STORAGE_FAILED: 503,
  AUTH_REQUIRED: 401,
  AUTH_FAILED: 401,
  ALREADY_AUTHENTICATED: 409,
  RATE_LIMITED: 429,
  FORBIDDEN: 403,
  BAD_EXCHANGE: 400,
  BAD_KEY: 400,
  UNKNOWN_EXCHANGE: 404,
  EXCHANGE_TYPE: 409,
  NOT_BOUND: 404,
  UNROUTABLE: 404,
  TOO_MANY_EXCHANGES: 503,
  TOO_MANY_BINDINGS: 409,
  TLS_REQUIRED: 403,
  WEBHOOK_EXISTS: 409,
  UNKNOWN_WEBHOOK: 404,
  NO_DEAD_LETTER: 404,
  NOT_IN_CLUSTER: 501,
  NOT_REPLICATED: 503,
  CLUSTER_UNAVAILABLE: 503,
  ROUTE_PARTIAL: 503,
  INTERNAL: 500,
}

export class BrokerError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.code = code
    this.name = 'BrokerError'
  }
}

/** Builds the coded error for a catalogue key with its parameters. */
export function brokerError<K extends ErrorKey> (key: K, ...params: ParamArgs<K>): BrokerError {
  const template: string = Errors[key]
  const values = (params[0] ?? {}) as Record<string, string | number>
  const message = template.replace(/\{(\w+)(?::q(\d*))?\}/g, (_m, name: string, q: string | undefined) => {
    const v = String(values[name])
    return q === undefined ? v : quote(v, q === '' ? 60 : Number(q))
  })
  return new BrokerError(key.split('.')[0] as ErrorCode, message)
}

/** Throws a coded error; used by handlers so the happy path stays branch-light. */
export function fail<K extends ErrorKey> (key: K, ...params: ParamArgs<K>): never {
  throw brokerError(key, ...params)
}

/** The `ERR <CODE> <message>` line for a catalogue key. */
export function errorLine<K extends ErrorKey> (key: K, ...params: ParamArgs<K>): string {
  return errLine(brokerError(key, ...params))
}

/** The single place protocol ERR lines are formatted. Messages never contain newlines. */
export function errLine (err: unknown): string {
  if (err instanceof BrokerError) return `ERR ${err.code} ${oneLine(err.message)}`
  return `ERR INTERNAL ${Errors.INTERNAL}`
}

function oneLine (s: string): string {
  return s.replace(/[\r\n]+/g, ' ')
}

/** Shows untrusted input inside an error message: quoted, control bytes escaped, shortened. */
export function quote (s: string, max = 60): string {
  const cut = s.length > max ? s.slice(0, max) + '…' : s
  return JSON.stringify(cut)
}

/** Errors that stop start-up (bad config, unusable log dir). Not protocol errors. */
export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
