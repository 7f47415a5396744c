import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https'
import type { Clock } from '../clock'
import { checkAddress, literalAddress, type LookupFunction } from './addressPolicy'
import type { SignatureHeaders } from './signature'

/** How one POST ended. */
export type AttemptResult =
  | { ok: true, status: number }
  | {
    ok: false
    /** What went wrong: an HTTP answer other than 2xx, no answer in time, a network error, or an address the policy refuses. */
    kind: 'status' | 'timeout' | 'network' | 'address'
    /** The HTTP status, for kind `status`. */
    status: number | null
    /** The `Retry-After` header as sent, if any. */
    retryAfter: string | undefined
    /** A short description for the webhook's state (`HTTP 500 Internal Server Error`, `ECONNREFUSED ...`). */
    error: string
  }

/** What one POST needs. */
export interface AttemptRequest {
  url: URL
  agent: HttpAgent | HttpsAgent
  lookup: LookupFunction
  allowPrivate: boolean
  body: Buffer
  headers: SignatureHeaders
  timeoutMs: number
  clock: Clock
}

const USER_AGENT = 'Ackline-Webhooks/1'

/** Printable text from a remote peer, cut short: it goes into logs and the API's state. */
function cleanText (s: string, max = 100): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '?')
  return clean.length > max ? clean.slice(0, max) + '...' : clean
}

/**
 * POSTs `body` once and reports how it ended; never rejects. The outcome is
 * decided by the status line (2xx or not); the response body is read and
 * discarded so the keep-alive connection can be reused. `timeoutMs` (on the
 * injected clock) covers connecting, sending and the response headers, and
 * then bounds the time the body may take before the socket is dropped. A
 * literal address in the URL is checked here (node:net calls `lookup` only
 * for names), so a refused address is never connected to.
 */
export async function attemptDelivery (a: AttemptRequest): Promise<AttemptResult> {
  const literal = literalAddress(a.url)
  if (literal !== null) {
    const refused = checkAddress(literal, literal, a.allowPrivate)
    if (refused !== null) return { ok: false, kind: 'address', status: null, retryAfter: undefined, error: refused.message }
  }
  return await new Promise<AttemptResult>(resolve => {
    let settled = false
    const settle = (r: AttemptResult): void => {
      if (settled) return
      settled = true
      resolve(r)
    }
    const send = a.url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(a.url, {
      method: 'POST',
      agent: a.agent,
      lookup: a.lookup,
      headers: {
        'content-type': 'application/json',
        'content-length': a.body.length,
        'user-agent': USER_AGENT,
        ...a.headers,
      },
    })
    const timer = a.clock.after(a.timeoutMs, () => {
      settle({ ok: false, kind: 'timeout', status: null, retryAfter: undefined, error: `no response within ${a.timeoutMs} ms (webhooks.timeoutMs)` })
      req.destroy()
    })
    const finish = (): void => timer.cancel()
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode as number // always set on a client's response
      if (status >= 200 && status < 300) {
        settle({ ok: true, status })
      } else {
        const retryAfter = res.headers['retry-after']
        const reason = res.statusMessage !== undefined && res.statusMessage !== '' ? ' ' + cleanText(res.statusMessage) : ''
        settle({ ok: false, kind: 'status', status, retryAfter, error: `HTTP ${status}${reason}` })
      }
      res.on('end', finish)
      res.on('close', finish)
      res.on('error', finish)
      res.resume()
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish()
      if (err.code === 'ERR_WEBHOOK_ADDRESS') {
        settle({ ok: false, kind: 'address', status: null, retryAfter: undefined, error: err.message })
      } else {
        settle({ ok: false, kind: 'network', status: null, retryAfter: undefined, error: cleanText(`${err.code ?? 'error'}: ${err.message}`, 200) })
      }
    })
    req.end(a.body)
  })
}
