import type { BrokerConfig } from '../config/defaults'
import { indexInWord, skipBlanks, tokenEnd } from '../protocol/tokens'
import type { Command, Fields } from './spec'

/** Parses the arguments in line[from, to) (`to` excludes trailing blanks) into a command's fields. */
export type LineParser = (line: string, from: number, to: number) => Fields

/**
 * What a compiled parser calls when an argument is absent (returns undefined
 * for an optional one, throws for a required one) and when words follow the
 * last argument (throws).
 */
export interface ParserErrors {
  absent: (index: number) => undefined
  unexpected: (line: string, from: number, to: number) => never
  /** Commands with options: parses the `key=value` words in line[from, to) into their values, in the spec's order. */
  options?: (line: string, from: number, to: number) => readonly unknown[]
}

/** The option values of a line that has none. */
const NO_OPTIONS: readonly unknown[] = Object.freeze([])

/** Whether line[from, end) is a `key=value` option word. */
export function isOptionWord (line: string, from: number, end: number): boolean {
  return indexInWord(line, 0x3d, from, end) >= 0 // `=`
}

/**
 * Compiles a command's argument spec into its line parser, once per broker,
 * the way ajv compiles a schema: straight-line code with one call site per
 * argument and one object literal, so each call site sees one kind and each
 * command's fields one shape. A loop over the spec is three times slower on
 * pub's path (megamorphic calls and dynamic property names), and pub and
 * ack run once per event. For `ack <topic> <event-id>` the code is:
 *
 *     let i = from, end
 *     let v0
 *     if (i < to) { end = tokenEnd(line, i, to); v0 = parse0(line, i, end, config); i = skipBlanks(line, end, to) } else v0 = absent(0)
 *     let v1
 *     if (i < to) { end = tokenEnd(line, i, to); v1 = parse1(line.slice(i, end), config); i = skipBlanks(line, end, to) } else v1 = absent(1)
 *     if (i < to) unexpected(line, i, to)
 *     return {"topic": v0, "id": v1}
 *
 * (A kind with `parseAt`, as the topic's, reads its text in place; others get
 * it sliced. The line may lie inside a longer text: nothing reads past `to`.)
 * Only the field names come from the spec, and defineCommand accepts only
 * plain identifiers for them; everything else is passed in.
 *
 * A command with `key=value` options (sub) differs in two places: a word
 * holding `=` ends the positional arguments (the ones left are absent), and
 * the words from there on go to `options(line, i, to)`, whose values fill
 * the option fields:
 *
 *     if (i < to && !isOptionWord(line, i, end = tokenEnd(line, i))) { v0 = ... } else v0 = absent(0)
 *     ...
 *     const o = i < to ? options(line, i, to) : NO_OPTIONS
 *     return {"topic": v0, ..., "from": o[0], "to": o[1]}
 *
 * Commands without options (pub, ack) get exactly the code above.
 */
export function compileLineParser (command: Command, config: BrokerConfig, errors: ParserErrors): LineParser {
  const withOptions = command.options.length > 0
  const body = ['let i = from, end']
  command.args.forEach((a, j) => {
    body.push(`let v${j}`)
    const present = withOptions ? 'i < to && !isOptionWord(line, i, end = tokenEnd(line, i, to))' : 'i < to'
    const endAt = withOptions ? '' : `end = ${a.rest ? 'to' : 'tokenEnd(line, i, to)'}; `
    const value = a.kind.parseAt !== undefined ? `parse${j}(line, i, end, config)` : `parse${j}(line.slice(i, end), config)`
    body.push(`if (${present}) { ${endAt}v${j} = ${value}; i = skipBlanks(line, end, to) } else v${j} = absent(${j})`)
  })
  const fields = command.args.map((a, j) => `${JSON.stringify(a.name)}: v${j}`)
  if (withOptions) {
    body.push('const o = i < to ? options(line, i, to) : NO_OPTIONS')
    command.options.forEach((o, k) => fields.push(`${JSON.stringify(o.name)}: o[${k}]`))
  } else if (!command.ignoreExtra) {
    body.push('if (i < to) unexpected(line, i, to)')
  }
  body.push(`return {${fields.join(', ')}}`)
  const parsers = command.args.map((_, j) => `parse${j}`)
  // eslint-disable-next-line no-new-func -- generated from a checked spec, see above
  const make = new Function('tokenEnd', 'skipBlanks', 'isOptionWord', 'NO_OPTIONS', 'config', 'absent', 'unexpected', 'options', ...parsers,
    `return function (line, from, to) {\n  ${body.join('\n  ')}\n}`) as (...deps: unknown[]) => LineParser
  return make(tokenEnd, skipBlanks, isOptionWord, NO_OPTIONS, config, errors.absent, errors.unexpected, errors.options, ...command.args.map(a => a.kind.parseAt ?? a.kind.parse))
}
