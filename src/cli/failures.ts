/**
 * How the `meshcache` command fails: one line on stderr (`meshcache: error: ...`) and a
 * stable exit code; the stack only with `--verbose`.
 * @module
 */
import { MeshcacheError } from '../errors.js'

/** Exit codes of the `meshcache` command. */
export const EXIT_CODES = {
  /** Done, or stopped by SIGINT/SIGTERM. */
  ok: 0,
  /** A runtime failure: a taken port, an unwritable directory, an unreachable node. */
  runtime: 1,
  /** Bad usage: an unknown flag, a malformed or out-of-range value, a bad config file. */
  usage: 2,
} as const

/** A failure with its one-line message and exit code. */
export class CliError extends Error {
  /**
   * @param message - one line saying what failed and what to do
   * @param exitCode - one of {@link EXIT_CODES}
   */
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'CliError'
  }
}

/** Text of a system error code, for people. */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this host',
  ECONNREFUSED: 'connection refused',
}

/** Why an address cannot be bound, for people (`http address 127.0.0.1:8080 is in use`). */
export function bindFailure(code: string | undefined, message: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'is in use'
    case 'EADDRNOTAVAIL':
      return 'is not an address of this host'
    case 'EACCES':
      return 'needs privileges to bind'
    default:
      return `cannot be bound: ${message}`
  }
}

/**
 * libp2p's failure to listen (`UnsupportedListenAddressesError`, wrapped by the library
 * in an `InvalidOptionError`): its message is advice about `transportManager.faultTolerance`
 * with each address's error and stack inlined. The line names each address and why,
 * like the HTTP port's. The per-address errors exist only in that text, so they are read
 * from it; a typed error from the library would make this exact.
 */
function listenFailure(err: unknown): string | undefined {
  let cause: unknown = err
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    if (cause.name === 'UnsupportedListenAddressesError') break
    cause = cause.cause
  }
  if (!(cause instanceof Error) || cause.name !== 'UnsupportedListenAddressesError')
    return undefined
  const reasons: string[] = []
  for (const m of cause.message.matchAll(/^\s*(\/\S+): (.*)$/gm)) {
    const code = /\b(E[A-Z]{3,})\b/.exec(m[2]!)?.[1]
    reasons.push(`libp2p address ${m[1]} ${bindFailure(code, m[2]!.replace(/^Error: /, ''))}`)
  }
  return reasons.length > 0 ? `${reasons.join('; ')} (--listen)` : 'cannot listen on --listen'
}

/** The one-line message and exit code of any error. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode }
  const listen = listenFailure(err)
  if (listen !== undefined) return { line: listen, exitCode: EXIT_CODES.runtime }
  if (err instanceof MeshcacheError) {
    // A refusal caused by the system (a directory that cannot be created, a file that
    // cannot be read) is a runtime failure, not a malformed option.
    const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code
    const system = typeof cause === 'string' && /^E[A-Z]+$/.test(cause)
    return {
      line: oneLine(err.message),
      exitCode:
        err.code === 'ERR_INVALID_OPTION' && !system ? EXIT_CODES.usage : EXIT_CODES.runtime,
    }
  }
  const e = err as NodeJS.ErrnoException | undefined
  const known = typeof e?.code === 'string' ? SYSTEM_ERRORS[e.code] : undefined
  if (known !== undefined) {
    const where = e?.path ?? (e as { address?: string })?.address
    return { line: `${known}${where ? `: ${where}` : ''}`, exitCode: EXIT_CODES.runtime }
  }
  return { line: oneLine(e?.message ?? String(err)), exitCode: EXIT_CODES.runtime }
}

/** Writes the failure's line (and, when `verbose`, its stack) to stderr; returns the exit code. */
export function reportFailure(err: unknown, verbose: boolean): number {
  const { line, exitCode } = describeFailure(err)
  process.stderr.write(`meshcache: error: ${line}\n`)
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
  return exitCode
}

function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, ' ').trim()
}
