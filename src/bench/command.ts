import type { Command } from 'commander'
import { parseCount, parseDurationMs, parsePriorities } from './args'
import { BenchOptions, formatBenchResult, runBench } from './run'

interface RawOpts {
  host: string
  port: string
  publishers: string
  subscribers: string
  messages: string
  size: string
  priorities?: string
  inFlight: string
  ack: boolean
  topics: string
  window: string
  rate: string
  durationLimit: string
  topicPrefix: string
  subscriberName?: string
  json?: boolean
  progress: boolean
}

/** Turn commander's raw strings into BenchOptions (throws on invalid input). */
export function benchOptionsFrom(raw: RawOpts): BenchOptions {
  return {
    host: raw.host,
    port: parseCount(raw.port, '--port'),
    publishers: parseCount(raw.publishers, '--publishers'),
    subscribers: parseCount(raw.subscribers, '--subscribers', 0),
    messages: parseCount(raw.messages, '--messages'),
    size: parseCount(raw.size, '--size', 0),
    priorities: raw.priorities === undefined ? undefined : parsePriorities(raw.priorities),
    inFlight: parseCount(raw.inFlight, '--in-flight'),
    ack: raw.ack,
    topics: parseCount(raw.topics, '--topics'),
    window: parseCount(raw.window, '--window'),
    rate: parseCount(raw.rate, '--rate', 0),
    durationLimitMs: parseDurationMs(raw.durationLimit),
    topicPrefix: raw.topicPrefix,
    subscriberName: raw.subscriberName,
    progress: raw.progress,
  }
}

/** Adds `bench` to an `ackline` commander program. */
export function registerBenchCommand(program: Command): Command {
  return program
    .command('bench')
    .description('load generator: publish/subscribe/ack against a running Ackline broker and report throughput and latency')
    .option('--host <host>', 'broker host (loopback only for load tests)', '127.0.0.1')
    .option('--port <port>', 'broker port', '8000')
    .option('--publishers <n>', 'publisher connections', '1')
    .option('--subscribers <n>', 'subscriber connections (each subscribes to every topic)', '1')
    .option('--messages <n>', 'total events to publish (k/m suffixes ok)', '100000')
    .option('--size <bytes>', 'approximate event JSON size', '100')
    .option('--priorities <range>', 'random priority per event in range, e.g. 0-9 (default: none sent)')
    .option('--in-flight <n>', 'maxInFlight per subscriber per topic', '100')
    .option('--ack', 'subscribers ack every event (default)', true)
    .option('--no-ack', 'subscribers never ack (only in-flight-cap events get delivered)')
    .option('--topics <n>', 'number of topics; publishers round-robin over them', '1')
    .option('--window <n>', 'max outstanding unreplied pubs per publisher', '1000')
    .option('--rate <n>', 'open-loop target publish rate, events/s over all publishers (0 = unlimited)', '0')
    .option('--duration-limit <dur>', 'safety timeout for the whole run (e.g. 120s, 5m)', '120s')
    .option('--topic-prefix <prefix>', 'topic name prefix (a run id is appended)', 'bench')
    .option('--subscriber-name <name>', 'durable subscribers: subscriber i sends `name <name>-<i>` before `sub` (default: anonymous)')
    .option('--json', 'print one JSON object on stdout instead of the text report')
    .option('--no-progress', 'never show the progress bar')
    .action(async (raw: RawOpts) => {
      const r = await runBench(benchOptionsFrom(raw))
      if (raw.json) process.stdout.write(JSON.stringify(r) + '\n')
      else process.stdout.write(formatBenchResult(r) + '\n')
      if (!r.complete) process.exitCode = 1
    })
}
