import type { BrokerStats, TopicInfo, TopicStats } from '../client'

/** Aligns rows of cells into columns (two spaces apart), for a terminal. */
export function columns (rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length) })
  return rows.map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join('  ')).join('\n') + '\n'
}

function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
}

function duration (ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min`
  return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`
}

const rate = (n: number): string => `${Math.round(n * 10) / 10}/s`

/** `stats` as a table for a person. */
export function formatBrokerStats (s: BrokerStats): string {
  const hits = Object.entries(s.limitHits).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`)
  return columns([
    ['topics', String(s.topics)],
    ['subscriptions', String(s.subscriptions)],
    ['pending', String(s.pending)],
    ['in flight', String(s.inFlight)],
    ['connections', `${s.connections} open, ${s.accepted} accepted since start`],
    ['published', `${s.published} (${rate(s.rates.published)})`],
    ['delivered', `${s.delivered} (${rate(s.rates.delivered)})`],
    ['acked', `${s.acked} (${rate(s.rates.acked)})`],
    ['redelivered', String(s.redelivered)],
    ['dead-lettered', `${s.deadLettered}${s.deadLetterBlocked > 0 ? `, ${s.deadLetterBlocked} blocked` : ''}`],
    ['dropped', String(s.dropped)],
    ['pending bytes', bytes(s.pendingBytes)],
    ['memory', `rss ${bytes(s.memory.rss)}, heap ${bytes(s.memory.heapUsed)}`],
    ['uptime', duration(s.uptimeMs)],
    ['limit hits', hits.length === 0 ? 'none' : hits.join(', ')],
  ])
}

/** `stats <topic>` as a summary line and a table of subscriptions. */
export function formatTopicStats (s: TopicStats): string {
  const head = `topic ${s.topic}: ${s.published} published, ${s.subscriptions} subscription${s.subscriptions === 1 ? '' : 's'}, ${s.pending} pending, ${s.inFlight} in flight\n`
  if (s.subscribers.length === 0) return head
  return head + columns([
    ['SUBSCRIBER', 'CONNECTED', 'PENDING', 'IN FLIGHT', 'MAX IN FLIGHT'],
    ...s.subscribers.map(sub => [sub.name ?? '(anonymous)', sub.connected ? 'yes' : 'no', String(sub.pending), String(sub.inFlight), String(sub.maxInFlight)]),
  ])
}

/** `topics` as a table, one row per topic; a line saying so when there is none. */
export function formatTopics (topics: TopicInfo[]): string {
  if (topics.length === 0) return 'no topics\n'
  return columns([
    ['TOPIC', 'OFFSETS', 'RETAINED', 'BYTES', 'SUBSCRIBERS', 'PENDING'],
    ...topics.map(tp => [
      tp.topic,
      tp.retainedEvents === 0 ? `- (last ${tp.lastOffset})` : `${tp.firstOffset}-${tp.lastOffset}`,
      String(tp.retainedEvents),
      bytes(tp.retainedBytes),
      String(tp.subscribers),
      String(tp.pending),
    ]),
  ])
}
