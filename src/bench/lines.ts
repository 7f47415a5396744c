/**
 * Incremental newline splitter for a TCP byte stream.
 *
 * Works on Buffers: complete lines are decoded straight from the incoming
 * chunk with `toString(enc, start, end)`; only a trailing partial line is kept
 * (as a Buffer slice) and joined with the next chunk once. No per-chunk string
 * concatenation. A trailing `\r` before `\n` is stripped (telnet-style CRLF).
 */
export class LineSplitter {
  private rest: Buffer | null = null

  /** Feed one chunk; calls `onLine` for each complete line, in order. */
  push(chunk: Buffer, onLine: (line: string) => void): void {
    let buf = chunk
    let start = 0
    if (this.rest !== null) {
      const nl = chunk.indexOf(10)
      if (nl === -1) {
        this.rest = Buffer.concat([this.rest, chunk])
        return
      }
      // Join only the partial line with the head of this chunk.
      const head = Buffer.concat([this.rest, chunk.subarray(0, nl + 1)])
      this.rest = null
      onLine(decodeLine(head, 0, head.length - 1))
      start = nl + 1
    }
    for (;;) {
      const nl = buf.indexOf(10, start)
      if (nl === -1) break
      onLine(decodeLine(buf, start, nl))
      start = nl + 1
    }
    if (start < buf.length) {
      // Copy so the (possibly large) chunk can be garbage collected.
      this.rest = Buffer.from(buf.subarray(start))
    }
  }

  /** Bytes of an incomplete line currently buffered. */
  get pendingBytes(): number {
    return this.rest === null ? 0 : this.rest.length
  }
}

function decodeLine(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === 13) end--
  return buf.toString('utf8', start, end)
}

/** Convenience: split a complete buffer (or string) into lines. */
export function splitLines(input: Buffer | string): { lines: string[]; rest: number } {
  const s = new LineSplitter()
  const lines: string[] = []
  s.push(typeof input === 'string' ? Buffer.from(input) : input, (l) => lines.push(l))
  return { lines, rest: s.pendingBytes }
}
