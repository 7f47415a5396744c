/**
 * kill -9 of the real broker (dist/cli.js) at the moment a segment rolls and
 * at the moment a state log compaction is writing its snapshot: no confirmed
 * event is lost, no confirmed ack is undone, and once recovered every file
 * of the log dir parses.
 */
import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { LineClient, tempDir } from '../helpers/broker'
import { runCli } from '../helpers/cli'

const N = 20000

/** Every file under `dir` that the broker writes must parse: JSON files whole, JSON Lines line by line. */
function checkFilesParse (t: { fail: (m: string) => void }, dir: string): number {
  let n = 0
  for (const f of readdirSync(dir)) {
    const path = join(dir, f)
    if (statSync(path).isDirectory()) { n += checkFilesParse(t, path); continue }
    if (f === 'ackline.lock' || f.includes('.damaged-')) continue
    const text = readFileSync(path, 'utf8')
    if (f.endsWith('.jsonl') || f.endsWith('.ndjson')) {
      const bad = text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1)).filter(l => { try { JSON.parse(l); return false } catch { return true } })
      if (bad.length > 0) t.fail(`${path}: ${bad.length} lines do not parse, e.g. ${bad[0].slice(0, 80)}`)
      if (text.length > 0 && !text.endsWith('\n')) t.fail(`${path} does not end with a newline`)
    } else if (f.endsWith('.json')) {
      try { JSON.parse(text) } catch { t.fail(`${path} does not parse`) }
    } else {
      t.fail(`unexpected file ${path}`)
    }
    n++
  }
  return n
}

type Moment = 'roll' | 'compaction'

for (const moment of ['roll', 'compaction'] as Moment[]) {
  t.test(`kill -9 during a ${moment === 'roll' ? 'segment roll' : 'state log compaction'}: confirmed pubs survive, confirmed acks stay acked, every file parses`, async t => {
    const dir = tempDir()
    const cfg = join(dir, 'config.json')
    const logDir = join(dir, 'logs')
    // Small segments roll every few dozen events; a tiny compaction threshold compacts at almost every batch.
    writeFileSync(cfg, JSON.stringify({ batchIntervalMs: 30, segmentBytes: 16384, stateCompactMinBytes: 1024, eventCacheBytes: 65536 }))
    const first = runCli(['start', '--port', '0', '--log-dir', logDir, '--config', cfg])
    const port = await first.listening

    const pub = await LineClient.connect(port)
    const sub = await LineClient.connect(port)
    t.equal(await pub.request('pub crash {"msg":"create"}'), 'OK 1 published to crash (0 subscribers)')
    t.equal(await sub.request('name survivor'), 'OK named survivor')
    t.equal(await sub.request('sub crash 1000'), 'OK subscribed to crash (max in flight 1000)')

    const pubOk = new Set<string>()
    const ackOk = new Set<string>()
    const ackSent = new Set<string>()
    let delivered = 0
    // Three of every four events are acked: the subscription's runs stay many, so snapshots take several slices.
    sub.socket.on('data', () => {
      while (sub.lines.length > 0) {
        const line = sub.lines.shift()!
        if (line.startsWith('EVENT ')) {
          const id = String(JSON.parse(line.slice('EVENT crash '.length)).id)
          if (delivered++ % 4 !== 3) { ackSent.add(id); sub.send(`ack crash ${id}`) }
        } else {
          const m = /^OK acked (\S+) on crash$/.exec(line)
          if (m !== null) ackOk.add(m[1])
        }
      }
    })
    pub.socket.on('data', () => {
      while (pub.lines.length > 0) {
        const m = /^OK (\S+) published to crash/.exec(pub.lines.shift()!)
        if (m !== null) pubOk.add(m[1])
      }
    })
    const topicDir = join(logDir, 'topics', 'crash')
    const lines: string[] = []
    for (let i = 0; i < N; i++) lines.push(`pub crash {"id":"e${i}","priority":${(i * 7) % 10},"msg":${i}}`)
    pub.send(...lines)

    // Kill the moment the file of the moment appears, once a good part of the load is confirmed.
    let watcher: FSWatcher | null = null
    const caught = await new Promise<string>(resolve => {
      const deadline = setTimeout(() => resolve('none'), 30000)
      const arm = (): void => {
        if (!existsSync(topicDir) || pubOk.size < 2000) { setTimeout(arm, 5); return }
        watcher = watch(topicDir, (_event, name) => {
          const f = String(name)
          const hit = moment === 'roll' ? /^\d{20}\.jsonl$/.test(f) && f !== '00000000000000000001.jsonl' : /^snapshot-\d+\.jsonl\.tmp$/.test(f)
          if (!hit) return
          first.child.kill('SIGKILL')
          clearTimeout(deadline)
          resolve(f)
        })
      }
      arm()
    })
    ;(watcher as FSWatcher | null)?.close()
    if (caught === 'none') first.child.kill('SIGKILL')
    await first.exited
    pub.destroy()
    sub.destroy()
    t.not(caught, 'none', `killed as ${caught} appeared, after ${pubOk.size} pubs and ${ackOk.size} acks were confirmed`)

    const second = runCli(['start', '--port', '0', '--log-dir', logDir, '--config', cfg])
    const port2 = await second.listening
    const again = await LineClient.connect(port2)
    t.equal(await again.request('name survivor'), 'OK named survivor')
    t.match(await again.request('sub crash 1000'), /^OK subscribed to crash \(max in flight 1000, resumed with \d+ pending\)$/)
    const back = new Set<string>()
    for (;;) {
      let line: string
      try {
        line = await again.next(1500)
      } catch {
        break // quiet: everything pending was delivered
      }
      if (!line.startsWith('EVENT ')) continue
      const ev = JSON.parse(line.slice('EVENT crash '.length)) as { id: string }
      back.add(ev.id)
      again.send(`ack crash ${ev.id}`)
    }
    const lost = [...pubOk].filter(id => id !== '1' && !ackSent.has(id) && !back.has(id))
    const resurrected = [...ackOk].filter(id => back.has(id))
    t.same(lost, [], `every confirmed, unacked event came back (${pubOk.size} confirmed, ${ackOk.size} acks confirmed, ${back.size} back)`)
    t.same(resurrected, [], 'no event whose ack was confirmed came back')
    t.ok([...back].every(id => /^e\d+$/.test(id)), 'only published events come back')
    again.destroy()
    second.child.kill('SIGTERM')
    t.equal(await second.exited, 0)
    const files = checkFilesParse(t, logDir)
    t.ok(files > 3, `every one of the ${files} files parses`)
    t.ok(readdirSync(topicDir).filter(f => f.endsWith('.jsonl') && /^\d{20}/.test(f)).length > 1, 'the topic rolled into several segments')
  })
}
