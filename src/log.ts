import pino, { type Logger } from 'pino'

export type { Logger }

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/**
 * Structured JSON logs (pino) on stderr: connections, errors, auth denials,
 * recovery. stdout stays for the one human line the CLI prints.
 */
export function createLogger (level: LogLevel): Logger {
  return pino({ level, base: { name: 'ackline' } }, pino.destination({ fd: 2, sync: false }))
}

/** A logger that drops everything: the default for brokers embedded in tests. */
export const silentLogger: Logger = pino({ level: 'silent' })
