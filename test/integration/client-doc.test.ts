import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'
import { startTestBroker } from '../helpers/broker'
import { expectedPattern } from '../helpers/sessionDoc'
import type { ConfigOverrides } from '../../src/config/loadConfig'

// Every ```ts example of docs/client.md is type-checked against the built package (as a user's
// project would see it) and run against a fresh broker; the ```output block after it is its stdout.
// The README's ```ts example is type-checked too (it consumes a subscription forever, so it is not run).

const run = promisify(execFile)
const ROOT = join(__dirname, '..', '..')
const DOC = join(ROOT, 'docs', 'client.md')
const TSC = require.resolve('typescript/bin/tsc')
/** In an example, the broker's WebSocket URL. */
const DOC_WS_URL = 'ws://127.0.0.1:8080/ws'

interface Example {
  lineNo: number
  code: string
  config: ConfigOverrides
  output: string[] | null
}

/** The ```ts blocks of a Markdown file, each with the ```output block that follows it (if any). */
function readExamples (file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const examples: Example[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i].trim()
    if (fence !== '```ts' && fence !== '```output') continue
    const start = i + 1
    let end = start
    while (lines[end].trim() !== '```') end++
    const body = lines.slice(start, end)
    if (fence === '```ts') {
      const cfg = /^\/\/ config: (.*)$/.exec(body[0] ?? '')
      examples.push({ lineNo: start, code: body.join('\n') + '\n', config: cfg === null ? {} : JSON.parse(cfg[1]) as ConfigOverrides, output: null })
    } else {
      const last = examples.at(-1)
      if (last === undefined || last.output !== null) throw new Error(`${file}:${start}: an output block must follow a ts block`)
      last.output = body
    }
    i = end
  }
  return examples
}

const examples = readExamples(DOC)
const readmeExamples = readExamples(join(ROOT, 'README.md'))
const dir = t.testdir({})
mkdirSync(join(dir, 'node_modules'))
symlinkSync(ROOT, join(dir, 'node_modules', 'ackline'), 'dir')
symlinkSync(join(ROOT, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir')
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'doc-examples', private: true, type: 'module' }))
const files = examples.map((ex, i) => {
  const name = `example-${i + 1}-line-${ex.lineNo}`
  writeFileSync(join(dir, `${name}.mts`), ex.code)
  const js = ts.transpileModule(ex.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
  writeFileSync(join(dir, `${name}.mjs`), js)
  return name
})
readmeExamples.forEach((ex, i) => {
  const name = `readme-${i + 1}-line-${ex.lineNo}`
  writeFileSync(join(dir, `${name}.mts`), ex.code)
  files.push(name)
})

t.test('docs/client.md has runnable examples, each with its output', async t => {
  t.ok(examples.length >= 6, `${examples.length} examples`)
  for (const ex of examples) t.not(ex.output, null, `the example at line ${ex.lineNo} shows its output`)
})

t.test('the examples type-check against the package as installed', async t => {
  t.ok(readmeExamples.length >= 1, 'the README example is among them')
  const out = await run(process.execPath, [TSC, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--target', 'es2022',
    '--module', 'node16', '--moduleResolution', 'node16', ...files.map(f => `${f}.mts`)], { cwd: dir }).then(r => r.stdout, (err: { stdout: string }) => err.stdout)
  t.equal(out, '', 'no type errors')
})

examples.forEach((ex, i) => {
  t.test(`docs/client.md:${ex.lineNo}`, async t => {
    const tb = await startTestBroker(t, ex.config)
    // The WebSocket URL the examples show stands for this broker's.
    const js = readFileSync(join(dir, `${files[i]}.mjs`), 'utf8').replaceAll(DOC_WS_URL, `ws://127.0.0.1:${tb.broker.httpAddress!.port}/ws`)
    writeFileSync(join(dir, `${files[i]}.run.mjs`), js)
    const { stdout } = await run(process.execPath, [`${files[i]}.run.mjs`], { cwd: dir, env: { ...process.env, ACKLINE_PORT: String(tb.port), ACKLINE_HOST: '127.0.0.1' }, timeout: 20000 })
    const got = stdout.split('\n')
    if (got.at(-1) === '') got.pop()
    const want = ex.output ?? []
    t.equal(got.length, want.length, `as many lines as shown:\n${stdout}`)
    want.forEach((line, j) => t.match(got[j], expectedPattern(line), `line ${j + 1} of the output`))
  })
})
