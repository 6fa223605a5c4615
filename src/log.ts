import { createRequire } from 'node:module'

/** A component logger: printf-style, a no-op unless its namespace is enabled. */
export type Log = (format: string, ...args: unknown[]) => void

const NOTHING: Log = () => {}

/**
 * The logger of one component (`meshcache:mesh`, `meshcache:persist`, ...), off by
 * default, enabled like `debug` (`DEBUG=meshcache:*`). When no namespace of meshcache is
 * enabled the `debug` package is not even loaded (it costs ~7 MB of RSS in a bare
 * process, and asks `tty.isatty` per call): a disabled logger is an empty function.
 */
export function logger(namespace: string): Log {
  const enabled = process.env.DEBUG
  if (enabled === undefined || !enabled.includes('meshcache')) return NOTHING
  const createDebug = createRequire(import.meta.url)('debug') as (ns: string) => Log & {
    enabled: boolean
  }
  const log = createDebug(namespace)
  return log.enabled ? log : NOTHING
}
