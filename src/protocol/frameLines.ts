/**
 * Splits a connection's byte stream into lines. I/O-free: feed it chunks,
 * it calls back with complete lines. Accepts LF and CRLF, and speaks enough
 * telnet (RFC 854) for a person at a telnet client:
 *
 * - negotiation is answered like an NVT server that supports no option but
 *   TIMING-MARK (RFC 860): `DO TM` gets `WILL TM`, any other `DO x` gets
 *   `WONT x`, `WILL x` gets `DONT x`, and refusals (`DONT`, `WONT`) get nothing,
 *   so no negotiation can loop (RFC 1143: every option stays off). Answers are
 *   reported to the sink in their place among the lines, never written here;
 * - line editing as a terminal's line discipline does: BS, DEL and `IAC EC`
 *   erase the previous character (a UTF-8 sequence, not a byte), `IAC EL`
 *   erases the line, and `IAC IP` (telnet's Ctrl-C) drops it too;
 * - CR NUL ends a line, stray NULs are dropped, other two-byte commands and
 *   subnegotiation are ignored, `IAC IAC` is a literal 0xFF byte.
 *
 * Other control characters stay in the line for the parser to refuse.
 * maxLineBytes is enforced without buffering an over-long line: it is
 * reported once and the rest of it is discarded up to the next newline.
 * `end()` turns an unfinished last line into a line when input ends.
 */
import { isAscii } from 'node:buffer'

export interface LineSink {
  /**
   * A line: text[start, end), without its newline. The text is the line
   * itself, or (for an all-ASCII read) the whole read decoded once, shared by
   * its lines; either way the character at `end`, if any, is a CR or LF, so a
   * reader that stops at control characters never runs past the line.
   * `holds`: the characters of `text` this line is the first to keep alive
   * (the whole read's length for the first line of a read, 0 for its other
   * lines, the line's length for a text of its own), so that a queue of
   * lines can bound the memory it keeps, not just the lines' lengths.
   */
  line: (text: string, start: number, end: number, holds: number) => void
  /** Called once per over-long line, as soon as it is known to be too long. */
  tooLong: (bytes: number) => void
  /** Telnet negotiation to send back, in order with the lines around it (only ever for a client that negotiated). */
  telnetReply: (bytes: Buffer) => void
}

const LF = 0x0a
const CR = 0x0d
const NUL = 0x00
const BS = 0x08
const DEL = 0x7f
const IAC = 0xff
// Telnet commands (RFC 854).
const DONT = 254
const DO = 253
const WONT = 252
const WILL = 251
const SB = 250
const EL = 248
const EC = 247
const IP = 244
const SE = 240
/** TIMING-MARK (RFC 860): the one option we agree to, and only as a one-off mark. */
const TM = 6

const enum Telnet { Data, Iac, Option, Sub, SubIac }

const EMPTY = Buffer.alloc(0)

export class LineFramer {
  private readonly max: number
  private readonly sink: LineSink
  /** Pieces of the current, unfinished line (kept as Buffers: no per-chunk string concatenation). */
  private parts: Buffer[] = []
  private partBytes = 0
  /** True while skipping the remainder of an over-long line. */
  private discarding = false
  private telnet = Telnet.Data
  /** The WILL/WONT/DO/DONT whose option byte comes next. */
  private verb = 0
  private lastCR = false
  /** Negotiation answers not yet reported (coalesced until a line or the end of the read). */
  private replies: number[] = []
  /**
   * The read being split as text when it holds only ASCII bytes (set per
   * fast-path read; '' otherwise): its lines are reported as ranges of it.
   * One decode per read instead of one per line (a call into C++ each, the
   * dearest part of framing a `pub`), and the command layer reads a line in
   * place, in a flat string, rather than through a slice; it copies the line
   * of any command that keeps names from it.
   */
  private text = ''
  /** `text`'s length until its first line is reported (that line holds the read), then 0. */
  private textHeld = 0

  constructor (maxLineBytes: number, sink: LineSink) {
    this.max = maxLineBytes
    this.sink = sink
  }

  push (chunk: Buffer): void {
    // Fast path: no telnet command, NUL or erase byte in the chunk (memchr each; most chunks have none).
    if (this.telnet !== Telnet.Data || this.lastCR || chunk.indexOf(IAC) !== -1 || chunk.indexOf(NUL) !== -1 ||
        chunk.indexOf(DEL) !== -1 || chunk.indexOf(BS) !== -1) {
      this.pushSlow(chunk)
      return
    }
    this.lastCR = chunk.length > 0 && chunk[chunk.length - 1] === CR // a NUL may follow in the next read
    // An all-ASCII read (the usual one; one SIMD pass) is decoded once, as Latin-1: the same characters without UTF-8's checks.
    this.text = isAscii(chunk) ? chunk.toString('latin1') : ''
    this.textHeld = this.text.length
    this.split(chunk, 0, chunk.length)
    this.text = ''
  }

  /** Input ended: an unfinished last line is a line (a script without a final newline loses nothing). */
  end (): void {
    this.telnet = Telnet.Data // a half-sent telnet command is dropped
    this.lastCR = false
    this.flushReplies()
    if (this.discarding) {
      this.discarding = false // its ERR was already reported
      return
    }
    if (this.partBytes > 0) this.finishLine(EMPTY, 0, 0)
  }

  /** Bytes buffered for the current unfinished line (for memory accounting). */
  get bufferedBytes (): number {
    return this.partBytes
  }

  /** Reports every line ending in chunk[start, end), and keeps the unfinished rest. */
  private split (chunk: Buffer, start: number, end: number): void {
    const text = this.text
    while (start < end) {
      const nl = text !== '' ? text.indexOf('\n', start) : chunk.indexOf(LF, start)
      if (nl === -1 || nl >= end) {
        this.keepPartial(chunk, start, end)
        return
      }
      this.finishLine(chunk, start, nl)
      start = nl + 1
    }
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
      if (this.text !== '') {
        this.sink.line(this.text, start, end, this.textHeld) // followed by its CR or LF in the read
        this.textHeld = 0
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
    this.sink.line(text, 0, text.length, text.length)
  }

  /**
   * Slow path, for chunks holding telnet commands, NULs or erase bytes. The
   * data bytes are copied to `out`, where out[seg, o) continues the unfinished
   * line in `parts`; each line is reported as soon as its LF is seen, so that
   * negotiation answers stay in order with the lines.
   */
  private pushSlow (chunk: Buffer): void {
    const out = Buffer.allocUnsafe(chunk.length)
    let o = 0
    let seg = 0
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]
      switch (this.telnet) {
        case Telnet.Data:
          if (b === IAC) { this.telnet = Telnet.Iac; continue }
          if (b === LF || (b === NUL && this.lastCR)) { // CR NUL: telnet's bare carriage return ends a line too
            this.lastCR = false
            this.flushReplies()
            this.finishLine(out, seg, o)
            seg = o
            continue
          }
          if (b === NUL) continue
          if (b === BS || b === DEL) { this.lastCR = false; o = this.eraseChar(out, seg, o); continue }
          this.lastCR = b === CR
          out[o++] = b
          continue
        case Telnet.Iac:
          this.telnet = Telnet.Data
          if (b === IAC) {
            out[o++] = IAC
            this.lastCR = false
          } else if (b >= WILL && b <= DONT) {
            this.verb = b
            this.telnet = Telnet.Option
          } else if (b === SB) {
            this.telnet = Telnet.Sub
          } else if (b === EC) {
            this.lastCR = false
            o = this.eraseChar(out, seg, o)
          } else if (b === EL || b === IP) {
            // Erase line; an interrupt drops the line being typed, as a terminal does.
            this.lastCR = false
            this.parts = []
            this.partBytes = 0
            this.discarding = false
            o = seg
          }
          continue // other two-byte commands (NOP, AYT, AO, BRK, DM, GA): ignored
        case Telnet.Option:
          this.telnet = Telnet.Data
          this.answer(this.verb, b)
          continue
        case Telnet.Sub:
          if (b === IAC) this.telnet = Telnet.SubIac
          continue
        case Telnet.SubIac:
          this.telnet = b === SE ? Telnet.Data : Telnet.Sub
          continue
      }
    }
    this.flushReplies()
    if (o > seg) this.keepPartial(out, seg, o)
  }

  /** Queues the answer to one option request (RFC 854/1143, every option off; TIMING-MARK agreed as a mark). */
  private answer (verb: number, option: number): void {
    let reply: number
    if (verb === DO) reply = option === TM ? WILL : WONT
    else if (verb === WILL) reply = DONT
    else return // DONT and WONT confirm what is already so: answering them could loop
    this.replies.push(IAC, reply, option)
  }

  private flushReplies (): void {
    if (this.replies.length === 0) return
    const bytes = Buffer.from(this.replies)
    this.replies.length = 0
    this.sink.telnetReply(bytes)
  }

  /**
   * Erases the last character of the line being received (`parts` followed
   * by out[seg, o)) and returns the new `o`. A character is a whole UTF-8
   * sequence, even one still unfinished; a stray byte of malformed UTF-8
   * (which decodes as one U+FFFD) is erased alone.
   */
  private eraseChar (out: Buffer, seg: number, o: number): number {
    if (this.discarding) return o // this line is already answered and being dropped
    const inOut = o - seg
    const total = inOut + this.partBytes
    if (total === 0) return o
    let n = 1
    if (isContinuation(this.lineByteFromEnd(out, o, inOut, 0))) {
      let k = 1 // continuation bytes seen at the end
      while (k < 3 && k < total && isContinuation(this.lineByteFromEnd(out, o, inOut, k))) k++
      if (k < total) {
        const lead = this.lineByteFromEnd(out, o, inOut, k)
        if (lead >= 0xc0 && k <= continuationsOf(lead)) n = k + 1
      }
    }
    const fromOut = n < inOut ? n : inOut
    this.dropPartBytes(n - fromOut)
    return o - fromOut
  }

  /** Byte `j` counted back from the end of the line being received (0 is the last; j < the line's length). */
  private lineByteFromEnd (out: Buffer, o: number, inOut: number, j: number): number {
    if (j < inOut) return out[o - 1 - j]
    j -= inOut
    let i = this.parts.length - 1 // callers keep j below the line's length
    while (j >= this.parts[i].length) j -= this.parts[i--].length
    const p = this.parts[i]
    return p[p.length - 1 - j]
  }

  /** Removes the last n bytes of `parts`. */
  private dropPartBytes (n: number): void {
    this.partBytes -= n
    while (n > 0) {
      const last = this.parts[this.parts.length - 1]
      if (last.length <= n) {
        this.parts.pop()
        n -= last.length
      } else {
        this.parts[this.parts.length - 1] = last.subarray(0, last.length - n)
        n = 0
      }
    }
  }
}

function isContinuation (b: number): boolean {
  return (b & 0xc0) === 0x80
}

/** How many continuation bytes a UTF-8 lead byte announces. */
function continuationsOf (lead: number): number {
  return lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1
}
