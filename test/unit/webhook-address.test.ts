import t from 'tap'
import type { LookupAddress } from 'node:dns'
import { addressKind, checkWebhookUrl, guardedLookup, literalAddress, parseIPv6, parseWebhookUrl, MAX_URL_LENGTH, type ResolvedAddress, type Resolver } from '../../src/webhooks/addressPolicy'

t.test('refused addresses, with the reason the error will show', async t => {
  const refused: Array<[string, RegExp]> = [
    ['127.0.0.1', /^loopback$/],
    ['127.255.255.254', /^loopback$/],
    ['10.0.0.1', /^private$/],
    ['10.255.255.255', /^private$/],
    ['172.16.0.0', /^private$/],
    ['172.31.255.255', /^private$/],
    ['192.168.0.1', /^private$/],
    ['169.254.169.254', /cloud metadata/],
    ['169.254.0.1', /^link-local$/],
    ['100.64.0.0', /CGNAT/],
    ['100.127.255.255', /CGNAT/],
    ['100.100.100.200', /CGNAT/], // Alibaba's metadata address
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.255', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.0.170', /reserved/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['::', /^unspecified$/],
    ['::1', /^loopback$/],
    ['fe80::1', /^link-local$/],
    ['fe80::1%eth0', /^link-local$/],
    ['febf:ffff::1', /^link-local$/],
    ['fc00::1', /unique local/],
    ['fd00:ec2::254', /unique local/], // AWS's IPv6 metadata address
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /^IPv4-mapped 127\.0\.0\.1, loopback$/],
    ['::ffff:7f00:1', /^IPv4-mapped 127\.0\.0\.1, loopback$/],
    ['::ffff:10.1.2.3', /^IPv4-mapped 10\.1\.2\.3, private$/],
    ['::ffff:169.254.169.254', /IPv4-mapped 169\.254\.169\.254, link-local \(cloud metadata\)/],
    ['::ffff:0:192.168.1.1', /IPv4-translated 192\.168\.1\.1, private/],
    ['::127.0.0.1', /IPv4-compatible 127\.0\.0\.1, loopback/],
    ['64:ff9b::10.0.0.1', /NAT64 10\.0\.0\.1, private/],
    ['2002:a9fe:a9fe::1', /6to4 169\.254\.169\.254/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['2001::1', /Teredo/],
    ['100::1', /reserved/],
    ['4000::1', /reserved/], // outside 2000::/3
    ['not-an-ip', /not an IP address/],
    ['1.2.3', /not an IP address/],
  ]
  for (const [ip, reason] of refused) t.match(addressKind(ip), reason, ip)
})

t.test('public addresses pass, including the edges next to refused ranges', async t => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
    '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0',
    '198.17.255.255', '198.20.0.0', '223.255.255.255', '2001:4860:4860::8888', '2606:4700::1111', '2a00:1450::1',
    '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1', '2001:200::1', '3fff:1000::1']) {
    t.equal(addressKind(ip), null, ip)
  }
})

t.test('IPv6 parsing expands :: and dotted quads', async t => {
  t.equal(parseIPv6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n)
  t.equal(parseIPv6('1::8'), 0x00010000000000000000000000000008n)
  t.equal(parseIPv6('::'), 0n)
  t.equal(parseIPv6('1::'), 1n << 112n)
  t.equal(parseIPv6('::ffff:1.2.3.4'), 0xffff01020304n)
  t.equal(parseIPv6('1:2:3:4:5:6:1.2.3.4'), 0x00010002000300040005000601020304n)
  t.equal(parseIPv6('1.2.3.4'), undefined)
  t.equal(parseIPv6('1:::2'), undefined)
})

t.test('URLs: http and https only, a host, no credentials, bounded length', async t => {
  t.equal((parseWebhookUrl('https://hooks.example.com/x?y=1') as URL).host, 'hooks.example.com')
  t.equal((parseWebhookUrl('http://example.com:8080') as URL).port, '8080')
  t.equal(parseWebhookUrl('ftp://example.com/'), 'url scheme must be http or https, got ftp')
  t.equal(parseWebhookUrl('file:///etc/passwd'), 'url scheme must be http or https, got file')
  t.equal(parseWebhookUrl('gopher://127.0.0.1:6379/_INFO'), 'url scheme must be http or https, got gopher')
  t.equal(parseWebhookUrl('/relative'), 'url is not an absolute URL')
  t.equal(parseWebhookUrl('http://'), 'url is not an absolute URL')
  t.equal(parseWebhookUrl('http://user:pw@example.com/'), 'url must not contain a user name or password')
  t.equal(parseWebhookUrl('http://user@example.com/'), 'url must not contain a user name or password')
  const longest = 'https://example.com/' + 'a'.repeat(MAX_URL_LENGTH - 20)
  t.equal(longest.length, MAX_URL_LENGTH)
  t.type(parseWebhookUrl(longest), URL, 'a URL of exactly the maximum length')
  t.equal(parseWebhookUrl(longest + 'a'), `url is longer than ${MAX_URL_LENGTH} characters`)
})

t.test('literal addresses, after the URL parser normalised them', async t => {
  const lit = (u: string): string | null => literalAddress(parseWebhookUrl(u) as URL)
  t.equal(lit('http://127.0.0.1:9/'), '127.0.0.1')
  t.equal(lit('http://[::1]/'), '::1')
  t.equal(lit('http://[::ffff:127.0.0.1]/'), '::ffff:7f00:1')
  t.equal(lit('http://2130706433/'), '127.0.0.1', 'a decimal IPv4 address')
  t.equal(lit('http://0x7f.1/'), '127.0.0.1', 'a hex, short IPv4 address')
  t.equal(lit('http://017700000001/'), '127.0.0.1', 'an octal IPv4 address')
  t.equal(lit('http://example.com/'), null)
  t.equal(lit('http://localhost/'), null, 'a name: its addresses are checked when it is resolved')
})

/** A resolver that answers from a table, counting questions. No DNS. */
function tableResolver (table: Record<string, ResolvedAddress[]>): Resolver & { asked: string[] } {
  const asked: string[] = []
  const fn = async (host: string): Promise<ResolvedAddress[]> => {
    asked.push(host)
    const found = table[host]
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return found
  }
  return Object.assign(fn, { asked })
}

const PUBLIC4 = { address: '93.184.215.14', family: 4 }
const PUBLIC6 = { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }

t.test('creation check: literal, resolved and unresolvable hosts', async t => {
  const resolver = tableResolver({
    'hooks.example.com': [PUBLIC4, PUBLIC6],
    'internal.example.com': [{ address: '10.0.0.7', family: 4 }],
    'mixed.example.com': [PUBLIC4, { address: '::1', family: 6 }],
    'empty.example.com': [],
  })
  t.equal(await checkWebhookUrl('https://hooks.example.com/in', false, resolver), null)
  t.equal(await checkWebhookUrl('http://93.184.215.14/', false, resolver), null)
  t.equal(await checkWebhookUrl('http://127.0.0.1:8080/', false, resolver),
    'address 127.0.0.1 is loopback; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)')
  t.match(await checkWebhookUrl('http://169.254.169.254/latest/meta-data/', false, resolver), /^address 169\.254\.169\.254 is link-local \(cloud metadata\)/)
  t.match(await checkWebhookUrl('http://[::1]:80/', false, resolver), /^address ::1 is loopback/)
  t.match(await checkWebhookUrl('http://[::ffff:10.0.0.1]/', false, resolver), /^address ::ffff:a00:1 is IPv4-mapped 10\.0\.0\.1, private/)
  t.equal(await checkWebhookUrl('http://internal.example.com/', false, resolver),
    'host internal.example.com resolves to 10.0.0.7, private; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)')
  t.match(await checkWebhookUrl('http://mixed.example.com/', false, resolver), /resolves to ::1, loopback/, 'one private record is enough to refuse')
  t.equal(await checkWebhookUrl('http://nowhere.example.com/', false, resolver), 'cannot resolve host nowhere.example.com (ENOTFOUND)')
  t.equal(await checkWebhookUrl('http://empty.example.com/', false, resolver), 'host empty.example.com has no address')
  const codeless: Resolver = async () => { throw new Error('resolver is down') }
  t.equal(await checkWebhookUrl('http://hooks.example.com/', false, codeless), 'cannot resolve host hooks.example.com (resolver is down)')
  t.equal(await checkWebhookUrl('ftp://hooks.example.com/', false, resolver), 'url scheme must be http or https, got ftp')
  const before = resolver.asked.length
  t.equal(await checkWebhookUrl('http://127.0.0.1/', true, resolver), null, 'allowed when private addresses are')
  t.equal(await checkWebhookUrl('http://internal.example.com/', true, resolver), null)
  t.equal(resolver.asked.length, before, 'nothing to resolve when every address is allowed')
  t.equal(await checkWebhookUrl('mailto:x@example.com', true, resolver), 'url scheme must be http or https, got mailto', 'the form is checked even then')
})

type LookupAnswer = { err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number }

function lookup (fn: ReturnType<typeof guardedLookup>, host: string, options: { family?: number, all?: boolean }): Promise<LookupAnswer> {
  return new Promise(resolve => fn(host, options, (err, address, family) => resolve({ err, address, family })))
}

t.test('connect-time lookup: refuses before connecting, honours family and all', async t => {
  const resolver = tableResolver({
    'hooks.example.com': [PUBLIC4, PUBLIC6],
    'v6only.example.com': [PUBLIC6],
    'rebind.example.com': [{ address: '127.0.0.1', family: 4 }],
    'meta.example.com': [PUBLIC4, { address: '169.254.169.254', family: 4 }],
  })
  const guarded = guardedLookup(resolver, false)
  t.same(await lookup(guarded, 'hooks.example.com', {}), { err: null, address: PUBLIC4.address, family: 4 })
  t.same(await lookup(guarded, 'hooks.example.com', { family: 6 }), { err: null, address: PUBLIC6.address, family: 6 })
  t.same(await lookup(guarded, 'hooks.example.com', { all: true }), { err: null, address: [PUBLIC4, PUBLIC6], family: undefined })
  t.same(await lookup(guarded, 'hooks.example.com', { all: true, family: 4 }), { err: null, address: [PUBLIC4], family: undefined })
  const none = await lookup(guarded, 'v6only.example.com', { family: 4 })
  t.equal(none.err?.code, 'ENOTFOUND')
  t.equal(none.err?.message, 'host v6only.example.com has no IPv4 address')
  const empty = await lookup(guardedLookup(tableResolver({ 'empty.example.com': [] }), false), 'empty.example.com', {})
  t.equal(empty.err?.message, 'host empty.example.com has no address')
  const rebind = await lookup(guarded, 'rebind.example.com', { all: true })
  t.equal(rebind.err?.code, 'ERR_WEBHOOK_ADDRESS')
  t.equal(rebind.err?.message, 'host rebind.example.com resolves to 127.0.0.1, loopback; webhooks may reach only public addresses (webhooks.allowPrivateAddresses)')
  t.equal(rebind.address, '', 'no address is handed to node:net')
  const meta = await lookup(guarded, 'meta.example.com', { family: 4 })
  t.match(meta.err?.message, /169\.254\.169\.254, link-local \(cloud metadata\)/, 'refused even with a public record first')
  const failed = await lookup(guarded, 'nowhere.example.com', {})
  t.equal(failed.err?.code, 'ENOTFOUND', 'resolver errors pass through')
  const open = guardedLookup(resolver, true)
  t.same(await lookup(open, 'rebind.example.com', {}), { err: null, address: '127.0.0.1', family: 4 }, 'allowed when private addresses are')
})

t.test('the system resolver: localhost (from the hosts file) is loopback', async t => {
  t.match(await checkWebhookUrl('http://localhost:9/', false), /^host localhost resolves to (127\.0\.0\.1|::1), loopback/)
})
