import type { ErrorObject } from 'ajv'

/**
 * Turns ajv's schema errors into messages a person can act on: the field as
 * written in the file (`auth.users.alice.passwordHash`, `commands.pub[0]`),
 * the allowed values of an enum, the nearest known name for an unknown field,
 * and a schema's `description` instead of a raw regular expression.
 * Needs errors from an Ajv instance created with `verbose: true` (for `parentSchema`).
 */
export function describeConfigErrors (errors: ErrorObject[], data: unknown): string {
  const out: string[] = []
  for (const e of errors) {
    const text = describeOne(e, data)
    if (text !== null && !out.includes(text)) out.push(text)
  }
  return out.join('; ')
}

interface SchemaNode {
  description?: string
  properties?: Record<string, unknown>
  propertyNames?: SchemaNode
}

function describeOne (e: ErrorObject, data: unknown): string | null {
  const field = fieldPath(e.instancePath, data)
  const subject = field === '' ? 'the config' : field
  const parent = (e.parentSchema ?? {}) as SchemaNode
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty
      const known = Object.keys(parent.properties ?? {}).filter(k => !k.startsWith('$'))
      const prefix = field === '' ? '' : field + '.'
      const near = nearestName(extra, known)
      if (near !== null) return `unknown field "${prefix}${extra}" (did you mean "${prefix}${near}"?)`
      if (known.length <= 32) return `unknown field "${prefix}${extra}" (known fields: ${known.join(', ')})`
      return `unknown field "${prefix}${extra}"`
    }
    case 'enum':
      return `${subject} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}`
    case 'type':
      return `${subject} must be ${typeName((e.params as { type: string | string[] }).type)}`
    case 'pattern':
      if (e.propertyName !== undefined) {
        return `${subject}: the name "${e.propertyName}" must be ${parent.description ?? `a match of ${(e.params as { pattern: string }).pattern}`}`
      }
      return `${subject} must be ${parent.description ?? `a match of ${(e.params as { pattern: string }).pattern}`}`
    case 'propertyNames':
      return null // the pattern error of the same name says it better
    case 'minLength':
    case 'minItems':
      return `${subject} must not be empty`
    case 'maxItems':
      return `${subject} must have at most ${(e.params as { limit: number }).limit} items`
    case 'uniqueItems':
      return `${subject} must not list the same value twice`
    case 'required':
      return `${subject} is missing the field "${(e.params as { missingProperty: string }).missingProperty}"`
    default:
      return `${subject} ${e.message ?? 'is invalid'}`
  }
}

/** `/auth/users/alice/passwordHash` -> `auth.users.alice.passwordHash`; array items as `[i]`, odd keys as `["a.b"]`. */
export function fieldPath (pointer: string, data: unknown): string {
  if (pointer === '') return ''
  let out = ''
  let node: unknown = data
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node)) out += `[${key}]`
    else if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += `[${JSON.stringify(key)}]`
    else out += out === '' ? key : `.${key}`
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return out
}

function typeName (type: string | string[]): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list [...]',
    object: 'an object {...}',
    null: 'null',
  }
  const list = Array.isArray(type) ? type : [type]
  return list.map(t => names[t] ?? t).join(' or ')
}

/**
 * The known name closest to `name` (case-insensitive edit distance, also
 * against the start of longer names, so `pasword` finds `passwordHash`), or
 * null when nothing is close enough to be a likely typo.
 */
export function nearestName (name: string, known: readonly string[]): string | null {
  const n = name.toLowerCase()
  const limit = n.length <= 4 ? 1 : 2
  let best: string | null = null
  let bestScore = Infinity
  for (const k of known) {
    const lk = k.toLowerCase()
    let score = editDistance(n, lk)
    if (n.length >= 4 && lk.length > n.length) {
      for (let len = n.length - 1; len <= n.length + 1; len++) {
        score = Math.min(score, editDistance(n, lk.slice(0, len)) + 1)
      }
    }
    if (score < bestScore) {
      bestScore = score
      best = k
    }
  }
  return bestScore <= limit ? best : null
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance (a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    rows.push([i])
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) { rows[i].push(j); continue }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1)
      rows[i].push(d)
    }
  }
  return rows[a.length][b.length]
}
