import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { brokerError, errLine, errorLine, Errors, ERROR_CODES, type ErrorKey } from '../../src/errors'

const root = join(__dirname, '..', '..')

/** The codes of the error table in docs/protocol.md (rows like "| `CODE` | meaning |"). */
function documentedCodes (): string[] {
  const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8')
  const section = doc.slice(doc.indexOf('\n## Error codes'))
  const table = section.slice(0, section.indexOf('\n## ', 5))
  return [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map(m => m[1])
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

t.test('every code in the catalogue is documented in docs/protocol.md, and every documented code is in the catalogue', async t => {
  const documented = documentedCodes()
  t.ok(documented.length > 10, 'the error table was found')
  t.same([...documented].sort(), [...ERROR_CODES].sort())
  t.equal(new Set(documented).size, documented.length, 'no code is documented twice')
})

t.test('every catalogue entry is used by the broker (no dead wording)', async t => {
  const src = sourceFiles(join(root, 'src')).filter(f => !f.endsWith('errors.ts')).map(f => readFileSync(f, 'utf8')).join('\n')
  for (const key of Object.keys(Errors) as ErrorKey[]) {
    if (key === 'INTERNAL') continue // produced by errLine for anything that is not a BrokerError
    t.ok(src.includes(`'${key}'`), `${key} is used`)
  }
})

t.test('templates fill parameters, quote untrusted ones and stay on one line', async t => {
  t.equal(errorLine('NOT_IN_FLIGHT', { id: 'a"b', topic: 'jobs' }), 'ERR NOT_IN_FLIGHT event "a\\"b" is not in flight for you on jobs')
  t.equal(errorLine('BAD_ARGS.unexpected', { extra: 'x'.repeat(30), usage: 'u' }), `ERR BAD_ARGS unexpected "${'x'.repeat(20)}…"; usage: u`)
  t.equal(errorLine('AUTH_FAILED'), 'ERR AUTH_FAILED wrong user or password')
  t.equal(errorLine('STORAGE_FAILED', { cause: 'E\nNOSPC' }), 'ERR STORAGE_FAILED journal write failed (E NOSPC); commands since your last OK may not be stored')
  t.equal(brokerError('UNKNOWN_TOPIC.sub', { topic: 'x' }).code, 'UNKNOWN_TOPIC', 'a variant carries its code')
  t.equal(errLine(new Error('boom')), 'ERR INTERNAL internal error', 'unexpected errors never leak their message')
})
