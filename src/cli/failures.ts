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

/** The one-line message and exit code of any error. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode }
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
