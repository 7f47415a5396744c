import type { FastifyReply, FastifyRequest } from 'fastify'
import { brokerError } from '../errors'
import type { HttpListener } from '../http/server'
import type { Monitoring } from '../metrics/monitoring'
import { DLQ_SUFFIX } from '../store/names'
import { DEAD_LETTER_READER } from '../manager/redelivery'
import { loadAssets } from './assets'
import { LiveFeed } from './live'
import { DashboardData } from './snapshot'

/** How often open dashboards get new figures. */
export const LIVE_INTERVAL_MS = 1000
/** Events a peek shows at most. */
const PEEK_MAX = 100

/**
 * The dashboard (docs/dashboard.md): `GET /` serves the page, `/dashboard/*`
 * its script, styles and the vendored libraries, `/api/*` its data. Every
 * data route identifies the user by HTTP Basic (a 401 with
 * `WWW-Authenticate` makes the browser ask when `auth.required`) and shows
 * only the topics that user may see; changes run as commands through the
 * command layer, with the same checks as over TCP.
 */
export function registerDashboard (http: HttpListener, monitoring: Monitoring): void {
  const app = http.app
  const ctx = http.broker.ctx
  const assets = loadAssets()
  const data = new DashboardData(ctx, monitoring)
  const live = new LiveFeed(data, ctx.clock, LIVE_INTERVAL_MS, ctx.log)
  app.addHook('onClose', async () => live.close())

  const asset = (reply: FastifyReply, name: string): void => {
    const a = assets.get(name)
    if (a === undefined) {
      http.sendError(reply, brokerError('UNKNOWN_COMMAND.route', { method: 'GET', url: '/dashboard/' + name }))
      return
    }
    reply.type(a.type).header('cache-control', 'no-cache').send(a.body)
  }
  app.get('/', (req, reply) => {
    http.identify(req) // asks for credentials before the page when auth is required
    asset(reply, 'index.html')
  })
  app.get('/favicon.ico', (_req, reply) => { reply.status(204).send() })
  app.get('/dashboard/*', (req, reply) => asset(reply, (req.params as { '*': string })['*']))

  app.get('/api/me', (req, reply) => {
    const user = http.identify(req)
    reply.send({ user, authRequired: ctx.auth.required, liveIntervalMs: LIVE_INTERVAL_MS, canCreate: ctx.commands.get('create') !== undefined, canDelete: ctx.commands.get('delete') !== undefined })
  })

  app.get('/api/live', (req, reply) => {
    const user = http.identify(req)
    const topic = (req.query as { topic?: string }).topic ?? null
    reply.hijack()
    live.add(reply.raw, user, topic === '' ? null : topic)
  })

  app.get('/api/topics/:topic/peek', async (req, reply) => {
    const user = http.identify(req)
    const name = (req.params as { topic: string }).topic
    const t = ctx.store.topic(name)
    if (t === undefined || !data.canSee(user, name)) throw brokerError('UNKNOWN_TOPIC', { topic: name })
    const limit = Math.min(PEEK_MAX, Math.max(1, Number((req.query as { limit?: string }).limit ?? 10) || 10))
    // The next events: from the lowest offset a subscriber still owes (a dead-letter topic: its dead letters only); else the newest retained.
    const reader = name.endsWith(DLQ_SUFFIX) ? t.subscriptions.get(DEAD_LETTER_READER) : undefined
    let events
    if (reader !== undefined) {
      events = t.eventsAtSync(reader.owedOffsets().slice(0, limit))
    } else {
      const low = t.lowestOwed()
      const from = low === Infinity ? Math.max(t.firstOffset, t.nextOffset - limit) : low
      events = (await t.readEvents(from, t.nextOffset - 1)).slice(0, limit)
    }
    reply.type('application/json').send(`{"topic":${JSON.stringify(name)},"owed":${String(t.lowestOwed() !== Infinity)},"events":[${events.map(e => `{"offset":${e.offset},"id":${JSON.stringify(e.key)},"json":${JSON.stringify(e.json)}}`).join(',')}]}`)
  })

  const command = async (req: FastifyRequest, reply: FastifyReply, name: string, fields: Record<string, unknown>): Promise<void> => {
    const lines = await http.exec(req, s => http.broker.commands.run(s, name, fields))
    reply.send({ ok: lines[0].slice(3) })
  }
  app.post('/api/topics', async (req, reply) => command(req, reply, 'create', { topic: jsonBody(req).topic }))
  app.delete('/api/topics/:topic', async (req, reply) => command(req, reply, 'delete', { topic: (req.params as { topic: string }).topic }))
  app.post('/api/topics/:topic/requeue', async (req, reply) => {
    const which = jsonBody(req).which
    const fields: Record<string, unknown> = { topic: (req.params as { topic: string }).topic }
    if (which !== undefined) fields.which = which
    return command(req, reply, 'requeue', fields)
  })
}

/** The request body as a JSON object (the listener keeps bodies as text). */
function jsonBody (req: FastifyRequest): Record<string, unknown> {
  const text = typeof req.body === 'string' ? req.body : ''
  if (text === '') return {}
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw brokerError('BAD_JSON', { where: '' })
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw brokerError('BAD_ARGS.fieldType', { field: 'body', type: 'a JSON object' })
  return body as Record<string, unknown>
}
