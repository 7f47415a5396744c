import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startTestBroker, type TestBroker } from '../helpers/broker'
import { testHash } from '../helpers/auth'

/**
 * The dashboard in headless Chromium (Debian's, with playwright-core)
 * against a real broker: live updates, the publish form, requeue from a
 * dead-letter topic, and the Basic auth prompt. With ACKLINE_SCREENSHOTS=1
 * it also refreshes docs/images/dashboard-*.png.
 */
const SCREENSHOTS = process.env.ACKLINE_SCREENSHOTS === '1'
const IMAGES = join(__dirname, '..', '..', 'docs', 'images')

let browser: Browser
t.before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})
t.teardown(() => browser.close())

function base (tb: TestBroker): string {
  return `http://127.0.0.1:${tb.broker.httpAddress!.port}/`
}

/** Script errors of each page opened by `open`. */
const pageErrors = new WeakMap<Page, string[]>()

/** A page of the dashboard in a fresh browser context (closed at the test's end), once its live feed is connected. */
async function open (t: { teardown: (fn: () => unknown) => void }, tb: TestBroker, hash = '', credentials?: { username: string, password: string }): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...(credentials === undefined ? {} : { httpCredentials: credentials }) })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const errors: string[] = []
  pageErrors.set(page, errors)
  page.on('pageerror', e => errors.push(e.message))
  await page.goto(base(tb) + hash)
  await page.getByTestId('live').getByText('live').waitFor({ timeout: 5000 })
  return page
}

/** The text of a card's value. */
async function card (page: Page, id: string): Promise<string> {
  return (await page.getByTestId('card-' + id).locator('.value').textContent()) ?? ''
}

t.test('a topic created over TCP appears within 2 s; filter and sort', async t => {
  const tb = await startTestBroker(t)
  const page = await open(t, tb)
  t.equal(await page.getByTestId('topic-row').count(), 0, 'no topics yet')
  const tcp = await tb.client()
  const before = Date.now()
  t.match(await tcp.request('pub orders {"msg":"first"}'), /^OK 1 published to orders/)
  await page.locator('[data-testid="topic-row"][data-topic="orders"]').waitFor({ timeout: 2000 })
  t.ok(Date.now() - before <= 2000, `seen after ${Date.now() - before} ms`)
  await tcp.request('pub billing {"msg":"a"}')
  await tcp.request('pub billing {"msg":"b"}')
  await tcp.request('sub billing')
  await tcp.request('pub billing {"msg":"c"}')
  await page.locator('[data-topic="billing"] [data-col="lastOffset"]').getByText('3').waitFor({ timeout: 2000 })
  t.equal(await card(page, 'topics'), '2')
  const names = async (): Promise<string[]> => await page.getByTestId('topic-row').evaluateAll(rows => rows.map(r => r.getAttribute('data-topic') ?? ''))
  t.same(await names(), ['billing', 'orders'], 'sorted by name')
  await page.locator('th[data-sort="lastOffset"]').click()
  t.same(await names(), ['billing', 'orders'], 'by last offset, highest first')
  await page.locator('th[data-sort="lastOffset"]').click()
  t.same(await names(), ['orders', 'billing'], 'then lowest first')
  await page.getByTestId('topic-filter').fill('ord')
  t.same(await names(), ['orders'], 'filtered')
  t.same(pageErrors.get(page), [], 'no script errors')
})

t.test('create and delete topics from the table, each after a confirmation', async t => {
  const tb = await startTestBroker(t)
  const page = await open(t, tb)
  await page.getByTestId('create-name').fill('invoices')
  await page.getByTestId('create-topic').click()
  t.equal(await page.getByTestId('confirm-text').textContent(), 'Create topic invoices?')
  await page.getByText('Cancel').click()
  t.equal(tb.broker.store.topic('invoices'), undefined, 'cancelled: nothing created')
  await page.getByTestId('create-topic').click()
  await page.getByTestId('confirm-yes').click()
  await page.getByTestId('message').getByText('created invoices', { exact: false }).waitFor()
  await page.locator('[data-topic="invoices"]').waitFor({ timeout: 2000 })
  t.ok(tb.broker.store.topic('invoices') !== undefined, 'created in the broker')
  const tcp = await tb.client()
  t.match(await tcp.request('create invoices'), /^ERR TOPIC_EXISTS/)
  await page.getByTestId('create-name').fill('invoices')
  await page.getByTestId('create-topic').click()
  await page.getByTestId('confirm-yes').click()
  await page.getByTestId('message').getByText('TOPIC_EXISTS', { exact: false }).waitFor()
  t.pass('an error from the command is shown')
  await page.locator('[data-topic="invoices"] [data-testid="delete-topic"]').click()
  t.match(await page.getByTestId('confirm-text').textContent(), /^Delete topic invoices and every event/)
  await page.getByTestId('confirm-yes').click()
  await page.locator('[data-topic="invoices"]').waitFor({ state: 'detached', timeout: 2000 })
  t.equal(tb.broker.store.topic('invoices'), undefined, 'deleted in the broker')
  t.same(pageErrors.get(page), [], 'no script errors')
})

t.test('publish from the form on the topic page; the counters move', async t => {
  const tb = await startTestBroker(t)
  const tcp = await tb.client()
  await tcp.request('pub news {"msg":"create"}')
  await tcp.request('name reader')
  await tcp.request('sub news 5')
  const page = await open(t, tb, '#/topic/news')
  await page.getByTestId('topic-title').getByText('news').waitFor()
  t.equal(await card(page, 't-last'), '1')
  await page.getByTestId('subscriber-row').getByText('reader').waitFor()
  await page.getByTestId('publish-json').fill('{"id":"web-1","msg":"from the dashboard",  "n": 1.50}')
  await page.getByTestId('publish-send').click()
  await page.getByTestId('publish-result').getByText('published web-1 (1 subscriber)').waitFor()
  t.equal(await tcp.next(), 'EVENT news {"priority":0,"id":"web-1","msg":"from the dashboard",  "n": 1.50,"timestamp":' + /"timestamp":(\d+)/.exec(tcp.lines[tcp.lines.length - 1])![1] + ',"offset":2}', 'byte for byte, to the TCP subscriber')
  await page.getByTestId('card-t-last').getByText('2').waitFor({ timeout: 2000 })
  await page.getByTestId('card-t-inflight').getByText('1').waitFor({ timeout: 2000 })
  t.pass('last offset and in flight moved without a reload')
  await page.getByTestId('peek-refresh').click()
  await page.getByTestId('peek-row').getByText('"n": 1.50').waitFor()
  t.pass('the peek shows the event as sent')
  t.match(JSON.parse((await tcp.request('stats news')).slice(3)), { inFlight: 1 }, 'the peek changed no ack state')
  if (SCREENSHOTS) {
    const other = await tb.client()
    for (let i = 0; i < 5; i++) await other.request(`pub news {"msg":"${i}"}`)
    await page.waitForTimeout(1500)
    mkdirSync(IMAGES, { recursive: true })
    await page.screenshot({ path: join(IMAGES, 'dashboard-topic.png'), fullPage: true })
  }
  await page.goto(base(tb) + '#/')
  const published = Number(await card(page, 'published'))
  t.equal(published, SCREENSHOTS ? 7 : 2, 'the create, the form\'s event (and the screenshot\'s)')
  t.equal(await card(page, 'connections'), SCREENSHOTS ? '2' : '1', 'the TCP subscriber (and the screenshot\'s publisher)')
  t.same(pageErrors.get(page), [], 'no script errors')
})

t.test('requeue from a dead-letter topic, one and then all', async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 1 })
  const w = await tb.client()
  await w.request('pub jobs {"msg":"create"}')
  await w.request('sub jobs')
  for (const id of ['j1', 'j2', 'j3']) {
    await w.request(`pub jobs {"id":"${id}","msg":"${id}"}`)
    await w.event()
    t.match(await w.request(`nack jobs ${id}`), /moved to jobs\.dlq/)
  }
  const page = await open(t, tb, '#/topic/jobs.dlq')
  await page.getByTestId('peek-row').first().waitFor()
  t.equal(await page.getByTestId('peek-row').count(), 3)
  await page.getByTestId('requeue-one').nth(1).click()
  t.match(await page.getByTestId('confirm-text').textContent(), /Requeue dead letter 2/)
  await page.getByTestId('confirm-yes').click()
  await page.getByTestId('message').getByText('requeued dead letter 2 from jobs.dlq to jobs (2 left)').waitFor()
  t.match((await w.event()).event, { id: 'j2', msg: 'j2' }, 'back on jobs with its original id')
  await page.getByTestId('peek-row').nth(2).waitFor({ state: 'detached' })
  await page.getByTestId('requeue-all').click()
  await page.getByTestId('confirm-yes').click()
  await page.getByTestId('message').getByText('requeued 2 dead letters from jobs.dlq to jobs (0 left)').waitFor()
  t.same([(await w.event()).event.id, (await w.event()).event.id], ['j1', 'j3'])
  await page.getByTestId('peek-empty').waitFor()
  await page.goto(base(tb) + '#/')
  await page.locator('[data-topic="jobs"] [data-col="dlq"]').getByText('0').waitFor({ timeout: 2000 })
  t.pass('the topics table shows the emptied dead-letter queue')
  t.same(pageErrors.get(page), [], 'no script errors')
})

t.test('with auth.required the browser is asked for credentials, and a user sees only its topics', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['orders.*'], subscribe: ['orders.*'] },
    bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
  }
  const tb = await startTestBroker(t, { auth: { required: true, users } })
  const bob = await tb.client()
  t.equal(await bob.request('auth bob bob-pw'), 'OK authenticated as bob')
  for (const topic of ['orders.eu', 'payroll', '~bob.diary']) t.match(await bob.request(`pub ${topic} {"msg":1}`), /^OK /)

  const context = await browser.newContext()
  t.teardown(() => context.close())
  const res = await context.request.get(base(tb))
  t.equal(res.status(), 401, 'no credentials: 401')
  t.equal(res.headers()['www-authenticate'], 'Basic realm="ackline", charset="UTF-8"', 'which makes a browser show its login prompt')
  const anon = await context.newPage()
  await t.rejects(anon.goto(base(tb)), /ERR_INVALID_AUTH_CREDENTIALS/, 'headless Chromium has no one to ask: the prompt is cancelled')
  const wrong = await browser.newContext({ httpCredentials: { username: 'alice', password: 'nope' } })
  t.teardown(() => wrong.close())
  t.equal((await wrong.request.get(base(tb))).status(), 401, 'a wrong password is refused')
  t.equal((await (await wrong.newPage()).goto(base(tb)))?.status(), 401, 'the page gets the 401, not the dashboard')

  const page = await open(t, tb, '', { username: 'alice', password: 'alice-pw' })
  await page.getByTestId('user').getByText('alice').waitFor()
  await page.locator('[data-topic="orders.eu"]').waitFor()
  t.same(await page.getByTestId('topic-row').evaluateAll(rows => rows.map(r => r.getAttribute('data-topic'))), ['orders.eu'], 'payroll and bob\'s private topic stay invisible')
  await page.goto(base(tb) + '#/topic/~bob.diary')
  await page.getByTestId('no-topic').waitFor()
  t.pass('a private topic page shows nothing')
  const peek = await page.evaluate(async () => (await fetch('/api/topics/~bob.diary/peek')).status)
  t.equal(peek, 404, 'its peek answers as for a missing topic')

  const bobPage = await open(t, tb, '', { username: 'bob', password: 'bob-pw' })
  await bobPage.locator('[data-topic="~bob.diary"]').waitFor()
  t.equal(await bobPage.getByTestId('topic-row').count(), 3, 'bob sees all three')
  t.same(pageErrors.get(page), [], 'no script errors')
})

t.test('screenshot of the overview (ACKLINE_SCREENSHOTS=1)', { skip: !SCREENSHOTS }, async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 1 })
  const p = await tb.client()
  const s = await tb.client()
  for (const topic of ['orders', 'invoices', 'emails', 'audit']) await p.request(`pub ${topic} {"msg":"create"}`)
  await s.request('name billing')
  await s.request('sub orders 20')
  await s.request('sub invoices 5')
  const page = await open(t, tb)
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 40; i++) p.send(`pub orders {"msg":"order ${round}-${i}"}`, `pub invoices {"msg":"invoice ${i}"}`)
    while (s.lines.length > 0) {
      const line = s.lines.shift()!
      const m = /^EVENT (\S+) \{"id":(\d+)/.exec(line)
      if (m !== null && Number(m[2]) % 7 !== 0) s.send(`ack ${m[1]} ${m[2]}`)
      else if (m !== null) s.send(`nack ${m[1]} ${m[2]}`)
    }
    await page.waitForTimeout(500)
  }
  mkdirSync(IMAGES, { recursive: true })
  await page.screenshot({ path: join(IMAGES, 'dashboard-overview.png'), fullPage: true })
  t.pass('saved')
})
