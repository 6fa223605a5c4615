/**
 * Starting a node's edges beyond the HTTP API: the RESP listener, and the HTTP options
 * that come from the edge settings (tokens, TLS, the RESP figures in `/metrics` and
 * `/status`).
 * @module
 */
import type { Logger } from 'pino'
import type { Cache } from '../api/cache.js'
import type { HttpApiOptions } from '../http/http-api.js'
import { type RespServer, startRespServer } from '../resp/index.js'
import type { EdgeSettings } from './edge-settings.js'
import { CliError, EXIT_CODES } from './failures.js'

/**
 * Starts the RESP listener when `--resp` is given.
 * @throws CliError (exit 1) when its address cannot be bound
 */
export async function startResp(
  cache: Cache<unknown>,
  settings: EdgeSettings,
  log: Logger,
  version: string,
): Promise<RespServer | undefined> {
  const resp = settings.resp
  if (resp === undefined) return undefined
  try {
    return await startRespServer(cache, {
      host: resp.host,
      port: resp.port,
      keyspaces: resp.keyspaces,
      prefixRouting: resp.prefixRouting,
      maxClients: resp.maxClients,
      ...(resp.passwords ? { passwords: resp.passwords } : {}),
      version,
      logger: log,
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'EADDRINUSE'
        ? 'is in use'
        : code === 'EADDRNOTAVAIL'
          ? 'is not an address of this host'
          : code === 'EACCES'
            ? 'needs privileges to bind'
            : `cannot be bound: ${(err as Error).message}`
    throw new CliError(`resp address ${resp.host}:${resp.port} ${why}`, EXIT_CODES.runtime, {
      cause: err,
    })
  }
}

/** HTTP API options from the edge settings: tokens, TLS, and the RESP listener's figures. */
export function httpEdgeOptions(
  settings: EdgeSettings,
  resp: RespServer | undefined,
): HttpApiOptions {
  return {
    ...(settings.httpTokens
      ? { auth: { tokens: settings.httpTokens, metricsPublic: settings.metricsPublic } }
      : {}),
    ...(settings.httpTls ? { tls: settings.httpTls } : {}),
    ...(resp
      ? { metrics: (registry) => resp.addMetrics(registry), status: () => ({ resp: resp.stats() }) }
      : {}),
  }
}
