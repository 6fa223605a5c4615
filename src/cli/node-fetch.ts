/**
 * How `meshcache status` reads a node's HTTP API: one GET with a deadline and an optional
 * bearer token; every failure is one line with exit code 1.
 * @module
 */
import { readCredentialFile } from '../edge/credentials.js'
import { CliError, EXIT_CODES } from './failures.js'

/** How long `meshcache status` waits for the node, ms. */
export const STATUS_TIMEOUT_MS = 5_000

/** Where a node's HTTP API is, and the token it needs. */
export interface NodeAddress {
  /** `host:port` or a URL. */
  http: string
  /** A file whose first secret is sent as `Authorization: Bearer` (the node's `--http-token-file`). */
  tokenFile?: string
}

/**
 * GETs `path` from the node and parses its JSON.
 * @throws CliError (exit 1) when the node cannot be reached or answers an error;
 *   InvalidOptionError (exit 2) when the token file cannot be read
 */
export async function getNodeJson(at: NodeAddress, path: string): Promise<unknown> {
  const base = at.http.startsWith('http') ? at.http : `http://${at.http}`
  const headers: Record<string, string> = { accept: 'application/json' }
  if (at.tokenFile !== undefined)
    headers.authorization = `Bearer ${readCredentialFile(at.tokenFile, '--token-file')[0]}`
  let res: Response
  try {
    res = await fetch(`${base}${path}`, {
      headers,
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    })
  } catch (err) {
    const inner = (err as { cause?: { code?: string; message?: string } }).cause
    const cause = inner?.code ?? inner?.message
    const why =
      cause === 'ECONNREFUSED'
        ? 'connection refused: is `meshcache node` running there?'
        : (err as Error).name === 'TimeoutError'
          ? `no answer within ${STATUS_TIMEOUT_MS} ms`
          : (cause ?? (err as Error).message)
    throw new CliError(`cannot reach the node at ${base}: ${why}`, EXIT_CODES.runtime, {
      cause: err,
    })
  }
  if (!res.ok) {
    // The API's errors are { error, message }: the code and what to do, on the one line.
    const body = (await res.json().catch(() => undefined)) as
      | { error?: unknown; message?: unknown }
      | undefined
    const detail =
      typeof body?.error === 'string' && typeof body.message === 'string'
        ? ` ${body.error}: ${body.message}`
        : ''
    throw new CliError(`GET ${base}${path} answered ${res.status}${detail}`, EXIT_CODES.runtime)
  }
  try {
    return await res.json()
  } catch (cause) {
    throw new CliError(
      `GET ${base}${path} answered something that is not JSON`,
      EXIT_CODES.runtime,
      {
        cause,
      },
    )
  }
}
