/**
 * Runs the ```session examples of a Markdown document against a real broker,
 * so every protocol example in the docs is proven by a test.
 *
 * Block format (one fresh broker per block):
 *   # config: {"maxInFlight": 2}        optional first line: config overrides
 *   a> pub tweets {"msg":"hi"}          client a sends a line
 *   a< OK 1 published to tweets (0 subscribers)   client a's next line must match
 * In expected lines `<ts>` matches a timestamp (digits) and `…` matches any text.
 */
import { readFileSync } from 'node:fs'

export interface SessionStep {
  client: string
  dir: '>' | '<'
  text: string
  lineNo: number
}

export interface SessionBlock {
  lineNo: number
  config: Record<string, unknown>
  steps: SessionStep[]
}

export function readSessionBlocks (file: string): SessionBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const blocks: SessionBlock[] = []
  let cur: SessionBlock | null = null
  lines.forEach((line, i) => {
    if (cur === null) {
      if (line.trim() === '```session') cur = { lineNo: i + 1, config: {}, steps: [] }
      return
    }
    if (line.trim() === '```') {
      blocks.push(cur)
      cur = null
      return
    }
    const cfg = /^# config: (.*)$/.exec(line)
    if (cfg !== null) {
      cur.config = JSON.parse(cfg[1]) as Record<string, unknown>
      return
    }
    const m = /^([a-z])([<>]) ?(.*)$/.exec(line)
    if (m === null) {
      if (line.trim() !== '') throw new Error(`${file}:${i + 1}: not a session line: ${line}`)
      return
    }
    cur.steps.push({ client: m[1], dir: m[2] as '>' | '<', text: m[3], lineNo: i + 1 })
  })
  return blocks
}

/** Turns an expected line into a regular expression (`<ts>` = digits, `…` = anything). */
export function expectedPattern (text: string): RegExp {
  const parts = text.split(/(<ts>|…)/)
  const src = parts.map(p => p === '<ts>' ? '\\d+' : p === '…' ? '.*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${src}$`)
}

/** What runSessionBlock needs from a test's clients. */
export interface SessionClient {
  send: (line: string) => void
  next: () => Promise<string>
  quiet: (ms: number) => Promise<boolean>
  destroy: () => void
}

/**
 * Plays a block's steps: each `x>` line is sent by client x (opened on first
 * use by `open`; `(disconnect)` closes it, then waits `disconnectPauseMs`),
 * each `x<` line must match client x's next line; at the end every client
 * must have received nothing more.
 */
export async function runSessionBlock (
  t: { match: (found: string, wanted: RegExp, message: string) => unknown, ok: (value: boolean, message: string) => unknown },
  label: string,
  block: SessionBlock,
  open: (client: string) => Promise<SessionClient>,
  disconnectPauseMs = 50,
): Promise<void> {
  const clients = new Map<string, SessionClient>()
  for (const step of block.steps) {
    let c = clients.get(step.client)
    if (c === undefined) {
      c = await open(step.client)
      clients.set(step.client, c)
    }
    if (step.dir === '>') {
      if (step.text === '(disconnect)') {
        c.destroy()
        clients.delete(step.client)
        await new Promise(resolve => setTimeout(resolve, disconnectPauseMs))
      } else {
        c.send(step.text)
      }
    } else {
      const got = await c.next()
      t.match(got, expectedPattern(step.text), `${label}:${step.lineNo} ${step.client}< ${step.text}`)
    }
  }
  for (const [name, c] of clients) t.ok(await c.quiet(100), `client ${name} received nothing beyond the example`)
}
