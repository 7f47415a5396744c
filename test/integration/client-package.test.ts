import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startTestBroker } from '../helpers/broker'

// `ackline/client` as a user gets it: loaded by package name through package.json "exports",
// from CommonJS and from an ES module, with the .d.ts types tsc wrote. Needs `npm run build`.

const run = promisify(execFile)
const ROOT = join(__dirname, '..', '..')
const FIXTURES = join(__dirname, '..', 'fixtures', 'client-package')
const TSC = require.resolve('typescript/bin/tsc')

t.test('require("ackline/client") from CommonJS (the package referring to itself by name)', async t => {
  const tb = await startTestBroker(t)
  const { stdout } = await run(process.execPath, [join(FIXTURES, 'require.cjs'), String(tb.port)])
  t.same(JSON.parse(stdout), { id: '1', acklineError: true, code: 'BAD_EVENT', broker: 'function' })
})

t.test('import { connect } from "ackline/client" in an ES module', async t => {
  const tb = await startTestBroker(t)
  const { stdout } = await run(process.execPath, [join(FIXTURES, 'import.mjs'), String(tb.port)])
  t.same(JSON.parse(stdout), { id: 'm1', msg: 'from import', acked: true, acklineError: true, code: 'BAD_TOPIC', defaultExport: true })
})

t.test('only the exported entry points can be loaded', async t => {
  const deep = await run(process.execPath, ['-e', "require('ackline/dist/broker')"], { cwd: ROOT }).then(() => '', (err: { stderr: string }) => err.stderr)
  t.match(deep, /ERR_PACKAGE_PATH_NOT_EXPORTED/)
  const { stdout } = await run(process.execPath, ['-p', "require('ackline/package.json').name"], { cwd: ROOT })
  t.equal(stdout, 'ackline\n')
})

/** A project that installed ackline (node_modules/ackline is this checkout), with the given files. */
function consumerProject (dir: string, type: 'module' | 'commonjs', files: string[]): void {
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'ackline'), 'dir')
  symlinkSync(join(ROOT, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type }))
  for (const f of files) copyFileSync(join(FIXTURES, f), join(dir, f))
}

/**
 * tsc on a consumer. The fixtures hold `@ts-expect-error` lines, which fail the
 * check if the types they expect an error from were missing (any), so a pass
 * is not vacuous.
 */
async function tsc (dir: string, args: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--target', 'es2022', ...args], { cwd: dir })
    return { code: 0, out: stdout }
  } catch (err) {
    const e = err as { code: number, stdout: string }
    return { code: e.code, out: e.stdout }
  }
}

t.test('the types resolve through "exports" for ES module and CommonJS consumers (moduleResolution node16)', async t => {
  const dir = t.testdir({})
  consumerProject(dir, 'module', ['consumer.mts', 'consumer.cts'])
  const r = await tsc(dir, ['--module', 'node16', '--moduleResolution', 'node16', 'consumer.mts', 'consumer.cts'])
  t.same(r, { code: 0, out: '' }, r.out)
})

t.test('the types resolve with the old moduleResolution "node" through typesVersions', async t => {
  const dir = t.testdir({})
  consumerProject(dir, 'commonjs', ['consumer-node10.ts'])
  const r = await tsc(dir, ['--module', 'commonjs', '--moduleResolution', 'node', 'consumer-node10.ts'])
  t.same(r, { code: 0, out: '' }, r.out)
})
