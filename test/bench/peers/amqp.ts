/**
 * Minimal AMQP 0-9-1 framing for the RabbitMQ driver (no client library):
 * the handshake (PLAIN guest/guest), one channel, and the few methods the
 * workloads use. Frames are built as latin1 strings (every char < 256) so
 * they go through the same Wire as the text protocols.
 *
 * Frame: type(1) channel(2) size(4) payload frame-end(0xCE). Method payload:
 * class-id(2) method-id(2) arguments. Content: a header frame (class-id,
 * weight 0, body-size(8), property flags, properties) then body frames.
 */
import type { Meter, Wire } from './wire'

const chr = String.fromCharCode
export const u8 = (n: number): string => chr(n & 255)
export const u16 = (n: number): string => chr((n >>> 8) & 255, n & 255)
export const u32 = (n: number): string => chr((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255)
export const u64 = (n: number): string => u32(Math.floor(n / 2 ** 32)) + u32(n >>> 0)
const shortstr = (s: string): string => u8(s.length) + s
const longstr = (s: string): string => u32(s.length) + s
const EMPTY_TABLE = u32(0)
const FRAME_END = '\xce'

/** Field table with signed 32-bit integer values (type 'I'), enough for x-max-priority. */
function intTable(fields: Record<string, number>): string {
  let body = ''
  for (const [k, v] of Object.entries(fields)) body += shortstr(k) + 'I' + u32(v)
  return u32(body.length) + body
}

/** Method frame on `channel`. */
export function method(channel: number, classId: number, methodId: number, args: string): string {
  const payload = u16(classId) + u16(methodId) + args
  return '\x01' + u16(channel) + u32(payload.length) + payload + FRAME_END
}

export const CLASS = { connection: 10, channel: 20, queue: 50, basic: 60, confirm: 85 } as const

/** Length of the first complete frame in `b`, or -1. */
function frameLength(b: Buffer): number {
  if (b.length < 7) return -1
  const n = 7 + b.readUInt32BE(3) + 1
  return b.length >= n ? n : -1
}

/** Setup phase: read frames until method class.method arrives; returns its arguments. A close from the broker throws with its reason. */
export async function expectMethod(w: Wire, classId: number, methodId: number, what: string): Promise<Buffer> {
  for (;;) {
    const f = await w.read(frameLength, what)
    if (f[0] !== 1) continue // header/body/heartbeat frames are not expected during setup
    const c = f.readUInt16BE(7)
    const m = f.readUInt16BE(9)
    const args = f.subarray(11, f.length - 1)
    if (c === classId && m === methodId) return args
    if ((c === CLASS.connection && m === 50) || (c === CLASS.channel && m === 40)) {
      const code = args.readUInt16BE(0)
      throw new Error(`${w.name}: broker closed the ${c === CLASS.connection ? 'connection' : 'channel'} waiting for ${what}: ${code} ${args.toString('latin1', 3, 3 + args[2]!)}`)
    }
  }
}

/** Connect, authenticate as guest/guest on vhost `/`, open channel 1. */
export async function open(m: Meter, port: number, name: string): Promise<Wire> {
  const w = await m.connect(port, name)
  w.send('AMQP\x00\x00\x09\x01')
  await expectMethod(w, CLASS.connection, 10, 'connection.start')
  w.send(method(0, CLASS.connection, 11, EMPTY_TABLE + shortstr('PLAIN') + longstr('\x00guest\x00guest') + shortstr('en_US')))
  const tune = await expectMethod(w, CLASS.connection, 30, 'connection.tune')
  const channelMax = tune.readUInt16BE(0)
  const frameMax = tune.readUInt32BE(2)
  w.send(method(0, CLASS.connection, 31, u16(channelMax) + u32(frameMax) + u16(0))) // heartbeat 0: none
  w.send(method(0, CLASS.connection, 40, shortstr('/') + shortstr('') + u8(0)))
  await expectMethod(w, CLASS.connection, 41, 'connection.open-ok')
  w.send(method(1, CLASS.channel, 10, shortstr('')))
  await expectMethod(w, CLASS.channel, 11, 'channel.open-ok')
  return w
}

/** queue.declare with x-max-priority 10; returns the message count from declare-ok. `passive`: only check it exists. */
export async function declareQueue(w: Wire, q: string, o: { durable: boolean; passive?: boolean }): Promise<number> {
  const bits = (o.passive ? 1 : 0) | (o.durable ? 2 : 0)
  w.send(method(1, CLASS.queue, 10, u16(0) + shortstr(q) + u8(bits) + intTable({ 'x-max-priority': 10 })))
  const ok = await expectMethod(w, CLASS.queue, 11, 'queue.declare-ok')
  return ok.readUInt32BE(1 + ok[0]!)
}

/** Publisher confirms on channel 1: the broker then sends basic.ack (or nack) with the publish's sequence number. */
export async function confirmSelect(w: Wire): Promise<void> {
  w.send(method(1, CLASS.confirm, 10, u8(0)))
  await expectMethod(w, CLASS.confirm, 11, 'confirm.select-ok')
}

/** The consumer tag we ask for; basic.deliver carries it right before the delivery tag. */
export const CONSUMER_TAG = 'c'

/** basic.qos prefetch-count, then basic.consume with manual acks. */
export async function consume(w: Wire, q: string, prefetch: number): Promise<void> {
  w.send(method(1, CLASS.basic, 10, u32(0) + u16(prefetch) + u8(0)))
  await expectMethod(w, CLASS.basic, 11, 'basic.qos-ok')
  w.send(method(1, CLASS.basic, 20, u16(0) + shortstr(q) + shortstr(CONSUMER_TAG) + u8(0) + EMPTY_TABLE))
  await expectMethod(w, CLASS.basic, 21, 'basic.consume-ok')
}

/**
 * Everything of a basic.publish to the default exchange with routing key `q`
 * except the body and its frame end: method frame, content header (priority,
 * delivery-mode 2 if persistent) and the body frame's header. Bodies of one
 * run all have the same length, so this is built once per priority.
 */
export function publishPrefix(q: string, bodyLength: number, priority: number, persistent: boolean): string {
  const m = method(1, CLASS.basic, 40, u16(0) + shortstr('') + shortstr(q) + u8(0))
  // property flags: bit 12 delivery-mode, bit 11 priority; values follow in flag order
  const flags = (persistent ? 1 << 12 : 0) | (priority >= 0 ? 1 << 11 : 0)
  const props = (persistent ? u8(2) : '') + (priority >= 0 ? u8(priority) : '')
  const header = u16(CLASS.basic) + u16(0) + u64(bodyLength) + u16(flags) + props
  return m + '\x02' + u16(1) + u32(header.length) + header + FRAME_END + '\x03' + u16(1) + u32(bodyLength)
}
export { FRAME_END }

/** Markers the hot path scans for: basic.ack / basic.nack (publisher confirms) and basic.deliver. */
export const MARK = {
  ack: Buffer.from([0, 60, 0, 80]),
  nack: Buffer.from([0, 60, 0, 120]),
  deliver: Buffer.from([0, 60, 0, 60]),
}

/** basic.ack for a delivery tag given as its 8 raw bytes. */
export function ackFrame(tag8: string): string {
  return '\x01\x00\x01\x00\x00\x00\x0d\x00\x3c\x00\x50' + tag8 + '\x00' + FRAME_END
}

/**
 * Counts publisher confirms: basic.ack/nack carry a sequence number and a
 * `multiple` flag (everything up to it). Returns how many publishes each one
 * newly settles.
 */
export class ConfirmTracker {
  private readonly seen: Uint8Array
  private upTo = 0
  constructor(total: number) {
    this.seen = new Uint8Array(total + 2)
  }
  settle(tag: number, multiple: boolean): number {
    let n = 0
    if (multiple) {
      for (let t = this.upTo + 1; t <= tag && t < this.seen.length; t++) {
        if (this.seen[t] === 0) {
          this.seen[t] = 1
          n++
        }
      }
      if (tag > this.upTo) this.upTo = tag
    } else if (tag < this.seen.length && this.seen[tag] === 0) {
      this.seen[tag] = 1
      n++
    }
    return n
  }
}

/** Best-effort connection.close (the socket is destroyed right after). */
export function closeFrame(): string {
  return method(0, CLASS.connection, 50, u16(200) + shortstr('bye') + u16(0) + u16(0))
}
