import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BrokerError, brokerError } from '../errors'
import type { Manager } from '../manager/manager'
import type { HttpSession } from './session'

/** Runs commands on a fresh session for the request and returns its reply lines (the listener's `exec`). */
export type Exec = (req: FastifyRequest, fn: (s: HttpSession) => void) => Promise<string[]>

const DECLARED = /^OK exchange (\S+) \((\w+)\) (declared|exists)$/
const BOUND = /^OK (?:bound (\S+) to \S+|(\S+) already bound to \S+)/
const ROUTED = /^OK (\S+) routed to (\d+) topic/

/**
 * The exchange routes of the HTTP API (docs/http.md, docs/routing.md), thin
 * transports over the `exchange`, `bind`, `exchanges` and `route` commands:
 *
 * - `PUT /exchanges/:name` `{"type":"fanout|direct|topic"}` → `{"exchange","type","created"}`
 * - `POST /exchanges/:name/bindings` `{"topic","key"?}` → `{"exchange","topic","key","created"}`
 * - `GET /exchanges` → the `exchanges` list
 * - `POST /exchanges/:name/events?key=<routing-key>[&mandatory=1]`, the event as the body
 *   (its bytes kept) → `{"id","exchange","routed"}`
 */
export function registerExchangeRoutes (app: FastifyInstance, manager: Manager, exec: Exec): void {
  const run = (s: HttpSession, name: string, fields: Record<string, unknown>): void => manager.commands.run(s, name, fields)
  app.put('/exchanges/:name', async (req, reply) => {
    const exchange = (req.params as { name: string }).name
    const { type } = jsonObject(req, ['type'])
    const line = (await exec(req, s => run(s, 'exchange', { exchange, type })))[0]
    const m = DECLARED.exec(line) ?? internal()
    reply.type('application/json').send(JSON.stringify({ exchange, type: m[2], created: m[3] === 'declared' }))
  })
  app.post('/exchanges/:name/bindings', async (req, reply) => {
    const exchange = (req.params as { name: string }).name
    const { topic, key } = jsonObject(req, ['topic', 'key'])
    const line = (await exec(req, s => run(s, 'bind', { exchange, topic, key })))[0]
    const m = BOUND.exec(line) ?? internal()
    reply.type('application/json').send(JSON.stringify({ exchange, topic, key: key ?? '', created: m[1] !== undefined }))
  })
  app.get('/exchanges', async (req, reply) => {
    const line = (await exec(req, s => run(s, 'exchanges', {})))[0]
    reply.type('application/json').send(line.slice(3))
  })
  app.post('/exchanges/:name/events', async (req, reply) => {
    const exchange = (req.params as { name: string }).name
    const q = req.query as Record<string, unknown>
    const routingKey = q.key
    if (q.mandatory !== undefined && q.mandatory !== '0' && q.mandatory !== '1') throw brokerError('BAD_ARGS.notOneOf', { what: 'mandatory', choices: '0 or 1', got: String(q.mandatory) })
    const body = typeof req.body === 'string' ? req.body : ''
    // The flag travels at the end of the event's text, as on a line.
    const event = body === '' ? '' : q.mandatory === '1' ? body + ' mandatory=1' : body
    const line = (await exec(req, s => run(s, 'route', { exchange, routingKey, event })))[0]
    const m = ROUTED.exec(line) ?? internal()
    reply.type('application/json').send(JSON.stringify({ id: m[1], exchange, routed: Number(m[2]) }))
  })
}

/** The request body as a JSON object with only `allowed` fields. */
function jsonObject (req: FastifyRequest, allowed: readonly string[]): Record<string, unknown> {
  let body: unknown
  try {
    body = JSON.parse(typeof req.body === 'string' ? req.body : '')
  } catch {
    throw brokerError('BAD_JSON', { where: ': the body must be a JSON object' })
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw brokerError('BAD_ARGS.fieldType', { field: 'body', type: 'a JSON object' })
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw brokerError('BAD_ARGS.unknownField', { field: k, expected: allowed.join(', ') })
  return body as Record<string, unknown>
}

function internal (): never {
  throw new BrokerError('INTERNAL', 'internal error')
}
