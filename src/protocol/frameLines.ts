/**
 * Splits a connection's byte stream into lines. I/O-free: feed it chunks,
 * it calls back with complete lines. Accepts LF and CRLF, tolerates telnet
 * (IAC negotiation is stripped, CR NUL ends a line, stray NULs are dropped),
 * and enforces maxLineBytes: an over-long line is reported once and the rest
 * of it is discarded up to the next newline.
 */
export interface LineSink {
  line: (text: string) => void
  /** Called once per over-long line, as soon as it is known to be too long. */
  tooLong: (bytes: number) => void
}

const LF = 0x0a
const CR = 0x0d
const NUL = 0x00
const IAC = 0xff
const SB = 250
const SE = 240
const WILL = 251
const DONT = 254

const enum Telnet { Data, Iac, Option, Sub, SubIac }

export class LineFramer {
  private readonly max: number
  private readonly sink: LineSink
  /** Pieces of the current, unfinished line (kept as Buffers: no per-chunk string concatenation). */
  private parts: Buffer[] = []
  private partBytes = 0
  /** True while skipping the remainder of an over-long line. */
  private discarding = false
  private telnet = Telnet.Data
  private lastCR = false

  constructor (maxLineBytes: number, sink: LineSink) {
    this.max = maxLineBytes
    this.sink = sink
  }

  push (chunk: Buffer): void {
    if (this.telnet !== Telnet.Data || this.lastCR || chunk.indexOf(IAC) !== -1 || chunk.indexOf(NUL) !== -1) {
      chunk = this.cleanTelnet(chunk)
    } else {
      this.lastCR = chunk.length > 0 && chunk[chunk.length - 1] === CR // a NUL may follow in the next read
    }
    let start = 0
    const len = chunk.length
    while (start < len) {
      const nl = chunk.indexOf(LF, start)
      if (nl === -1) {
        this.keepPartial(chunk, start, len)
        return
      }
      this.finishLine(chunk, start, nl)
      start = nl + 1
    }
  }

  /** Bytes buffered for the current unfinished line (for memory accounting). */
  get bufferedBytes (): number {
    return this.partBytes
  }

  private keepPartial (chunk: Buffer, start: number, end: number): void {
    const n = end - start
    if (this.discarding) return
    if (this.partBytes + n > this.max + 1) { // +1: a trailing CR is not content
      this.startDiscard(this.partBytes + n)
      return
    }
    // subarray keeps a view; copy so a small tail does not pin a large socket chunk.
    this.parts.push(Buffer.from(chunk.subarray(start, end)))
    this.partBytes += n
  }

  private startDiscard (bytes: number): void {
    this.discarding = true
    this.parts = []
    this.partBytes = 0
    this.sink.tooLong(bytes)
  }

  private finishLine (chunk: Buffer, start: number, nl: number): void {
    if (this.discarding) {
      this.discarding = false // the newline ends the discarded line; its ERR was already reported
      return
    }
    let end = nl
    let text: string
    if (this.partBytes === 0) {
      if (end > start && chunk[end - 1] === CR) end--
      if (end - start > this.max) {
        this.sink.tooLong(end - start)
        return
      }
      text = chunk.toString('utf8', start, end)
    } else {
      this.parts.push(chunk.subarray(start, end))
      let whole = Buffer.concat(this.parts, this.partBytes + (end - start))
      this.parts = []
      this.partBytes = 0
      if (whole.length > 0 && whole[whole.length - 1] === CR) whole = whole.subarray(0, whole.length - 1)
      if (whole.length > this.max) {
        this.sink.tooLong(whole.length)
        return
      }
      text = whole.toString('utf8')
    }
    this.sink.line(text)
  }

  /** Slow path, only for chunks holding IAC or NUL bytes: strips telnet negotiation, maps CR NUL to LF. */
  private cleanTelnet (chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length)
    let o = 0
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]
      switch (this.telnet) {
        case Telnet.Data:
          if (b === IAC) { this.telnet = Telnet.Iac; continue }
          if (b === NUL) {
            if (this.lastCR) { out[o++] = LF; this.lastCR = false } // CR NUL: telnet's bare carriage return
            continue
          }
          this.lastCR = b === CR
          out[o++] = b
          continue
        case Telnet.Iac:
          if (b === IAC) { out[o++] = IAC; this.telnet = Telnet.Data } else if (b >= WILL && b <= DONT) this.telnet = Telnet.Option
          else if (b === SB) this.telnet = Telnet.Sub
          else this.telnet = Telnet.Data // two-byte command (NOP, AYT, IP, ...): ignored
          continue
        case Telnet.Option:
          this.telnet = Telnet.Data
          continue
        case Telnet.Sub:
          if (b === IAC) this.telnet = Telnet.SubIac
          continue
        case Telnet.SubIac:
          this.telnet = b === SE ? Telnet.Data : Telnet.Sub
          continue
      }
    }
    return out.subarray(0, o)
  }
}
