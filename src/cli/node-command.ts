/**
 * `meshcache node`: a headless node with its HTTP API (a sidecar), run until SIGINT or
 * SIGTERM. Human-readable start lines on stdout (the last one, `ready {...}`, is for
 * scripts), JSON logs on stderr.
 * @module
 */
import type { Logger } from 'pino'
import type { Cache } from '../api/cache.js'
import { catchingUp, clockRefused, type HttpApi, startHttpApi } from '../http/http-api.js'
import type { CacheOptions } from '../node/cache-options.js'
import { startNode } from '../node/create-cache.js'
import { clockOf } from '../node/internals.js'
import type { RespServer } from '../resp/index.js'
import { routesFileRewriter } from '../sim/routes-file.js'
import { httpEdgeOptions, startResp } from './edge-start.js'
import { bindFailure, CliError, EXIT_CODES } from './failures.js'
import type { NodeSettings } from './node-settings.js'
import { watchNode } from './node-watch.js'

export type { NodeSettings } from './node-settings.js'

/** Longest wait for the cache to close after a failed start, ms. */
const ABORT_CLOSE_MS = 5_000

/** The cache options of a node's settings. */
function cacheOptions(settings: NodeSettings, dialRewrite?: CacheOptions['mesh']): CacheOptions {
  return {
    region: settings.region,
    listen: settings.listen,
    peers: settings.peers,
    maxEntries: settings.maxEntries,
    defaultTtl: settings.defaultTtl,
    maxTtl: settings.maxTtl,
    snapshotInterval: settings.snapshotInterval,
    ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
    ...(settings.networkKey ? { networkKey: settings.networkKey } : {}),
    ...(settings.allowPeers ? { allowPeers: settings.allowPeers } : {}),
    // A sidecar serves whatever keyspaces its services use, on every node.
    mesh: {
      followKeyspaces: true,
      ...(settings.localPeers ? { localPeers: settings.localPeers } : {}),
      ...(settings.remotePeers ? { remotePeers: settings.remotePeers } : {}),
      ...(settings.limits ? { limits: settings.limits } : {}),
      ...dialRewrite,
    },
  }
}

/**
 * Opens the configured keyspaces with their options.
 * @throws CliError when one was already opened with the cache-wide defaults (restored
 *   from the snapshot, or followed from a peer during the start): serving it with another
 *   `maxTtl` than its peers could resurrect deletes, so the node refuses to run
 */
export function openKeyspaces(cache: Cache<unknown>, settings: NodeSettings): void {
  for (const [name, options] of Object.entries(settings.keyspaces)) {
    try {
      cache.keyspace(name, options)
    } catch (err) {
      throw new CliError(
        `keyspace ${name} was opened with the cache-wide defaults before its --keyspace options could apply (restored from --data-dir or followed from a peer at start); ${(err as Error).message}`,
        EXIT_CODES.runtime,
        { cause: err },
      )
    }
  }
}

async function startHttp(
  cache: Cache<unknown>,
  settings: NodeSettings,
  log: Logger,
  version: string,
  isStopping: () => boolean,
  resp?: RespServer,
): Promise<HttpApi> {
  const address = `${settings.http.host}:${settings.http.port}`
  try {
    return await startHttpApi(cache, {
      ...settings.http,
      ...httpEdgeOptions(settings, resp),
      admin: settings.admin,
      maxBodyBytes: settings.maxBodyBytes,
      headersTimeoutMs: settings.headersTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      logger: log,
      version,
      readiness: () => {
        if (isStopping()) return { ready: false, reason: 'the node is stopping' }
        const notYet = catchingUp(cache) ?? clockRefused(cache)
        if (notYet) return notYet
        if (settings.peers.length === 0) return { ready: true }
        const connected = cache.admin.mesh?.peers().length ?? 0
        return connected > 0
          ? { ready: true }
          : {
              ready: false,
              reason: `none of the ${settings.peers.length} configured peers is connected yet`,
            }
      },
    })
  } catch (err) {
    const why = bindFailure((err as NodeJS.ErrnoException).code, (err as Error).message)
    throw new CliError(`http address ${address} ${why}`, EXIT_CODES.runtime, { cause: err })
  }
}

/** Closes the cache, bounded in time (after a failed start). */
async function closeQuietly(cache: Cache<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    cache.close().catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ABORT_CLOSE_MS)
    }),
  ])
  clearTimeout(timer)
}

/**
 * Runs a headless node with its HTTP API until SIGINT/SIGTERM; then stops taking
 * traffic (readiness 503), flushes and stops.
 * @throws CliError (exit 1) for runtime failures at start; InvalidOptionError (exit 2)
 */
export async function runNode(
  settings: NodeSettings,
  log: Logger,
  version: string,
  print: (line: string) => void = console.log,
): Promise<void> {
  const routes = settings.wanRoutes ? routesFileRewriter(settings.wanRoutes) : undefined
  // The default keyspace's own options are set when the cache opens it (it is the
  // cache's own facade: they cannot change after).
  const cache = await startNode(
    cacheOptions(settings, routes ? { dialRewrite: routes.rewrite } : undefined),
    { defaultKeyspace: settings.keyspaces.default },
  )
  let stopping = false
  let api: HttpApi
  let resp: RespServer | undefined
  try {
    openKeyspaces(cache, settings)
    resp = await startResp(cache, settings, log, version)
    api = await startHttp(cache, settings, log, version, () => stopping, resp)
  } catch (err) {
    await resp?.close()
    await closeQuietly(cache)
    routes?.stop()
    throw err
  }
  const watch = watchNode(cache, log, { clock: clockOf(cache) })
  const info = {
    peerId: cache.nodeId,
    region: cache.region,
    addresses: cache.addresses(),
    http: api.url,
    ...(resp ? { resp: resp.url } : {}),
  }
  log.info(
    {
      ...info,
      version,
      keyspaces: Object.keys(settings.keyspaces),
      dataDir: settings.dataDir ?? null,
    },
    'node started',
  )
  print(`meshcache node ${cache.nodeId} in region ${cache.region}`)
  for (const a of cache.addresses()) print(`listening ${a}`)
  print(`http ${api.url}`)
  if (resp) print(`resp ${resp.url}`)
  print(`ready ${JSON.stringify(info)}`)
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  stopping = true
  log.info({ signal }, 'node stopping: flushing pending writes')
  print('stopping: flushing pending writes')
  watch.stop()
  await resp?.close()
  await api.close()
  await cache.close()
  routes?.stop()
  log.info({}, 'node stopped')
}
