import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LineClient } from '../helpers/broker'
import { CLI } from '../helpers/cli'

// The README's commands, typed literally in the repository root, as a newcomer would.

const ROOT = join(__dirname, '..', '..')
const run = promisify(execFile)

interface Finished { code: number | null, stdout: string, stderr: string }

/**
 * Runs a command in the repository root, as typed in a shell there. One that
 * has not ended after 20 s (a broker that started when it should not have) is
 * stopped, with its children, and reported with code null.
 */
function shell (cmd: string, args: string[]): Promise<Finished> {
  return new Promise(resolve => {
    const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} }, 20000)
    child.on('exit', code => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('npm start --port 9001 (flags before --) stops with the command that works', async t => {
  const spaced = await shell('npm', ['start', '--port', '9001'])
  t.equal(spaced.code, 2)
  t.match(spaced.stderr, /^ackline: npm start keeps flags written before "--" for itself \(it took --port\); put them after "--": npm start -- --port 9001$/m)
  t.notMatch(spaced.stderr, /^\s+at /m, 'no stack trace')
  const joined = await shell('npm', ['start', '--port=9001'])
  t.equal(joined.code, 2, 'npm start --port=9001 would otherwise start on the default port')
  t.match(joined.stderr, /^ackline: .*put them after "--": npm start -- --port 9001$/m)
})

t.test('npm start -- --port <n> starts the broker on that port', async t => {
  const dir = t.testdir({})
  // In its own process group, so that the whole npm -> sh -> node chain can be stopped.
  const child = spawn('npm', ['start', '--', '--port', '0', '--http-port', '0', '--log-dir', join(dir, 'logs')], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  t.teardown(async () => {
    try { process.kill(-child.pid!, 'SIGTERM') } catch {}
    await exited
  })
  let stdout = ''
  const listening = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout}`)), 30000)
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s
      const m = /^ackline listening on 127\.0\.0\.1:(\d+) and http:\/\/127\.0\.0\.1:\d+, logs in (.*)$/m.exec(stdout)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m)
      }
    })
  })
  t.equal(listening[2], join(dir, 'logs'))
  const c = await LineClient.connect(Number(listening[1]))
  t.equal(await c.request('ping'), 'OK PONG')
  c.destroy()
})

t.test('npx ackline --help works in the repository (the README command)', async t => {
  // npx links the bin to dist/cli.js and makes it executable only the first time it sees this directory:
  // a rebuilt dist/ (a fresh clone at the same path) must be executable by itself.
  t.ok(statSync(CLI).mode & 0o100, 'the build leaves dist/cli.js executable')
  const help = await shell('npx', ['--no-install', 'ackline', '--help'])
  t.equal(help.code, 0, 'npx ackline --help exits 0')
  t.match(help.stdout, /^Usage: ackline /)
  for (const command of ['start', 'hash-password', 'bench']) t.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'))
})

/** Commands in README.md: lines of ```sh blocks and inline code spans, each with its line number. */
function readmeCommands (): Array<{ line: number, text: string }> {
  const out: Array<{ line: number, text: string }> = []
  let inSh = false
  let inOther = false
  readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').forEach((text, i) => {
    if (text.startsWith('```')) {
      if (inSh || inOther) { inSh = inOther = false } else if (text === '```sh') inSh = true; else inOther = true
      return
    }
    if (inSh) for (const part of text.split(/\s*(?:&&|&)\s*/)) out.push({ line: i + 1, text: part.trim() })
    else if (!inOther) for (const m of text.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, text: m[1] })
  })
  return out.filter(c => /^(npm|npx|node|ackline) /.test(c.text))
}

/** What the README quotes as the mistake not to make. */
const QUOTED_MISTAKES = new Set(['npm start --port 9001'])

t.test('every command in the README runs as written', async t => {
  const commands = readmeCommands()
  t.ok(commands.some(c => c.text === 'npm start -- --port 9001'), 'the README shows flags after -- for npm start')
  const helpOf = new Map<string, string>()
  for (const { line, text } of commands) {
    const where = `README.md:${line}: ${text}`
    if (QUOTED_MISTAKES.has(text)) continue
    // (`ackline listening on ...` is output, not a command.)
    t.notMatch(text, /^ackline (start|bench|hash-password|-)/, `${where}: ackline is not on the PATH; write npx ackline`)
    if (/^npm start\b/.test(text)) t.match(text, /^npm start(?: -- .*)?$/, `${where}: flags for npm start go after --`)
    // The CLI's own subcommand and flags, whichever way it is started.
    const m = /^(?:npx ackline|node dist\/cli\.js|npm start --)(?: (.*))?$/.exec(text)
    if (m === null) continue
    const words = (m[1] ?? '').split(/\s+/).filter(w => w !== '')
    const sub = text.startsWith('npm start') ? 'start' : (words[0] !== undefined && !words[0].startsWith('-') ? words.shift()! : '')
    if (!helpOf.has(sub)) helpOf.set(sub, (await run(process.execPath, [CLI, ...(sub === '' ? [] : [sub]), '--help'])).stdout)
    for (const flag of words.filter(w => w.startsWith('-'))) {
      t.match(helpOf.get(sub)!, new RegExp(`(^|[ ,])${flag}\\b`, 'm'), `${where}: ${sub || 'ackline'} has ${flag}`)
    }
  }
  t.ok(helpOf.has('start') && helpOf.has('bench'), 'start and bench commands were checked')
})
