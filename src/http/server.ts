import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { WebSocketServer } from 'ws'
import type { BrokerConfig } from '../config/defaults'
import { BrokerError, brokerError, HTTP_STATUS, type ErrorCode } from '../errors'
import type { Manager } from '../manager/manager'
import type { BrokerServer } from '../server/server'
import { Parsed } from '../commands/registry'
import { parseEvent, type ParsedEvent } from '../store/event'
import { checkWebhookUrl } from '../webhooks/addressPolicy'
import { registerDashboard } from '../dashboard/routes'
import { registerMetrics } from '../metrics/route'
import type { Monitoring } from '../metrics/monitoring'
import { HTTP_DEFAULTS, type HttpConfig } from './config'
import { CredentialCache, parseBasic } from './credentials'
import { registerExchangeRoutes } from './exchangeRoutes'
import { arrayElementTexts } from './jsonArray'
import { HttpSession } from './session'
import { WsLineStream } from './wsStream'

/** What one published event reports over HTTP. */
export interface PublishResult { id: string, topic: string, subscribers: number, duplicate?: true }

/** The `OK <id> published to <topic> (<n> subscribers...)` reply of `pub`, as JSON. */
const PUB_OK = /^OK (\S+) published to (\S+) \((\d+) subscriber/
/** The `OK <id> duplicate, already published to <topic>` reply of `pub` (idempotent publish): nothing was stored. */
const PUB_DUPLICATE = /^OK (\S+) duplicate, already published to (\S+)$/

/**
 * The HTTP API and the WebSocket endpoint (docs/http.md), on one fastify
 * server: routes are thin transports over the command layer (`run` with the
 * route's fields, on a per-request HttpSession); `GET /ws` upgrades to a
 * Connection that speaks the line protocol over frames (WsLineStream).
 */
export class HttpListener {
  readonly app: FastifyInstance
  private readonly wss: WebSocketServer
  private readonly credentials: CredentialCache
  private readonly cfg: Required<HttpConfig>
  private nextId = 1

  /** monitoring: what GET /metrics and the dashboard read besides the store (absent: neither is served). */
  constructor (private readonly config: BrokerConfig, http: HttpConfig, private readonly manager: Manager, private readonly tcp: BrokerServer, monitoring: Monitoring | null = null) {
    this.cfg = { ...HTTP_DEFAULTS, host: config.host, ...http }
    this.credentials = new CredentialCache(this.cfg.credentialCacheMs)
    const tls = config.tls
    this.app = Fastify({
      bodyLimit: config.maxLineBytes,
      forceCloseConnections: true,
      ...(tls === null ? {} : { https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
    }) as unknown as FastifyInstance
    this.app.removeAllContentTypeParsers()
    // Bodies stay text: an event's bytes are stored as sent.
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
    this.app.setErrorHandler((err: Error & { code?: string, statusCode?: number }, _req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return this.sendError(reply, brokerError('LINE_TOO_LONG.body', { max: config.maxLineBytes }))
      if (err instanceof BrokerError) return this.sendError(reply, err)
      this.manager.ctx.log.error({ err }, 'http request failed unexpectedly')
      return this.sendError(reply, new BrokerError('INTERNAL', 'internal error'))
    })
    this.app.setNotFoundHandler((req, reply) => {
      this.sendError(reply, brokerError('UNKNOWN_COMMAND.route', { method: req.method, url: req.url }))
    })
    this.app.post('/topics/:topic/events', (req, reply) => this.publish(req, reply, (req.params as { topic: string }).topic, bodyText(req)))
    this.app.get('/topics/:topic', (req, reply) => this.stats(req, reply, (req.params as { topic: string }).topic))
    this.app.post('/publish', (req, reply) => this.seedPublish(req, reply))
    this.app.post('/topics/:topic/webhooks', (req, reply) => this.createWebhook(req, reply, (req.params as { topic: string }).topic))
    this.app.get('/topics/:topic/webhooks', (req, reply) => this.listWebhooks(req, reply, (req.params as { topic: string }).topic))
    this.app.delete('/topics/:topic/webhooks/:name', (req, reply) => {
      const p = req.params as { topic: string, name: string }
      return this.deleteWebhook(req, reply, p.topic, p.name)
    })
    this.app.post('/subscribe', (req, reply) => this.seedSubscribe(req, reply))
    this.app.post('/topics', (req, reply) => this.createTopic(req, reply))
    this.app.post('/create', (req, reply) => this.createTopic(req, reply))
    this.app.get('/topics', (req, reply) => this.listTopics(req, reply))
    this.app.delete('/topics/:topic', (req, reply) => this.deleteTopic(req, reply, (req.params as { topic: string }).topic))
    this.app.get('/topics/:topic/events', (req, reply) => this.readEvents(req, reply, (req.params as { topic: string }).topic))
    if (monitoring !== null) {
      registerMetrics(this, monitoring)
      registerDashboard(this, monitoring)
    }
    registerExchangeRoutes(this.app, this.manager, (req, fn) => this.exec(req, fn))
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.cfg.maxFrameBytes })
    this.app.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head))
  }

  async listen (): Promise<AddressInfo> {
    await this.app.listen({ port: this.cfg.port, host: this.cfg.host })
    return this.app.server.address() as AddressInfo
  }

  /** http:// or https:// and the address, for the start-up line. */
  get scheme (): string {
    return this.config.tls === null ? 'http' : 'https'
  }

  async close (): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate()
    this.wss.close()
    await this.app.close()
  }

  // --- routes ---

  private async publish (req: FastifyRequest, reply: FastifyReply, topic: string, body: string): Promise<void> {
    const start = firstNonBlank(body)
    if (body.charCodeAt(start) !== 0x5b) { // one event
      const lines = await this.exec(req, s => this.manager.commands.run(s, 'pub', { topic, event: body }))
      return this.send(reply, publishResult(lines[0]))
    }
    const events = this.batchEvents(body)
    const lines = await this.exec(req, s => {
      for (let i = 0; i < events.length; i++) {
        try {
          this.manager.commands.run(s, 'pub', { topic, event: events[i] })
        } catch (err) {
          if (!(err instanceof BrokerError)) throw err
          const before = i === 0 ? '' : `; the ${i} event${i === 1 ? '' : 's'} before it were published`
          throw new BrokerError(err.code, `event ${i} of the batch: ${err.message}${before}`)
        }
      }
    })
    return this.send(reply, lines.map(publishResult))
  }

  /**
   * A batch's events as sent, each parsed and validated (once) before any is published: one bad event refuses
   * the batch, naming its index. They go to `pub` already parsed (Parsed), so no event is parsed twice.
   */
  private batchEvents (body: string): Array<Parsed<ParsedEvent>> {
    const texts = arrayElementTexts(body)
    if (texts === null) throw brokerError('BAD_JSON', { where: ': the batch is not a valid JSON array' })
    const max = this.config.maxQueuedLines
    if (texts.length === 0 || texts.length > max) throw brokerError('BAD_EVENT.notBatch', { max })
    const out: Array<Parsed<ParsedEvent>> = new Array(texts.length)
    for (let i = 0; i < texts.length; i++) {
      try {
        out[i] = new Parsed(parseEvent(texts[i]))
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err
        throw brokerError('BAD_EVENT.batch', { index: i, detail: `${err.code} ${err.message}` })
      }
    }
    return out
  }

  private async stats (req: FastifyRequest, reply: FastifyReply, topic: string): Promise<void> {
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'stats', { topic }))
    reply.type('application/json').send(okBody(lines[0]))
  }

  /** Seed 000's `POST /publish {"topic","payload","payloadType"}`: payload is stored as `msg`, payloadType as a field. */
  private async seedPublish (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    let body: unknown
    try {
      body = JSON.parse(bodyText(req))
    } catch {
      throw brokerError('BAD_JSON', { where: '' })
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw brokerError('BAD_ARGS.fieldType', { field: 'body', type: 'a JSON object' })
    const { topic, payload, payloadType, ...rest } = body as Record<string, unknown>
    const extra = Object.keys(rest)[0]
    if (extra !== undefined) throw brokerError('BAD_ARGS.unknownField', { field: extra, expected: 'topic, payload, payloadType' })
    if (typeof topic !== 'string') throw brokerError('BAD_ARGS.fieldType', { field: 'topic', type: 'a string' })
    if (payloadType !== undefined && typeof payloadType !== 'string') throw brokerError('BAD_ARGS.fieldType', { field: 'payloadType', type: 'a string' })
    const event = JSON.stringify(payloadType === undefined ? { msg: payload } : { msg: payload, payloadType })
    return this.publish(req, reply, topic, event)
  }

  /**
   * `POST /topics/:topic/webhooks {"name","url","maxInFlight"?,"maxDeliveries"?,"secret"?}` → 201 with the
   * settings and the secret (shown this once). The `webhook` command does the work; a host name is resolved
   * here first, so a name that points at a refused address gets its 400 now rather than failing every delivery.
   */
  private async createWebhook (req: FastifyRequest, reply: FastifyReply, topic: string): Promise<void> {
    const fields = jsonObject(bodyText(req))
    if (fields.maxDeliveries === null) delete fields.maxDeliveries // null: retried for ever, as when absent
    await this.checkUrl(fields.url)
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'webhook', { ...fields, topic }))
    reply.status(201).type('application/json').send(okBody(lines[0]))
  }

  private async listWebhooks (req: FastifyRequest, reply: FastifyReply, topic: string): Promise<void> {
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'webhooks', { topic }))
    reply.type('application/json').send(okBody(lines[0]))
  }

  private async deleteWebhook (req: FastifyRequest, reply: FastifyReply, topic: string, name: string): Promise<void> {
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'unwebhook', { topic, name }))
    const m = /\((\d+) undelivered/.exec(lines[0])
    this.send(reply, { topic, name, dropped: m === null ? 0 : Number(m[1]) })
  }

  /**
   * Seed 000's `POST /subscribe {"topic","addr"}`: a webhook to `addr`, named after it (`sub-` and a hash of
   * the URL), so the same call again finds the same webhook: 201 with its secret the first time, 200 with its
   * state after.
   */
  private async seedSubscribe (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { topic, addr, ...rest } = jsonObject(bodyText(req))
    const extra = Object.keys(rest)[0]
    if (extra !== undefined) throw brokerError('BAD_ARGS.unknownField', { field: extra, expected: 'topic, addr' })
    if (typeof topic !== 'string') throw brokerError('BAD_ARGS.fieldType', { field: 'topic', type: 'a string' })
    if (typeof addr !== 'string') throw brokerError('BAD_ARGS.fieldType', { field: 'addr', type: 'a string' })
    const name = 'sub-' + createHash('sha256').update(addr).digest('hex').slice(0, 16)
    await this.checkUrl(addr)
    try {
      const lines = await this.exec(req, s => this.manager.commands.run(s, 'webhook', { topic, name, url: addr }))
      reply.status(201).type('application/json').send(okBody(lines[0]))
    } catch (err) {
      if (!(err instanceof BrokerError) || err.code !== 'WEBHOOK_EXISTS') throw err
      const lines = await this.exec(req, s => this.manager.commands.run(s, 'webhooks', { topic }))
      const found = (JSON.parse(okBody(lines[0])) as Array<{ name: string }>).find(w => w.name === name)
      this.send(reply, found)
    }
  }

  /** `POST /topics {"topic"}` and seed 000's `POST /create`: the `create` command; 201 `{"topic"}`, 409 TOPIC_EXISTS. */
  private async createTopic (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { topic, ...rest } = jsonObject(bodyText(req))
    const extra = Object.keys(rest)[0]
    if (extra !== undefined) throw brokerError('BAD_ARGS.unknownField', { field: extra, expected: 'topic' })
    await this.exec(req, s => this.manager.commands.run(s, 'create', { topic }))
    reply.status(201)
    this.send(reply, { topic })
  }

  /** `GET /topics`: the `topics` command's list (the topics this user may see, with their counts). */
  private async listTopics (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'topics', {}))
    reply.type('application/json').send(okBody(lines[0]))
  }

  /** `DELETE /topics/:topic`: the `delete` command; 200 `{"topic","deleted":true}`. */
  private async deleteTopic (req: FastifyRequest, reply: FastifyReply, topic: string): Promise<void> {
    await this.exec(req, s => this.manager.commands.run(s, 'delete', { topic }))
    this.send(reply, { topic, deleted: true })
  }

  /** `GET /topics/:topic/events?from=&limit=`: the `events` command, a read-only page of retained events. */
  private async readEvents (req: FastifyRequest, reply: FastifyReply, topic: string): Promise<void> {
    const query = req.query as Record<string, string | string[] | undefined>
    const fields: Record<string, unknown> = { topic }
    for (const [key, value] of Object.entries(query)) {
      if (key === 'topic') throw brokerError('BAD_ARGS.unknownField', { field: key, expected: 'from, limit' })
      if (Array.isArray(value)) throw brokerError('BAD_OPTION.duplicate', { option: key, usage: 'GET /topics/:topic/events?from=<offset>&limit=<n>' })
      fields[key] = value
    }
    const lines = await this.exec(req, s => this.manager.commands.run(s, 'events', fields))
    reply.type('application/json').send(okBody(lines[0]))
  }

  /** The creation-time address check of a webhook URL (docs/webhooks.md): a 400 naming the refused address. */
  private async checkUrl (url: unknown): Promise<void> {
    if (typeof url !== 'string') return // the command names a missing or mistyped url
    const problem = await checkWebhookUrl(url, this.config.webhooks.allowPrivateAddresses)
    if (problem !== null) throw brokerError('BAD_ARGS.webhook', { problem })
  }

  // --- plumbing ---

  /** Runs commands on a fresh session for the request (authenticated by its Basic header) and waits for held replies. */
  async exec (req: FastifyRequest, fn: (s: HttpSession) => void): Promise<string[]> {
    const session = new HttpSession(this.nextId++, req.ip)
    try {
      this.authenticate(session, req.headers.authorization)
      fn(session)
      await session.settled()
    } finally {
      this.manager.disconnect(session)
    }
    const failed = session.lines.find(l => l.startsWith('ERR '))
    if (failed !== undefined) throw errFromLine(failed)
    return session.lines
  }

  /**
   * The user a request's `Authorization: Basic` header names (null: none sent);
   * throws AUTH_FAILED / RATE_LIMITED for bad credentials, AUTH_REQUIRED when
   * none were sent and `auth.required`.
   */
  identify (req: FastifyRequest): string | null {
    const probe = new HttpSession(0, req.ip)
    this.authenticate(probe, req.headers.authorization)
    const user = this.manager.ctx.auth.userOf(probe)
    if (user === null && this.manager.ctx.auth.required) throw brokerError('AUTH_REQUIRED', { usage: 'HTTP Basic credentials' })
    return user
  }

  /** The manager behind the routes (the dashboard and /metrics read its store and stats). */
  get broker (): Manager {
    return this.manager
  }

  /** `Authorization: Basic` → the session's user; scrypt runs only when the header is not in the cache. */
  private authenticate (session: HttpSession, header: string | undefined): void {
    if (header === undefined) return
    const now = this.manager.ctx.clock.now()
    const auth = this.manager.ctx.auth
    const cached = this.credentials.get(header, now)
    if (cached !== null) {
      auth.assume(session, cached)
      return
    }
    const creds = parseBasic(header)
    if (creds === null) {
      auth.failures++
      throw brokerError('AUTH_FAILED')
    }
    const user = auth.login(session, creds.user, creds.password, now)
    this.credentials.remember(header, user, now)
  }

  private upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    if ((req.url ?? '').split('?')[0] !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    let user: string | null = null
    const header = req.headers.authorization
    if (header !== undefined) {
      const probe = new HttpSession(0, socket.remoteAddress)
      try {
        this.authenticate(probe, header)
        user = this.manager.ctx.auth.userOf(probe)
      } catch (err) {
        const e = err instanceof BrokerError ? err : new BrokerError('INTERNAL', 'internal error')
        const body = JSON.stringify({ error: { code: e.code, message: e.message } })
        socket.end(`HTTP/1.1 ${HTTP_STATUS[e.code]} ${e.code}\r\nConnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
        return
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = new WsLineStream(ws, socket.remoteAddress)
      const conn = this.tcp.accept(stream as unknown as Socket)
      if (conn !== null && user !== null) this.manager.ctx.auth.assume(conn, user)
    })
  }

  private send (reply: FastifyReply, value: unknown): void {
    reply.type('application/json').send(JSON.stringify(value))
  }

  sendError (reply: FastifyReply, err: BrokerError): void {
    // A browser asks for credentials on a 401 that names the scheme (the dashboard's login prompt).
    if (err.code === 'AUTH_REQUIRED' || err.code === 'AUTH_FAILED') reply.header('www-authenticate', 'Basic realm="ackline", charset="UTF-8"')
    reply.status(HTTP_STATUS[err.code]).type('application/json').send(JSON.stringify({ error: { code: err.code, message: err.message } }))
  }
}

/** A request body that must be one JSON object; its fields, for a command's typed path. */
function jsonObject (text: string): Record<string, unknown> {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw brokerError('BAD_JSON', { where: ': the request body must be a JSON object' })
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw brokerError('BAD_ARGS.fieldType', { field: 'body', type: 'a JSON object' })
  return body as Record<string, unknown>
}

function bodyText (req: FastifyRequest): string {
  return typeof req.body === 'string' ? req.body : ''
}

function firstNonBlank (s: string): number {
  let i = 0
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x0a || s.charCodeAt(i) === 0x0d || s.charCodeAt(i) === 0x09)) i++
  return i
}

function publishResult (line: string): PublishResult {
  const m = PUB_OK.exec(line)
  if (m !== null) return { id: m[1], topic: m[2], subscribers: Number(m[3]) }
  const d = PUB_DUPLICATE.exec(line)
  if (d === null) throw new BrokerError('INTERNAL', 'internal error')
  return { id: d[1], topic: d[2], subscribers: 0, duplicate: true }
}

function okBody (line: string): string {
  return line.slice(3)
}

function errFromLine (line: string): BrokerError {
  const space = line.indexOf(' ', 4)
  return new BrokerError(line.slice(4, space) as ErrorCode, line.slice(space + 1))
}
