import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestBroker } from '../helpers/broker'

/** A documented key: its name, and the names quoted in its meaning (where nested keys are listed). */
interface DocRow { key: string, meaningNames: string[] }

/** The Key | Meaning tables of the `### stats` section of docs/protocol.md, in order; `a`, `b` rows give one row per name. */
function statsTables (): DocRow[][] {
  const text = readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8')
  const start = text.indexOf('\n### stats\n')
  const end = text.indexOf('\n#', start + 1)
  const tables: DocRow[][] = []
  let current: DocRow[] | null = null
  for (const line of text.slice(start, end).split('\n')) {
    if (!line.startsWith('|')) { current = null; continue }
    const cells = line.split('|').slice(1, -1).map(c => c.trim())
    if (cells[0] === 'Key' || /^-+$/.test(cells[0])) {
      if (current === null) { current = []; tables.push(current) }
      continue
    }
    const names = (s: string): string[] => [...s.matchAll(/`([^`]+)`/g)].map(m => m[1])
    for (const key of names(cells[0])) current!.push({ key, meaningNames: names(cells[1]) })
  }
  return tables
}

function parseOk (line: string): Record<string, any> {
  if (!line.startsWith('OK {')) throw new Error(`expected OK {json}, got ${line}`)
  return JSON.parse(line.slice(3)) as Record<string, any>
}

/** Keys of nested objects (`rates.published`, ...) that the row of their parent key does not name. */
function undocumentedNested (reply: Record<string, any>, rows: DocRow[]): string[] {
  const missing: string[] = []
  for (const row of rows) {
    const value = reply[row.key]
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
    for (const nested of Object.keys(value)) if (!row.meaningNames.includes(nested)) missing.push(`${row.key}.${nested}`)
  }
  return missing
}

t.test('docs/protocol.md documents every field of a real stats reply, broker-wide, per topic and per subscriber', async t => {
  const tables = statsTables()
  t.equal(tables.length, 3, 'three tables: broker-wide, one topic, one subscriber')
  const tb = await startTestBroker(t)
  const a = await tb.client()
  const b = await tb.client()
  await a.request('pub jobs {"msg":"create"}')
  await b.request('name worker-1')
  await b.request('sub jobs 1')
  await a.request('pub jobs {"msg":"job"}')
  await b.event()

  const broker = parseOk(await a.request('stats'))
  const topic = parseOk(await a.request('stats jobs'))
  t.equal(topic.subscribers.length, 1)
  const replies: Array<[string, Record<string, any>, DocRow[]]> = [
    ['stats', broker, tables[0]],
    ['stats <topic>', topic, tables[1]],
    ['stats <topic> subscriber', topic.subscribers[0], tables[2]],
  ]
  for (const [what, reply, rows] of replies) {
    t.same(Object.keys(reply), rows.map(r => r.key), `${what}: a real reply has exactly the documented keys, in order`)
    t.same(undocumentedNested(reply, rows), [], `${what}: every key of a nested object is named in its row`)
  }
  t.ok(tables[0].find(r => r.key === 'rates')?.meaningNames.includes('published'), 'nested keys are read from the Meaning column')
})
