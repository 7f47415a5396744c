import t from 'tap'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker } from '../../src/broker'
import { LineClient, startTestBroker, tempDir } from '../helpers/broker'

/** A real full disk: a tiny tmpfs (needs root, as on CI and the dev machines). */
function tinyDisk (): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'ackline-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' })
    return dir
  } catch {
    return null
  }
}

const disk = process.getuid?.() === 0 ? tinyDisk() : null

t.test('full disk: a clear error, the broker keeps serving, and nothing confirmed is lost', { skip: disk === null ? 'mounting a tmpfs needs root' : false }, async t => {
  const dir = disk!
  t.teardown(() => { try { execFileSync('umount', ['-l', dir]) } catch { /* already gone */ } })
  const broker = await startBroker({ overrides: { port: 0, http: null, logDir: dir, batchIntervalMs: 3600000 } })
  const port = broker.address!.port
  const keeper = await LineClient.connect(port)
  const p = await LineClient.connect(port)
  const other = await LineClient.connect(port)
  await p.request('pub big {"msg":"create"}')
  await keeper.request('name keeper')
  await keeper.request('sub big 1')
  const confirmed: string[] = []
  const payload = 'z'.repeat(8000)
  let failure = ''
  for (let i = 0; i < 200 && !p.closed; i++) {
    p.send(`pub big {"id":"e${i}","msg":"${payload}"}`)
    let line: string
    try {
      line = await p.reply()
    } catch {
      break
    }
    if (line.startsWith('OK ')) confirmed.push(`e${i}`)
    else { failure = line; break }
  }
  t.match(failure, /^ERR STORAGE_FAILED journal write failed \(ENOSPC\); commands since your last OK may not be stored$/, 'the disk filled up: a clear error')
  t.ok(confirmed.length > 5, `${confirmed.length} pubs were confirmed before the disk filled`)
  await p.closedByPeer()
  t.equal(await other.request('ping'), 'OK PONG', 'the broker keeps serving other clients')

  // What is on the disk now is what a crash would leave: copy it and recover from the copy.
  const copy = tempDir()
  for (const f of readdirSync(dir)) if (f !== 'ackline.lock') cpSync(join(dir, f), join(copy, f), { recursive: true })
  keeper.destroy()
  other.destroy()
  await broker.stop()

  const tb = await startTestBroker(t, { logDir: copy })
  const again = await tb.client()
  await again.request('name keeper')
  t.match(await again.request('sub big 1000'), /^OK subscribed to big/)
  const back = new Set<string>()
  for (;;) {
    let line: string
    try { line = await again.next(500) } catch { break }
    if (line.startsWith('EVENT ')) back.add(String(JSON.parse(line.slice('EVENT big '.length)).id))
  }
  t.same(confirmed.filter(id => !back.has(id)), [], 'every confirmed pub is back after recovery')
})
