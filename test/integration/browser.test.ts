import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { chromium } from 'playwright-core'
import { startTestBroker } from '../helpers/broker'

/**
 * A browser can do what telnet can: headless Chromium (Debian's, with
 * playwright-core) opens a page that subscribes over the browser's own
 * WebSocket, receives an event published over TCP, and acks it.
 */
const PAGE = `<!doctype html><meta charset="utf-8"><title>ackline</title><script>
window.frames_ = []
window.connect = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url)
  window.ws = ws
  ws.onmessage = (m) => window.frames_.push(m.data)
  ws.onopen = () => resolve()
  ws.onerror = () => reject(new Error('websocket error'))
})
window.nextFrame = (n) => new Promise((resolve) => {
  const poll = () => window.frames_.length > n ? resolve(window.frames_[n]) : setTimeout(poll, 10)
  poll()
})
</script>`

t.test('headless Chromium subscribes over WebSocket, receives an event published over TCP and acks it', async t => {
  const tb = await startTestBroker(t)
  const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE))
  await new Promise<void>(resolve => site.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { site.close() })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`)
  const tcp = await tb.client()
  await tcp.request('pub orders {"msg":"create"}')
  await page.evaluate(async (url) => {
    const w = globalThis as unknown as { connect: (u: string) => Promise<void>, ws: WebSocket }
    await w.connect(url)
    w.ws.send('sub orders 5')
  }, `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`)
  const next = (n: number): Promise<string> => page.evaluate((i) => (globalThis as unknown as { nextFrame: (i: number) => Promise<string> }).nextFrame(i), n)
  t.match(await next(0), /^OK subscribed to orders/)
  t.equal(await tcp.request('pub orders {"id":"b-1","msg":"from tcp"}'), 'OK b-1 published to orders (1 subscriber)')
  t.match(await next(1), /^EVENT orders \{"priority":0,"id":"b-1","msg":"from tcp",/)
  await page.evaluate(() => (globalThis as unknown as { ws: WebSocket }).ws.send('ack orders b-1'))
  t.equal(await next(2), 'OK acked b-1 on orders')
  const stats = JSON.parse((await tcp.request('stats orders')).slice(3))
  t.match(stats, { topic: 'orders', subscriptions: 1, pending: 0, inFlight: 0 }, 'the ack reached the broker: nothing pending or in flight')
})
