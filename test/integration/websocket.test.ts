import t from 'tap'
import WebSocket from 'ws'
import { startTestBroker, waitFor, type TestBroker } from '../helpers/broker'
import { startLoggedBroker, testHash } from '../helpers/auth'

/** The line protocol over real WebSocket connections (the ws client) to `GET /ws`. */

/** A WebSocket client that records every text frame. */
class WsClient {
  readonly frames: string[] = []
  private waiters: Array<() => void> = []
  closeCode: number | null = null
  constructor (readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(data.toString())
      for (const w of this.waiters.splice(0)) w()
    })
    ws.on('close', (code) => {
      this.closeCode = code
      for (const w of this.waiters.splice(0)) w()
    })
  }

  static open (url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers })
      const c = new WsClient(ws)
      ws.once('open', () => resolve(c))
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d.toString() })
        res.on('end', () => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode, body })))
      })
    })
  }

  /** The next frame not yet taken. */
  private taken = 0
  async next (waitMs = 5000): Promise<string> {
    const deadline = Date.now() + waitMs
    while (this.taken >= this.frames.length) {
      if (this.closeCode !== null) throw new Error(`closed ${this.closeCode}; frames: ${JSON.stringify(this.frames.slice(-3))}`)
      if (Date.now() > deadline) throw new Error(`no frame within ${waitMs} ms; frames: ${JSON.stringify(this.frames.slice(-3))}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, deadline - Date.now())
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.frames[this.taken++]
  }

  async request (text: string): Promise<string> {
    this.ws.send(text)
    return this.next()
  }

  async closed (waitMs = 5000): Promise<number> {
    const deadline = Date.now() + waitMs
    while (this.closeCode === null) {
      if (Date.now() > deadline) throw new Error('not closed')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    return this.closeCode
  }
}

/** The HTTP response that refused an upgrade. */
async function refusal (p: Promise<WsClient>): Promise<{ status: number, body: string }> {
  const c = await p.catch((err: { status: number, body: string }) => err)
  if (c instanceof WsClient) throw new Error('the upgrade was accepted')
  return c
}

function wsUrl (tb: { broker: TestBroker['broker'] }): string {
  return `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`
}

async function open (t: { teardown: (fn: () => unknown) => void }, url: string, headers?: Record<string, string>): Promise<WsClient> {
  const c = await WsClient.open(url, headers)
  t.teardown(() => c.ws.terminate())
  return c
}

t.test('each frame carries command lines; each reply and EVENT comes back as its own frame', async t => {
  const tb = await startTestBroker(t)
  const c = await open(t, wsUrl(tb))
  t.equal(await c.request('ping'), 'OK PONG', 'a frame without a newline is one line')
  c.ws.send('pub orders {"msg":"create"}\nsub orders 5\n')
  t.equal(await c.next(), 'OK 1 published to orders (0 subscribers)')
  t.match(await c.next(), /^OK subscribed to orders/)
  const tcp = await tb.client()
  t.equal(await tcp.request('pub orders {"id":"e1","msg":"héllo"}'), 'OK e1 published to orders (1 subscriber)')
  t.match(await c.next(), /^EVENT orders \{"priority":0,"id":"e1","msg":"héllo",/, 'an event published over TCP arrives as a frame')
  t.equal(await c.request('ack orders e1'), 'OK acked e1 on orders')
  t.match(await c.request('bogus'), /^ERR UNKNOWN_COMMAND /)
  t.equal(await c.request('ping'), 'OK PONG', 'the connection stays usable')
  t.equal(tb.broker.server.connections.size, 2, 'a WebSocket is a connection like a TCP one')
  c.ws.send('quit')
  t.match(await c.next(), /^OK /)
  t.equal(await c.closed(), 1000, 'quit closes the WebSocket normally')
})

t.test('limits: maxLineBytes per line, maxFrameBytes per frame; other paths do not upgrade', async t => {
  const tb = await startTestBroker(t, { maxLineBytes: 1024, http: { port: 0, maxFrameBytes: 4096 } })
  const c = await open(t, wsUrl(tb))
  t.match(await c.request(`pub x {"msg":"${'y'.repeat(2000)}"}`), /^ERR LINE_TOO_LONG /)
  t.equal(await c.request('ping'), 'OK PONG')
  c.ws.send('ping\n'.repeat(1000)) // 5000 bytes
  t.equal(await c.closed(), 1009, 'a frame past maxFrameBytes closes with 1009 (message too big)')
  const other = await refusal(WsClient.open(`ws://127.0.0.1:${tb.broker.httpAddress!.port}/other`))
  t.equal(other.status, 404, 'only /ws upgrades')
})

const users = { alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['orders.*'] } }

t.test('auth: the auth command, or HTTP Basic on the upgrade', async t => {
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const url = `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`
  const anon = await open(t, url)
  t.match(await anon.request('pub orders.eu {"msg":1}'), /^ERR AUTH_REQUIRED /)
  t.equal(await anon.request('auth alice alice-pw'), 'OK authenticated as alice')
  t.match(await anon.request('pub orders.eu {"msg":1}'), /^OK 1 published/)
  const basic = { authorization: 'Basic ' + Buffer.from('alice:alice-pw').toString('base64') }
  const viaHeader = await open(t, url, basic)
  t.match(await viaHeader.request('pub orders.eu {"msg":2}'), /^OK 2 published/)
  t.match(await viaHeader.request('pub news {"msg":2}'), /^ERR FORBIDDEN /)
  const bad = { authorization: 'Basic ' + Buffer.from('alice:wrong').toString('base64') }
  const refused = await refusal(WsClient.open(url, bad))
  t.equal(refused.status, 401, 'a wrong password refuses the upgrade')
  t.same(JSON.parse(refused.body), { error: { code: 'AUTH_FAILED', message: 'wrong user or password' } })
})

t.test('a WebSocket client that stops reading is paused, then dropped after drainTimeoutMs', async t => {
  const tb = await startTestBroker(t, { drainTimeoutMs: 300, flushBytes: 16384, maxQueuedLines: 1000 })
  const c = await open(t, wsUrl(tb))
  t.equal(await c.request('ping'), 'OK PONG')
  const conn = [...tb.broker.server.connections][0]
  const raw = (c.ws as unknown as { _socket: import('node:net').Socket })._socket
  raw.pause() // stop reading: the broker's frames pile up in the kernel, then in the broker
  let maxOutbound = 0
  for (let i = 0; i < 200 && tb.broker.server.connections.size > 0; i++) {
    c.ws.send('help\n'.repeat(2000))
    await new Promise(resolve => setTimeout(resolve, 5))
    maxOutbound = Math.max(maxOutbound, conn.outboundBytes)
  }
  await waitFor(() => tb.broker.server.connections.size === 0, 'the stalled WebSocket is dropped')
  t.ok(maxOutbound < 4 * 1024 * 1024, `broker-side output stayed bounded (max ${maxOutbound} bytes)`)
})
