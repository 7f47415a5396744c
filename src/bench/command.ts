import type { Command } from 'commander'
import { parseAckMode, parseCount, parseDurationMs, parsePriorities } from './args'
import { BenchOptions, formatBenchResult, runBench } from './run'

/** Defaults of `ackline bench`, as typed on the command line; shown in `--help` like `start`'s. */
export const BENCH_DEFAULTS = {
  host: '127.0.0.1',
  port: '8000',
  publishers: '1',
  subscribers: '1',
  messages: '100000',
  size: '100',
  inFlight: '100',
  topics: '1',
  window: '1000',
  rate: '0',
  durationLimit: '120s',
  topicPrefix: 'bench',
} as const

type Defaulted = keyof typeof BENCH_DEFAULTS

/** What commander hands over: a flag that was not given is undefined (its default comes from BENCH_DEFAULTS). */
type RawOpts = { [K in Defaulted]?: string } & {
  priorities?: string
  /** undefined unless --ack or --no-ack was given (both are defined, so commander sets no default); a string with a mode. */
  ack?: boolean | string
  subscriberName?: string
  json?: boolean
  progress: boolean
}

/** Turn commander's raw strings into BenchOptions (throws on invalid input). */
export function benchOptionsFrom(given: RawOpts): BenchOptions {
  // commander leaves out the flags that were not given, so the defaults fill exactly those.
  const raw = { ...BENCH_DEFAULTS, ...given }
  return {
    host: raw.host,
    port: parseCount(raw.port, '--port'),
    publishers: parseCount(raw.publishers, '--publishers'),
    subscribers: parseCount(raw.subscribers, '--subscribers', 0),
    messages: parseCount(raw.messages, '--messages'),
    size: parseCount(raw.size, '--size', 0),
    priorities: raw.priorities === undefined ? undefined : parsePriorities(raw.priorities),
    inFlight: parseCount(raw.inFlight, '--in-flight'),
    ack: raw.ack !== false,
    ackMode: typeof raw.ack === 'string' ? parseAckMode(raw.ack) : 'each',
    topics: parseCount(raw.topics, '--topics'),
    window: parseCount(raw.window, '--window'),
    rate: parseCount(raw.rate, '--rate', 0),
    durationLimitMs: parseDurationMs(raw.durationLimit),
    topicPrefix: raw.topicPrefix,
    subscriberName: raw.subscriberName,
    progress: raw.progress,
  }
}

function withDefault(description: string, key: Defaulted): string {
  return `${description} [default: ${BENCH_DEFAULTS[key]}]`
}

/** Adds `bench` to an `ackline` commander program. */
export function registerBenchCommand(program: Command): Command {
  return program
    .command('bench')
    .description('load generator: publish/subscribe/ack against a running Ackline broker and report throughput and latency')
    .option('--host <host>', withDefault('broker host (loopback only for load tests)', 'host'))
    .option('--port <port>', withDefault('broker port', 'port'))
    .option('--publishers <n>', withDefault('publisher connections', 'publishers'))
    .option('--subscribers <n>', withDefault('subscriber connections (each subscribes to every topic)', 'subscribers'))
    .option('--messages <n>', withDefault('total events to publish (k/m suffixes ok)', 'messages'))
    .option('--size <bytes>', withDefault('approximate event JSON size', 'size'))
    .option('--priorities <range>', 'random priority per event in range, e.g. 0-9 [default: none sent]')
    .option('--in-flight <n>', withDefault('maxInFlight per subscriber per topic', 'inFlight'))
    .option('--ack [mode]', 'how subscribers ack: each (an ack line per event), batch=<n> (one ack line for up to n events) or none (sub … ack=none, at most once) [default: each]')
    .option('--no-ack', 'subscribers never ack (only in-flight-cap events get delivered)')
    .option('--topics <n>', withDefault('number of topics; publishers round-robin over them', 'topics'))
    .option('--window <n>', withDefault('max outstanding unreplied pubs per publisher', 'window'))
    .option('--rate <n>', withDefault('open-loop target publish rate, events/s over all publishers (0 = unlimited)', 'rate'))
    .option('--duration-limit <dur>', withDefault('safety timeout for the whole run (e.g. 120s, 5m)', 'durationLimit'))
    .option('--topic-prefix <prefix>', withDefault('topic name prefix (a run id is appended)', 'topicPrefix'))
    .option('--subscriber-name <name>', 'durable subscribers: subscriber i sends `name <name>-<i>` before `sub` [default: anonymous]')
    .option('--json', 'print one JSON object on stdout instead of the text report')
    .option('--no-progress', 'never show the progress bar')
    .action(async (raw: RawOpts) => {
      const r = await runBench(benchOptionsFrom(raw))
      if (raw.json) process.stdout.write(JSON.stringify(r) + '\n')
      else process.stdout.write(formatBenchResult(r) + '\n')
      if (!r.complete) process.exitCode = 1
    })
}
