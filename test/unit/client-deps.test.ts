import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'

// ackline/client needs nothing but Node's built-ins (plus the ws package, loaded by the WebSocket
// transport only where there is no global WebSocket), and none of the broker at run time
// (type-only imports vanish from the compiled code).

const DIR = join(__dirname, '..', '..', 'src', 'client')

t.test('src/client imports only node built-ins and its own modules at run time (and ws on demand)', async t => {
  const files = readdirSync(DIR).filter(f => f.endsWith('.ts'))
  t.ok(files.length >= 10, `${files.length} modules`)
  for (const file of files) {
    const text = readFileSync(join(DIR, file), 'utf8')
    for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const [, , typeOnly, spec] = m
      const ok = spec.startsWith('./') || spec.startsWith('node:') || builtinModules.includes(spec) || (typeOnly !== undefined && spec.startsWith('../'))
      t.ok(ok, `${file}: ${m[0].replace(/\s+/g, ' ')}`)
    }
    t.notMatch(text, /\brequire\(/, `${file} has no require()`)
    for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      // ws is loaded, on demand, only where there is no global WebSocket.
      t.ok(m[1].startsWith('node:') || (file === 'wsTransport.ts' && m[1] === 'ws'), `${file}: import(${m[1]})`)
    }
  }
})
