/**
 * `npm start --port 9001` does not pass `--port` to the broker: npm keeps
 * flags written before `--` as its own config (`npm_config_port=true` in the
 * environment) and passes only `9001`. This recognises that mistake from the
 * environment npm sets, so the CLI can show the command that works.
 */

/** What the CLI got that it did not expect: long flag names of `start` and the stray arguments. */
export function npmStartMistake (env: NodeJS.ProcessEnv, flags: readonly string[], strayArgs: readonly string[]): string | null {
  if (env.npm_lifecycle_event !== 'start') return null
  const taken: Array<{ flag: string, value: string }> = []
  for (const flag of flags) {
    const value = env[`npm_config_${flag.replace(/-/g, '_')}`]
    if (value !== undefined) taken.push({ flag, value })
  }
  if (taken.length === 0 && strayArgs.length === 0) return null
  // `--port 9001`: npm sets port=true and passes 9001 on; `--port=9001`: npm sets port=9001.
  const bare = taken.filter(t => t.value === 'true')
  const exact = bare.length === strayArgs.length && bare.length <= 1
  const parts = taken.map(t => `--${t.flag} ${t.value !== 'true' ? t.value : exact ? strayArgs[0] : '<value>'}`)
  if (taken.length === 0) return `unexpected argument "${strayArgs[0]}": with npm start, flags go after "--", e.g. npm start -- --port 9001`
  return `npm start keeps flags written before "--" for itself (it took ${taken.map(t => `--${t.flag}`).join(', ')}); ` +
    `put them after "--": npm start -- ${parts.join(' ')}`
}
