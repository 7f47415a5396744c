// Ackline dashboard: preact + htm (no build step), uPlot for charts, live
// figures over Server-Sent Events (/api/live). See docs/dashboard.md.
import { h, render } from 'preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import htm from 'htm'
import uPlot from 'uplot'

const html = htm.bind(h)

/** Seconds of history the rate chart keeps. */
const HISTORY = 300
const SERIES = [
  ['published', '#2563eb'],
  ['delivered', '#16a34a'],
  ['acked', '#9333ea'],
  ['redelivered', '#ea580c'],
  ['deadLettered', '#dc2626'],
]

// --- formatting ---
const num = (n) => n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 2 })
function bytes (n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}
function ms (n) {
  if (!n) return '0 s'
  if (n < 1000) return `${Math.round(n)} ms`
  if (n < 60000) return `${(n / 1000).toFixed(1)} s`
  if (n < 3600000) return `${(n / 60000).toFixed(1)} min`
  return `${(n / 3600000).toFixed(1)} h`
}

// --- data ---
async function api (method, url, body) {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  const json = text === '' ? {} : JSON.parse(text)
  if (!res.ok) throw new Error(json.error ? `${json.error.code} ${json.error.message}` : `HTTP ${res.status}`)
  return json
}

/** The live feed: the latest frame, per-second rates and their history. */
function useLive (topic) {
  const [frame, setFrame] = useState(null)
  const [connected, setConnected] = useState(false)
  const hist = useRef({ t: [], ...Object.fromEntries(SERIES.map(([k]) => [k, []])), topicRates: {}, prev: null, prevTopics: null, fsyncMs: null })
  useEffect(() => {
    const es = new EventSource('/api/live' + (topic ? '?topic=' + encodeURIComponent(topic) : ''))
    es.onopen = () => setConnected(true)
    es.onerror = () => setConnected(false)
    es.onmessage = (m) => {
      const f = JSON.parse(m.data)
      const H = hist.current
      const o = f.overview
      if (H.prev !== null && o.at > H.prev.at) {
        const dt = (o.at - H.prev.at) / 1000
        H.t.push(o.at / 1000)
        for (const [k] of SERIES) H[k].push(Math.max(0, (o[k] - H.prev[k]) / dt))
        if (H.t.length > HISTORY) for (const k of ['t', ...SERIES.map(([k]) => k)]) H[k].shift()
        const commits = o.journalCommits - H.prev.journalCommits
        if (commits > 0) H.fsyncMs = (o.journalCommitSeconds - H.prev.journalCommitSeconds) / commits * 1000
        const rates = {}
        for (const r of f.topics) {
          const p = H.prevTopics?.[r.name]
          rates[r.name] = p === undefined ? 0 : Math.max(0, (r.lastOffset - p) / dt)
        }
        H.topicRates = rates
      }
      H.prev = o
      H.prevTopics = Object.fromEntries(f.topics.map(r => [r.name, r.lastOffset]))
      setFrame(f)
    }
    return () => es.close()
  }, [topic])
  return { frame, connected, hist: hist.current }
}

// --- components ---
function Card ({ label, value, id }) {
  return html`<div class="card" data-testid=${'card-' + id}><div class="label">${label}</div><div class="value">${value}</div></div>`
}

function RateChart ({ hist, tick }) {
  const el = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    const opts = {
      width: el.current.clientWidth || 800,
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: 'events / s' }],
      series: [{}, ...SERIES.map(([k, stroke]) => ({ label: k, stroke, width: 2, points: { show: false } }))],
    }
    plot.current = new uPlot(opts, [[], ...SERIES.map(() => [])], el.current)
    const resize = () => plot.current.setSize({ width: el.current.clientWidth, height: 220 })
    window.addEventListener('resize', resize)
    return () => { window.removeEventListener('resize', resize); plot.current.destroy() }
  }, [])
  useEffect(() => {
    plot.current?.setData([hist.t.slice(), ...SERIES.map(([k]) => hist[k].slice())])
  }, [tick])
  return html`<div class="panel"><div ref=${el} data-testid="rate-chart"></div></div>`
}

function Confirm ({ ask, onYes, onNo }) {
  if (ask === null) return null
  return html`<div class="modal"><div class="box" role="dialog">
    <div data-testid="confirm-text">${ask}</div>
    <div class="actions"><button onClick=${onNo}>Cancel</button><button class="primary" data-testid="confirm-yes" onClick=${onYes}>Confirm</button></div>
  </div></div>`
}

const COLUMNS = [
  ['name', 'Topic', false],
  ['retainedEvents', 'Retained', true],
  ['firstOffset', 'First offset', true],
  ['lastOffset', 'Last offset', true],
  ['pending', 'Pending', true],
  ['inFlight', 'In flight', true],
  ['subscribers', 'Subscribers', true],
  ['rate', 'Published / s', true],
  ['oldestPendingMs', 'Oldest pending', true],
  ['dlq', 'DLQ', true],
]

function TopicsTable ({ rows, rates, me, confirm, setMessage }) {
  const [filter, setFilter] = useState('')
  const [sort, setSort] = useState(['name', 1])
  const [newName, setNewName] = useState('')
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase()
    const list = rows.filter(r => f === '' || r.name.toLowerCase().includes(f)).map(r => ({ ...r, rate: rates[r.name] ?? 0 }))
    const [key, dir] = sort
    return list.sort((a, b) => {
      const x = a[key] ?? -1
      const y = b[key] ?? -1
      return (x < y ? -1 : x > y ? 1 : 0) * dir
    })
  }, [rows, rates, filter, sort])
  const create = (e) => {
    e.preventDefault()
    const name = newName.trim()
    if (name === '') return
    confirm(`Create topic ${name}?`, async () => {
      try {
        const r = await api('POST', '/api/topics', { topic: name })
        setMessage({ ok: r.ok })
        setNewName('')
      } catch (err) { setMessage({ error: err.message }) }
    })
  }
  const del = (name) => confirm(`Delete topic ${name} and every event and subscription in it? This cannot be undone.`, async () => {
    try { setMessage({ ok: (await api('DELETE', '/api/topics/' + encodeURIComponent(name))).ok }) } catch (err) { setMessage({ error: err.message }) }
  })
  return html`<div class="panel">
    <div class="toolbar">
      <input placeholder="Filter topics" value=${filter} onInput=${e => setFilter(e.target.value)} data-testid="topic-filter" />
      <span class="muted">${shown.length} of ${rows.length}</span>
      <span style="flex:1"></span>
      ${me.canCreate && html`<form onSubmit=${create} class="toolbar" style="margin:0">
        <input placeholder="new topic name" value=${newName} onInput=${e => setNewName(e.target.value)} data-testid="create-name" />
        <button class="primary" data-testid="create-topic">Create topic</button>
      </form>`}
    </div>
    <table data-testid="topics-table">
      <thead><tr>${COLUMNS.map(([key, label, n]) => html`<th class=${n ? 'num' : ''} data-sort=${key} onClick=${() => setSort(([k, d]) => [key, k === key ? -d : (n ? -1 : 1)])}>${label}${sort[0] === key ? (sort[1] > 0 ? ' ▲' : ' ▼') : ''}</th>`)}${me.canDelete && html`<th></th>`}</tr></thead>
      <tbody>${shown.map(r => html`<tr data-testid="topic-row" data-topic=${r.name}>
        <td><a href=${'#/topic/' + encodeURIComponent(r.name)}>${r.name}</a></td>
        <td class="num">${num(r.retainedEvents)}</td>
        <td class="num">${num(r.firstOffset)}</td>
        <td class="num" data-col="lastOffset">${num(r.lastOffset)}</td>
        <td class="num" data-col="pending">${num(r.pending)}</td>
        <td class="num">${num(r.inFlight)}</td>
        <td class="num">${num(r.subscribers)}</td>
        <td class="num">${num(r.rate)}</td>
        <td class="num">${ms(r.oldestPendingMs)}</td>
        <td class="num" data-col="dlq">${r.dlq === null ? '' : html`<a href=${'#/topic/' + encodeURIComponent(r.name + '.dlq')}>${num(r.dlq)}</a>`}</td>
        ${me.canDelete && html`<td><button class="danger" data-testid="delete-topic" onClick=${() => del(r.name)}>Delete</button></td>`}
      </tr>`)}</tbody>
    </table>
  </div>`
}

function Overview ({ live, me, confirm, setMessage }) {
  const { frame, hist } = live
  if (frame === null) return html`<p class="loading">Waiting for the broker…</p>`
  const o = frame.overview
  return html`<div>
    <div class="cards">
      <${Card} id="connections" label="Connections" value=${num(o.connections)} />
      <${Card} id="topics" label="Topics" value=${num(o.topics)} />
      <${Card} id="published" label="Published (total)" value=${num(o.published)} />
      <${Card} id="delivered" label="Delivered (total)" value=${num(o.delivered)} />
      <${Card} id="acked" label="Acked (total)" value=${num(o.acked)} />
      <${Card} id="pending" label="Pending" value=${num(o.pending)} />
      <${Card} id="inflight" label="In flight" value=${num(o.inFlight)} />
      <${Card} id="deadlettered" label="Dead-lettered (total)" value=${num(o.deadLettered)} />
      <${Card} id="fsync" label="Journal fsync (avg, last s)" value=${hist.fsyncMs === null ? '–' : hist.fsyncMs.toFixed(2) + ' ms'} />
      <${Card} id="disk" label="Log dir on disk" value=${bytes(o.diskUsedBytes)} />
      <${Card} id="diskfree" label="Disk free" value=${bytes(o.diskFreeBytes)} />
      <${Card} id="uptime" label="Uptime" value=${ms(o.uptimeMs)} />
    </div>
    <h2>Events per second (last ${HISTORY / 60} minutes)</h2>
    <${RateChart} hist=${hist} tick=${o.at} />
    <h2>Topics</h2>
    <${TopicsTable} rows=${frame.topics} rates=${hist.topicRates} me=${me} confirm=${confirm} setMessage=${setMessage} />
  </div>`
}

function Peek ({ name, isDlq, confirm, setMessage, version }) {
  const [peek, setPeek] = useState(null)
  const [error, setError] = useState(null)
  const load = async () => {
    try { setPeek(await api('GET', `/api/topics/${encodeURIComponent(name)}/peek?limit=20`)); setError(null) } catch (err) { setError(err.message) }
  }
  useEffect(() => { load() }, [name, version])
  const requeue = (which) => confirm(which === 'all' ? `Requeue every dead letter of ${name} to its topic?` : `Requeue dead letter ${which} to its topic?`, async () => {
    try {
      const r = await api('POST', `/api/topics/${encodeURIComponent(name)}/requeue`, { which })
      setMessage({ ok: r.ok })
      load()
    } catch (err) { setMessage({ error: err.message }) }
  })
  return html`<div class="panel" data-testid="peek">
    <div class="toolbar">
      <strong>${isDlq ? 'Dead letters' : 'Next events'}</strong>
      <span class="muted">${isDlq ? 'waiting in this dead-letter topic' : peek?.owed === false ? 'nothing owed: the newest retained' : 'from the oldest one a subscriber still owes'} (read-only)</span>
      <span style="flex:1"></span>
      <button onClick=${load} data-testid="peek-refresh">Refresh</button>
      ${isDlq && html`<button class="primary" data-testid="requeue-all" onClick=${() => requeue('all')}>Requeue all</button>`}
    </div>
    ${error && html`<p class="error">${error}</p>`}
    ${peek && peek.events.length === 0 && html`<p class="muted" data-testid="peek-empty">No events.</p>`}
    ${peek && peek.events.length > 0 && html`<table><thead><tr><th class="num">Offset</th><th>Id</th><th>Event</th>${isDlq && html`<th></th>`}</tr></thead><tbody>
      ${peek.events.map(e => html`<tr data-testid="peek-row"><td class="num">${e.offset}</td><td>${e.id}</td><td><pre class="event">${e.json}</pre></td>
        ${isDlq && html`<td><button data-testid="requeue-one" onClick=${() => requeue(e.id)}>Requeue</button></td>`}</tr>`)}
    </tbody></table>`}
  </div>`
}

function PublishForm ({ name, setMessage }) {
  const [text, setText] = useState('{"msg":"hello from the dashboard"}')
  const [result, setResult] = useState(null)
  const send = async (e) => {
    e.preventDefault()
    try {
      const res = await fetch(`/topics/${encodeURIComponent(name)}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })
      const body = await res.json()
      setResult(res.ok ? { ok: `published ${body.id} (${body.subscribers} subscriber${body.subscribers === 1 ? '' : 's'})` } : { error: `${body.error.code} ${body.error.message}` })
    } catch (err) { setResult({ error: err.message }) }
  }
  return html`<form class="panel" onSubmit=${send}>
    <strong>Publish</strong>
    <textarea data-testid="publish-json" value=${text} onInput=${e => setText(e.target.value)}></textarea>
    <div class="toolbar"><button class="primary" data-testid="publish-send">Publish</button>
      ${result && html`<span data-testid="publish-result" class=${result.ok ? 'okmsg' : 'error'}>${result.ok ?? result.error}</span>`}</div>
  </form>`
}

function TopicPage ({ name, live, confirm, setMessage, version }) {
  const { frame } = live
  if (frame === null) return html`<p class="loading">Waiting for the broker…</p>`
  const t = frame.topic
  if (t === null) return html`<p class="error" data-testid="no-topic">Topic ${name} does not exist, or you may not see it. <a href="#/">Back</a></p>`
  const isDlq = name.endsWith('.dlq')
  return html`<div>
    <h2 data-testid="topic-title">${name}</h2>
    <div class="cards">
      <${Card} id="t-last" label="Last offset" value=${num(t.lastOffset)} />
      <${Card} id="t-retained" label="Retained" value=${num(t.retainedEvents) + ' / ' + bytes(t.retainedBytes)} />
      <${Card} id="t-pending" label="Pending" value=${num(t.pending)} />
      <${Card} id="t-inflight" label="In flight" value=${num(t.inFlight)} />
      <${Card} id="t-oldest" label="Oldest pending" value=${ms(t.oldestPendingMs)} />
      ${t.dlq !== null && html`<${Card} id="t-dlq" label="Dead letters" value=${html`<a href=${'#/topic/' + encodeURIComponent(name + '.dlq')}>${num(t.dlq)}</a>`} />`}
    </div>
    <h2>Subscribers</h2>
    <div class="panel"><table data-testid="subscribers"><thead><tr><th>Name</th><th>Connection</th><th class="num">In flight / cap</th><th class="num">Pending</th><th class="num">Oldest pending</th><th class="num">Redeliveries</th></tr></thead>
      <tbody>${t.subscriberList.map(s => html`<tr data-testid="subscriber-row"><td>${s.name ?? html`<span class="muted">anonymous</span>`}</td><td>${s.connection ?? html`<span class="muted">away</span>`}</td>
        <td class="num">${s.inFlight} / ${s.maxInFlight}</td><td class="num">${num(s.pending)}</td><td class="num">${ms(s.oldestPendingMs)}</td><td class="num">${num(s.redeliveries)}</td></tr>`)}
      ${t.subscriberList.length === 0 && html`<tr><td colspan="6" class="muted">No subscribers.</td></tr>`}</tbody></table></div>
    ${t.webhooks.length > 0 && html`<h2>Webhooks</h2><div class="panel"><table data-testid="webhooks"><thead><tr><th>Name</th><th>URL</th><th class="num">In flight</th><th class="num">Failures</th><th>State</th><th>Next attempt</th><th>Last error</th></tr></thead>
      <tbody>${t.webhooks.map(w => html`<tr><td>${w.name}</td><td>${w.url}</td><td class="num">${w.inFlight}</td><td class="num">${w.consecutiveFailures}</td>
        <td>${w.disabled ? html`<span class="error">disabled: ${w.disabledReason}</span>` : w.consecutiveFailures > 0 ? html`<span class="error">failing</span>` : html`<span class="okmsg">ok</span>`}</td>
        <td>${w.nextAttemptAt ? new Date(w.nextAttemptAt).toLocaleTimeString() : ''}</td><td>${w.lastError ?? ''}</td></tr>`)}</tbody></table></div>`}
    <div class="grid2">
      <${Peek} name=${name} isDlq=${isDlq} confirm=${confirm} setMessage=${setMessage} version=${version} />
      <${PublishForm} name=${name} setMessage=${setMessage} />
    </div>
  </div>`
}

function route () {
  const m = /^#\/topic\/(.+)$/.exec(location.hash)
  return m === null ? { page: 'overview' } : { page: 'topic', topic: decodeURIComponent(m[1]) }
}

function App () {
  const [r, setR] = useState(route())
  const [me, setMe] = useState(null)
  const [message, setMessage] = useState(null)
  const [ask, setAsk] = useState(null)
  const [version, setVersion] = useState(0)
  useEffect(() => {
    const on = () => { setR(route()); setMessage(null) }
    window.addEventListener('hashchange', on)
    api('GET', '/api/me').then(setMe, err => setMessage({ error: err.message }))
    return () => window.removeEventListener('hashchange', on)
  }, [])
  const live = useLive(r.page === 'topic' ? r.topic : null)
  const confirm = (text, action) => setAsk({ text, action })
  const report = (m) => { setMessage(m); setVersion(v => v + 1) }
  return html`<div>
    <header><h1><a href="#/">Ackline</a></h1>${r.page === 'topic' && html`<span>› ${r.topic}</span>`}<span class="grow"></span>
      <span class=${'live' + (live.connected ? ' on' : '')} data-testid="live">${live.connected ? 'live' : 'connecting…'}</span>
      ${me?.user && html`<span data-testid="user">${me.user}</span>`}</header>
    <main>
      ${message && html`<p data-testid="message" class=${message.ok ? 'okmsg' : 'error'}>${message.ok ?? message.error}</p>`}
      ${me === null ? html`<p class="loading">Loading…</p>` : r.page === 'topic'
        ? html`<${TopicPage} name=${r.topic} live=${live} confirm=${confirm} setMessage=${report} version=${version} />`
        : html`<${Overview} live=${live} me=${me} confirm=${confirm} setMessage=${report} />`}
    </main>
    <${Confirm} ask=${ask && ask.text} onNo=${() => setAsk(null)} onYes=${() => { const a = ask.action; setAsk(null); a() }} />
  </div>`
}

render(html`<${App} />`, document.getElementById('app'))
