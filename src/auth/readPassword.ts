/**
 * Reads one password for `ackline hash-password`: the first line of stdin
 * when it is piped, or a prompt without echo on a terminal.
 */
export async function readPassword (input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (input.isTTY !== true) {
    let text = ''
    input.setEncoding('utf8')
    for await (const chunk of input) text += chunk as string
    const nl = text.indexOf('\n')
    return (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '')
  }
  output.write('Password: ')
  input.setRawMode(true)
  input.setEncoding('utf8')
  input.resume()
  return new Promise((resolve, reject) => {
    let pw = ''
    const done = (): void => {
      input.setRawMode(false)
      input.pause()
      input.off('data', onData)
      output.write('\n')
    }
    const onData = (s: string): void => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') { done(); resolve(pw); return }
        if (ch === '\u0003') { done(); reject(new Error('interrupted')); return }
        if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1)
        else pw += ch
      }
    }
    input.on('data', onData)
  })
}
