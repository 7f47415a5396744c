import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns'
import { isIP, isIPv4 } from 'node:net'

/**
 * The SSRF guard of webhooks: which URLs and which addresses a webhook may
 * reach. Unless `webhooks.allowPrivateAddresses` is true, only public unicast
 * addresses are allowed; everything a server's own network could hide behind
 * (loopback, private and unique-local ranges, link-local with the cloud
 * metadata address, CGNAT, multicast, unspecified, documentation, reserved,
 * and IPv6 forms that embed such an IPv4 address) is refused. The check runs
 * on the addresses a name resolves to at every connection (a custom `lookup`),
 * so a name that resolved to a public address when the webhook was created
 * and resolves to 127.0.0.1 later (DNS rebinding) is still refused.
 */

interface V4Range { base: number, bits: number, kind: string }

function v4 (text: string): number {
  const p = text.split('.').map(Number)
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0
}

const V4_RANGES: V4Range[] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.169.254', 32, 'link-local (cloud metadata)'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved (6to4 relay)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'],
  ['240.0.0.0', 4, 'reserved'],
].map(([base, bits, kind]) => ({ base: v4(base as string), bits: bits as number, kind: kind as string }))

/** Why an IPv4 address (as a 32-bit number) is refused, or null when it is public. */
function v4Kind (n: number): string | null {
  for (const r of V4_RANGES) {
    if (r.bits === 32 ? n === r.base : (n >>> (32 - r.bits)) === (r.base >>> (32 - r.bits))) return r.kind
  }
  return null
}

/** An IPv6 address text (no brackets; a zone id is ignored) as a 128-bit number; undefined when not one. */
export function parseIPv6 (text: string): bigint | undefined {
  const zone = text.indexOf('%')
  let s = zone >= 0 ? text.slice(0, zone) : text
  if (isIP(s) !== 6) return undefined
  // A trailing dotted quad is the last 32 bits: write it as two hex groups.
  const lastColon = s.lastIndexOf(':')
  if (s.includes('.', lastColon)) {
    const n = v4(s.slice(lastColon + 1))
    s = s.slice(0, lastColon + 1) + (n >>> 16).toString(16) + ':' + (n & 0xffff).toString(16)
  }
  const double = s.indexOf('::')
  const hex = (part: string): number[] => part === '' ? [] : part.split(':').map(h => parseInt(h, 16))
  const head = hex(double < 0 ? s : s.slice(0, double))
  const rest = double < 0 ? [] : hex(s.slice(double + 2))
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
  let n = 0n
  for (const g of groups) n = (n << 16n) | BigInt(g)
  return n
}

function v6 (text: string): bigint {
  return parseIPv6(text)!
}

interface V6Range { base: bigint, bits: number, kind: string, embedsV4At?: number }

// Order matters: exact addresses and embedding forms before the ranges that contain them.
const V6_RANGES: V6Range[] = [
  { base: v6('::'), bits: 128, kind: 'unspecified' },
  { base: v6('::1'), bits: 128, kind: 'loopback' },
  { base: v6('::ffff:0:0'), bits: 96, kind: 'IPv4-mapped', embedsV4At: 0 },
  { base: v6('::ffff:0:0:0'), bits: 96, kind: 'IPv4-translated', embedsV4At: 0 },
  { base: v6('::'), bits: 96, kind: 'IPv4-compatible', embedsV4At: 0 },
  { base: v6('64:ff9b::'), bits: 96, kind: 'NAT64', embedsV4At: 0 },
  { base: v6('2002::'), bits: 16, kind: '6to4', embedsV4At: 80 },
  { base: v6('2001:db8::'), bits: 32, kind: 'documentation' },
  { base: v6('3fff::'), bits: 20, kind: 'documentation' },
  { base: v6('2001::'), bits: 23, kind: 'reserved (IETF protocol assignments, Teredo)' },
  { base: v6('fc00::'), bits: 7, kind: 'private (unique local)' },
  { base: v6('fe80::'), bits: 10, kind: 'link-local' },
  { base: v6('fec0::'), bits: 10, kind: 'private (site-local)' },
  { base: v6('ff00::'), bits: 8, kind: 'multicast' },
]

const GLOBAL_UNICAST: V6Range = { base: v6('2000::'), bits: 3, kind: 'global unicast' }

function inV6 (n: bigint, r: V6Range): boolean {
  const shift = BigInt(128 - r.bits)
  return (n >> shift) === (r.base >> shift)
}

function v6Kind (n: bigint): string | null {
  for (const r of V6_RANGES) {
    if (!inV6(n, r)) continue
    if (r.embedsV4At === undefined) return r.kind
    const inner = Number((n >> BigInt(r.embedsV4At)) & 0xffffffffn)
    const innerKind = v4Kind(inner)
    if (innerKind === null) return null // e.g. ::ffff:8.8.8.8 reaches a public IPv4 address
    const dotted = [inner >>> 24, (inner >>> 16) & 255, (inner >>> 8) & 255, inner & 255].join('.')
    return `${r.kind} ${dotted}, ${innerKind}`
  }
  // Outside 2000::/3 nothing is assigned for the public internet.
  return inV6(n, GLOBAL_UNICAST) ? null : 'reserved'
}

/**
 * Why `ip` may not be reached without allowPrivateAddresses (a few words such
 * as `loopback` or `IPv4-mapped 10.0.0.1, private`), or null when it is a
 * public unicast address. Anything that is not an IP address text is refused.
 */
export function addressKind (ip: string): string | null {
  if (isIPv4(ip)) return v4Kind(v4(ip))
  const n = parseIPv6(ip)
  return n === undefined ? 'not an IP address' : v6Kind(n)
}

/** A connection refused by the address policy. Its `code` lets a caller tell it from network errors. */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_WEBHOOK_ADDRESS'
  constructor (host: string, address: string, kind: string) {
    super(host === address
      ? `address ${address} is ${kind}; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)`
      : `host ${host} resolves to ${address}, ${kind}; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)`)
  }
}

/** Whether `address` (reached as `host`) may be connected to; the error to report otherwise. */
export function checkAddress (host: string, address: string, allowPrivate: boolean): AddressRefusedError | null {
  if (allowPrivate) return null
  const kind = addressKind(address)
  return kind === null ? null : new AddressRefusedError(host, address, kind)
}

/** One address a name resolves to. */
export interface ResolvedAddress { address: string, family: number }

/** Resolves a host name to every address it has. Injected in tests, so they need no DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/** The system resolver (getaddrinfo, as node:net uses by default; /etc/hosts included). */
export const systemResolver: Resolver = async (hostname) => await dns.lookup(hostname, { all: true, verbatim: true })

/** The shape of `lookup` that node:net (and so node:http/https) calls before it connects to a name. */
export type LookupFunction = (hostname: string, options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void

/**
 * A `lookup` for node:net that resolves with `resolver` and refuses, before
 * any connection is attempted, a name with ANY refused address (a name with
 * one public and one private record could otherwise be steered to the
 * private one). Honours `family` and `all` (Node's happy-eyeballs asks for all).
 */
export function guardedLookup (resolver: Resolver, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(found => {
      for (const a of found) {
        const refused = checkAddress(hostname, a.address, allowPrivate)
        if (refused !== null) { callback(refused, ''); return }
      }
      const family = options.family === 4 || options.family === 6 ? options.family : 0
      const usable = family === 0 ? found : found.filter(a => a.family === family)
      if (usable.length === 0) {
        const err: NodeJS.ErrnoException = new Error(`host ${hostname} has no ${family === 0 ? '' : `IPv${family} `}address`)
        err.code = 'ENOTFOUND'
        callback(err, '')
        return
      }
      if (options.all === true) callback(null, usable.map(a => ({ address: a.address, family: a.family })))
      else callback(null, usable[0].address, usable[0].family)
    }, (err: NodeJS.ErrnoException) => callback(err, ''))
  }
}

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048

/**
 * Parses a webhook URL: absolute, http or https (which always have a host), no user name or
 * password (the signature authenticates the broker). Returns the URL or a
 * sentence saying what is wrong.
 */
export function parseWebhookUrl (text: string): URL | string {
  if (text.length > MAX_URL_LENGTH) return `url is longer than ${MAX_URL_LENGTH} characters`
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'url is not an absolute URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url scheme must be http or https, got ${url.protocol.slice(0, -1).slice(0, 20)}`
  if (url.username !== '' || url.password !== '') return 'url must not contain a user name or password'
  return url
}

/** The IP address a URL names literally (IPv6 without brackets), or null when it names a host. */
export function literalAddress (url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return isIP(host) !== 0 ? host : null
}

/**
 * The check at creation: the URL's form, and, unless private addresses are
 * allowed, its literal address or every address its host resolves to now.
 * Returns null when the URL is acceptable, or a sentence for the API's 400.
 * Delivery checks again at every connection.
 */
export async function checkWebhookUrl (text: string, allowPrivate: boolean, resolver: Resolver = systemResolver): Promise<string | null> {
  const url = parseWebhookUrl(text)
  if (typeof url === 'string') return url
  if (allowPrivate) return null
  const literal = literalAddress(url)
  if (literal !== null) return checkAddress(literal, literal, false)?.message ?? null
  let found: ResolvedAddress[]
  try {
    found = await resolver(url.hostname)
  } catch (err) {
    return `cannot resolve host ${url.hostname} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
  }
  if (found.length === 0) return `host ${url.hostname} has no address`
  for (const a of found) {
    const refused = checkAddress(url.hostname, a.address, false)
    if (refused !== null) return refused.message
  }
  return null
}
