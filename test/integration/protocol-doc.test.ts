import t from 'tap'
import { join } from 'node:path'
import { startTestBroker, type LineClient } from '../helpers/broker'
import { expectedPattern, readSessionBlocks } from '../helpers/sessionDoc'
import type { ConfigOverrides } from '../../src/config/loadConfig'

// Every ```session example in these documents runs here against a real broker.
const DOCS = ['docs/protocol.md', 'README.md']

for (const doc of DOCS) {
  const file = join(__dirname, '..', '..', doc)
  const blocks = readSessionBlocks(file)
  t.test(`${doc} has session examples`, async t => {
    t.ok(blocks.length > 0, `${doc} has at least one session block`)
  })
  for (const block of blocks) {
    t.test(`${doc}:${block.lineNo}`, async t => {
      const tb = await startTestBroker(t, block.config as ConfigOverrides)
      const clients = new Map<string, LineClient>()
      const clientFor = async (name: string): Promise<LineClient> => {
        let c = clients.get(name)
        if (c === undefined) {
          c = await tb.client()
          clients.set(name, c)
        }
        return c
      }
      for (const step of block.steps) {
        const c = await clientFor(step.client)
        if (step.dir === '>') {
          if (step.text === '(disconnect)') {
            c.destroy()
            clients.delete(step.client)
            await new Promise(resolve => setTimeout(resolve, 50))
          } else {
            c.send(step.text)
          }
        } else {
          const got = await c.next()
          t.match(got, expectedPattern(step.text), `${doc}:${step.lineNo} ${step.client}< ${step.text}`)
        }
      }
      for (const [name, c] of clients) {
        t.ok(await c.quiet(100), `client ${name} received nothing beyond the example`)
      }
    })
  }
}
