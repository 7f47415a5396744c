/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), written for
 * the tests because no parser package is installed. It refuses what a
 * Prometheus server would refuse, and a little more: a malformed line, a
 * bad metric or label name, a bad escape, a sample before its family's
 * TYPE, a family split in two, a duplicate series, a sample name that does
 * not fit the family's type, and histograms whose buckets are not
 * cumulative or whose `+Inf` bucket differs from `_count`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, ... for histograms). */
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  help: string | null
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export class PromParseError extends Error {
  constructor (line: number, message: string) {
    super(`line ${line}: ${message}`)
  }
}

/** Parses a whole exposition; families by name, in order of appearance. */
export function parsePrometheusText (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const finished = new Set<string>()
  let current: Family | null = null
  const seen = new Set<string>()
  if (text !== '' && !text.endsWith('\n')) throw new PromParseError(0, 'the exposition must end with a newline')
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  const familyFor = (no: number, name: string): Family => {
    let f = families.get(name)
    if (f === undefined) {
      f = { name, help: null, type: 'untyped', samples: [] }
      families.set(name, f)
    }
    if (current !== f) {
      if (finished.has(name)) throw new PromParseError(no, `metric family ${name} appears in two places`)
      if (current !== null) finished.add(current.name)
      current = f
    }
    return f
  }
  lines.forEach((line, i) => {
    const no = i + 1
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (m === null) return // a plain comment
      const [, kind, name, rest = ''] = m
      if (!METRIC_NAME.test(name)) throw new PromParseError(no, `bad metric name ${JSON.stringify(name)}`)
      const f = familyFor(no, name)
      if (kind === 'HELP') {
        if (f.help !== null) throw new PromParseError(no, `second HELP for ${name}`)
        f.help = unescape(no, rest, false)
      } else {
        if (!TYPES.has(rest)) throw new PromParseError(no, `unknown type ${JSON.stringify(rest)}`)
        if (f.samples.length > 0) throw new PromParseError(no, `TYPE of ${name} after its samples`)
        f.type = rest as MetricType
      }
      return
    }
    const s = parseSample(no, line)
    const fname = familyOf(s.name, current)
    const f = familyFor(no, fname)
    checkSampleName(no, f, s.name)
    const key = s.name + JSON.stringify(Object.entries(s.labels).sort())
    if (seen.has(key)) throw new PromParseError(no, `duplicate series ${s.name}${JSON.stringify(s.labels)}`)
    seen.add(key)
    f.samples.push(s)
  })
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

/** The family a sample belongs to: the current family when the name is one of its sample names. */
function familyOf (name: string, current: Family | null): string {
  if (current !== null) {
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['', '_sum', '_count'] : ['']
    for (const s of suffixes) if (name === current.name + s) return current.name
  }
  return name
}

function checkSampleName (no: number, f: Family, name: string): void {
  if (f.type === 'histogram') {
    if (![f.name + '_bucket', f.name + '_sum', f.name + '_count'].includes(name)) throw new PromParseError(no, `${name} is not a sample of histogram ${f.name}`)
  } else if (f.type === 'summary') {
    if (![f.name, f.name + '_sum', f.name + '_count'].includes(name)) throw new PromParseError(no, `${name} is not a sample of summary ${f.name}`)
  } else if (name !== f.name) {
    throw new PromParseError(no, `${name} is not a sample of ${f.type} ${f.name}`)
  }
}

function parseSample (no: number, line: string): Sample {
  let i = 0
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i++
  const name = line.slice(0, i)
  if (!METRIC_NAME.test(name)) throw new PromParseError(no, `bad metric name in ${JSON.stringify(line)}`)
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    for (;;) {
      while (line[i] === ' ') i++
      if (line[i] === '}') { i++; break }
      let j = i
      while (j < line.length && /[a-zA-Z0-9_]/.test(line[j])) j++
      const lname = line.slice(i, j)
      if (!LABEL_NAME.test(lname)) throw new PromParseError(no, `bad label name at ${JSON.stringify(line.slice(i, i + 20))}`)
      if (Object.hasOwn(labels, lname)) throw new PromParseError(no, `label ${lname} given twice`)
      if (line[j] !== '=' || line[j + 1] !== '"') throw new PromParseError(no, `expected ="… after label ${lname}`)
      j += 2
      let raw = ''
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '\\') { raw += line.slice(j, j + 2); j += 2 } else raw += line[j++]
      }
      if (line[j] !== '"') throw new PromParseError(no, `unterminated value of label ${lname}`)
      labels[lname] = unescape(no, raw, true)
      j++
      if (line[j] === ',') j++
      else if (line[j] !== '}') throw new PromParseError(no, `expected , or } after label ${lname}`)
      i = j
    }
  }
  const rest = line.slice(i)
  const m = /^ +(\S+)(?: +(-?\d+))?$/.exec(rest)
  if (m === null) throw new PromParseError(no, `expected " <value> [timestamp]" after the name in ${JSON.stringify(line)}`)
  return { name, labels, value: parseValue(no, m[1]) }
}

function parseValue (no: number, text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new PromParseError(no, `bad value ${JSON.stringify(text)}`)
  return Number(text)
}

/** HELP text escapes `\\` and `\n`; label values also `\"`. Anything else after a backslash is an error. */
function unescape (no: number, s: string, quotes: boolean): string {
  return s.replace(/\\(.?)/g, (_m, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    if (c === '"' && quotes) return '"'
    throw new PromParseError(no, `bad escape \\${c}`)
  })
}

function checkHistogram (f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>, count?: number, sum?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (g === undefined) groups.set(key, (g = { buckets: [] }))
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new PromParseError(0, `${s.name} without an le label`)
      g.buckets.push([parseValue(0, le), s.value])
    } else if (s.name.endsWith('_count')) g.count = s.value
    else g.sum = s.value
  }
  for (const g of groups.values()) {
    if (g.count === undefined || g.sum === undefined) throw new PromParseError(0, `histogram ${f.name} lacks _count or _sum`)
    let prevLe = -Infinity
    let prev = 0
    for (const [le, v] of g.buckets) {
      if (le <= prevLe) throw new PromParseError(0, `histogram ${f.name}: buckets not in increasing le order`)
      if (v < prev) throw new PromParseError(0, `histogram ${f.name}: bucket le=${le} is not cumulative`)
      prevLe = le
      prev = v
    }
    const inf = g.buckets[g.buckets.length - 1]
    if (inf === undefined || inf[0] !== Infinity) throw new PromParseError(0, `histogram ${f.name} has no +Inf bucket`)
    if (inf[1] !== g.count) throw new PromParseError(0, `histogram ${f.name}: +Inf bucket ${inf[1]} differs from _count ${g.count}`)
  }
}

/** The value of the one sample named `name` with exactly these labels (undefined when absent). */
export function sampleValue (families: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(family)
  if (f === undefined) return undefined
  const want = JSON.stringify(Object.entries(labels).sort())
  return f.samples.find(s => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value
}
