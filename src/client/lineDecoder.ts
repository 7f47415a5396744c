/**
 * Splits a byte stream into lines: LF ends a line, a CR before it is
 * dropped. No I/O, so it can be tested by feeding chunks. Complete lines are
 * decoded straight from the chunk they end in; only an unfinished line is
 * kept, and it is joined with the next chunk once (no string concatenation
 * per chunk). Lines are decoded as UTF-8 only once whole, so a character
 * split across chunks is decoded correctly.
 */
export class LineDecoder {
  private rest: Buffer[] = []
  private restBytes = 0

  /** maxLineBytes: an unfinished line growing past this throws (the peer is not speaking the protocol). */
  constructor (private readonly maxLineBytes: number) {}

  /** Feeds one chunk; calls onLine for every line it completes, in order. */
  push (chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0
    let nl = chunk.indexOf(10)
    if (nl !== -1 && this.restBytes > 0) {
      this.rest.push(chunk.subarray(0, nl))
      const joined = Buffer.concat(this.rest, this.restBytes + nl)
      this.rest = []
      this.restBytes = 0
      onLine(this.decode(joined, 0, joined.length))
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    while (nl !== -1) {
      onLine(this.decode(chunk, start, nl))
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length) {
      // Copied, so a large chunk is not kept alive by a short tail.
      this.rest.push(Buffer.from(chunk.subarray(start)))
      this.restBytes += chunk.length - start
      // + 1: the unfinished line may end in the CR of its CRLF.
      if (this.restBytes > this.maxLineBytes + 1) throw new RangeError(`a line from the broker exceeds ${this.maxLineBytes} bytes`)
    }
  }

  /** Bytes of the unfinished line. */
  get pendingBytes (): number {
    return this.restBytes
  }

  private decode (buf: Buffer, start: number, end: number): string {
    if (end > start && buf[end - 1] === 13) end--
    if (end - start > this.maxLineBytes) throw new RangeError(`a line from the broker exceeds ${this.maxLineBytes} bytes`)
    return buf.toString('utf8', start, end)
  }
}
