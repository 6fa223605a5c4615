/**
 * Structured logs of `meshcache node`: one JSON object per line on stderr (pino), so
 * stdout keeps the human-readable start lines. Level by `--log-level` /
 * `MESHCACHE_LOG_LEVEL`.
 * @module
 */
import { type Logger, pino } from 'pino'

/** Log levels `--log-level` accepts, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The logger of a node process: JSON lines on stderr, written synchronously (none lost on exit). */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  )
}
