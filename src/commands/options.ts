import type { BrokerConfig } from '../config/defaults'
import { fail } from '../errors'
import type { StartAt } from '../store/topic'
import { digitsValue } from '../protocol/tokens'
import type { OptionSpec } from './spec'

/**
 * The `key=value` option kinds commands are declared with, one line each in
 * a command's `options` list, e.g. `options: [opt.from(), opt.to()]`. A value
 * a kind refuses is `ERR BAD_OPTION option <key> must be <expected>, got "<value>"`;
 * unknown and repeated keys are refused by the registry (BAD_OPTION too).
 */

/**
 * An option whose value `read` converts, returning undefined for a value it
 * refuses: the error then names the key and `expected` (a phrase: "an
 * offset from 1", "none or explicit"). `label` is the value's placeholder in
 * usage texts; `type` is what a typed field (an HTTP body) may hold besides
 * its text.
 */
export function option<N extends string, T> (key: string, name: N, label: string, expected: string, type: 'string' | 'integer',
  read: (text: string, config: BrokerConfig) => T | undefined): OptionSpec<N, T> {
  return Object.freeze({
    name,
    key,
    label,
    kind: {
      type,
      parse: (text: string, config: BrokerConfig): T => {
        const v = read(text, config)
        if (v === undefined) fail('BAD_OPTION.value', { option: key, expected, got: text })
        return v
      },
    },
  })
}

/** Largest offset or time accepted: 16 digits, within Number.MAX_SAFE_INTEGER. */
function safeDigits (text: string): number | undefined {
  const n = digitsValue(text, 16)
  return Number.isSafeInteger(n) ? n : undefined
}

/** An offset from 1 (`to=<offset>`). */
export function offset<N extends string> (key: string, name: N): OptionSpec<N, number> {
  return option(key, name, '<offset>', 'an offset (an integer from 1)', 'integer', text => {
    const n = safeDigits(text)
    return n !== undefined && n >= 1 ? n : undefined
  })
}

/** One of a few words, shown as `a|b|c`. */
export function choice<N extends string, const C extends string> (key: string, name: N, choices: readonly C[]): OptionSpec<N, C> {
  const expected = choices.length === 1 ? choices[0] : choices.slice(0, -1).join(', ') + ' or ' + choices[choices.length - 1]
  return option(key, name, choices.join('|'), expected, 'string', text => (choices as readonly string[]).includes(text) ? text as C : undefined)
}

/** Where a subscription starts, as `from=` gives it (Topic.startOffset resolves it). */
export type StartPosition = Exclude<StartAt, 'next'>

/** `from=beginning|latest|<offset>|time:<unix-ms>`: where a new subscription starts. */
export function from<N extends string = 'from'> (name: N = 'from' as N): OptionSpec<N, StartPosition> {
  return option('from', name, 'beginning|latest|<offset>|time:<unix-ms>', 'beginning, latest, an offset from 1 or time:<unix-ms>', 'string',
    (text): StartPosition | undefined => {
      if (text === 'beginning' || text === 'latest') return text
      if (text.startsWith('time:')) {
        const ms = safeDigits(text.slice(5))
        return ms === undefined ? undefined : { time: ms }
      }
      const n = safeDigits(text)
      return n !== undefined && n >= 1 ? { offset: n } : undefined
    })
}

/** `to=<offset>`: the last offset of a range subscription. */
export function to<N extends string = 'to'> (name: N = 'to' as N): OptionSpec<N, number> {
  return offset('to', name)
}
