import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'

// `npm ci --omit=dev` must give a runnable broker: it installs only `dependencies`
// and runs `prepare` (tsc), so whatever src/ imports, and whatever the build
// needs, must be a dependency, not a devDependency.

const ROOT = join(__dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { types?: string[] } }

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** Package names imported by a file: `import ... from 'x'`, `import 'x'`, `import('x')`, `require('x')`, `export ... from 'x'`. */
function importedPackages (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)].map(m => m[1])
  return specs
    .filter(s => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map(s => s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0])
}

const imports = new Map<string, string[]>()
for (const file of sourceFiles(join(ROOT, 'src'))) {
  for (const name of importedPackages(file)) imports.set(name, [...(imports.get(name) ?? []), file.slice(ROOT.length + 1)])
}

t.test('every package src/ imports is a runtime dependency', async t => {
  t.ok(imports.has('pino') && imports.has('commander'), 'the scan finds imports')
  for (const [name, files] of imports) {
    t.ok(name in pkg.dependencies, `${name} (imported by ${files.join(', ')}) is in dependencies`)
  }
})

t.test('the benchmark-only peer clients are not needed to run the broker', async t => {
  // ioredis is not one of them any more: cluster mode (src/cluster/, loaded only with `cluster` set) needs it.
  t.ok(imports.get('ioredis')?.every(f => f.startsWith('src/cluster/')), 'only cluster mode imports ioredis')
  for (const peer of ['amqplib', 'mqtt', 'nats']) {
    t.notOk(imports.has(peer), `src/ does not import ${peer}`)
    t.notOk(peer in pkg.dependencies, `${peer} is not a runtime dependency`)
  }
})

t.test('what prepare needs to build dist/ is installed without dev dependencies', async t => {
  t.equal(pkg.scripts.prepare, 'npm run build', 'installing builds dist/')
  t.match(pkg.scripts.build, /^tsc\b/, 'the build compiles with tsc')
  t.ok('typescript' in pkg.dependencies, 'typescript (tsc) is a dependency')
  for (const types of tsconfig.compilerOptions.types ?? []) {
    t.ok(`@types/${types}` in pkg.dependencies, `@types/${types} (tsconfig types) is a dependency`)
  }
  for (const name of imports.keys()) {
    t.notOk(`@types/${name}` in pkg.devDependencies, `the types of ${name} are not a devDependency`)
  }
})
