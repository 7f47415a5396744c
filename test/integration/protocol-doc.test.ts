import t from 'tap'
import { join } from 'node:path'
import { startTestBroker } from '../helpers/broker'
import { readSessionBlocks, runSessionBlock } from '../helpers/sessionDoc'
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
      await runSessionBlock(t, doc, block, async () => await tb.client())
    })
  }
}
