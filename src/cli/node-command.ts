import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors.js'
import { startHttpApi } from '../http/http-api.js'
import type { CacheOptions } from '../node/cache-options.js'
import { createCache } from '../node/create-cache.js'
import { WIRE_LIMITS, type WireLimits } from '../replication/limits.js'
import { routesFileRewriter } from '../sim/routes-file.js'

/** Flags of `meshcache node`, as commander parses them. */
export interface NodeFlags {
  region?: string
  listen?: string[]
  peer?: string[]
  http?: string
  dataDir?: string
  maxEntries?: string
  defaultTtl?: string
  snapshotInterval?: string
  networkKeyFile?: string
  wanRoutes?: string
  allowPeer?: string[]
  maxBodyBytes?: string
  config?: string
  admin?: boolean
}

/** Settings of a headless node after flags, environment and config file are merged. */
export interface NodeSettings {
  region: string
  listen: string[]
  peers: string[]
  http: { host: string; port: number }
  dataDir?: string
  maxEntries?: number
  defaultTtl?: string
  snapshotInterval?: string
  networkKey?: string
  /** Routes file of a WAN simulator running elsewhere (simulations only). */
  wanRoutes?: string
  allowPeers?: string[]
  /** Largest HTTP request body, bytes. */
  maxBodyBytes?: number
  /** Limits on replicated input (config file `limits`: maxKeyLength, maxValueBytes, ...). */
  limits?: Partial<WireLimits>
  admin: boolean
}

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined

/**
 * Merges settings: flags win over environment variables (MESHCACHE_REGION, _LISTEN,
 * _PEERS, _HTTP, _DATA_DIR, _MAX_ENTRIES, _DEFAULT_TTL, _SNAPSHOT_INTERVAL), which win over the JSON config file.
 * @throws InvalidOptionError for malformed values
 */
export function resolveNodeSettings(
  flags: NodeFlags,
  env: NodeJS.ProcessEnv = process.env,
): NodeSettings {
  let file: Record<string, unknown> = {}
  const configPath = flags.config ?? env.MESHCACHE_CONFIG
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>
    } catch (cause) {
      throw new InvalidOptionError(
        `cannot read config file ${configPath}: ${(cause as Error).message}`,
        { cause },
      )
    }
  }
  const pick = <T>(
    flag: T | undefined,
    envValue: T | undefined,
    fileValue: unknown,
  ): T | undefined => flag ?? envValue ?? (fileValue as T | undefined)
  const http = pick(flags.http, env.MESHCACHE_HTTP, file.http) ?? '127.0.0.1:8080'
  const hm = /^(.+):(\d+)$/.exec(String(http))
  if (!hm)
    throw new InvalidOptionError(
      `--http must be HOST:PORT, e.g. 127.0.0.1:8080, got ${String(http)}`,
    )
  const maxEntriesRaw = pick(flags.maxEntries, env.MESHCACHE_MAX_ENTRIES, file.maxEntries)
  const maxEntries = maxEntriesRaw === undefined ? undefined : Number(maxEntriesRaw)
  if (maxEntries !== undefined && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
    throw new InvalidOptionError(
      `--max-entries must be a positive integer, got ${String(maxEntriesRaw)}`,
    )
  }
  const dataDir = pick(flags.dataDir, env.MESHCACHE_DATA_DIR, file.dataDir)
  const defaultTtl = pick(flags.defaultTtl, env.MESHCACHE_DEFAULT_TTL, file.defaultTtl)
  const keyFile = pick(flags.networkKeyFile, env.MESHCACHE_NETWORK_KEY_FILE, file.networkKeyFile)
  let networkKey: string | undefined
  if (keyFile) {
    try {
      networkKey = readFileSync(String(keyFile), 'utf8')
    } catch (cause) {
      throw new InvalidOptionError(
        `cannot read network key file ${String(keyFile)}: ${(cause as Error).message}`,
        { cause },
      )
    }
  }
  const allowPeers = pick(flags.allowPeer, list(env.MESHCACHE_ALLOW_PEERS), file.allowPeers)
  const bodyRaw = pick(flags.maxBodyBytes, env.MESHCACHE_MAX_BODY_BYTES, file.maxBodyBytes)
  const maxBodyBytes = bodyRaw === undefined ? undefined : Number(bodyRaw)
  if (maxBodyBytes !== undefined && (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)) {
    throw new InvalidOptionError(
      `--max-body-bytes must be a positive integer, got ${String(bodyRaw)}`,
    )
  }
  const limits = file.limits as Partial<WireLimits> | undefined
  if (limits !== undefined) {
    for (const [k, v] of Object.entries(limits)) {
      if (!(k in WIRE_LIMITS) || !Number.isSafeInteger(v) || (v as number) < 1) {
        throw new InvalidOptionError(
          `config limits.${k} must be a positive integer and one of ${Object.keys(WIRE_LIMITS).join(', ')}`,
        )
      }
    }
  }
  const snapshotInterval = pick(
    flags.snapshotInterval,
    env.MESHCACHE_SNAPSHOT_INTERVAL,
    file.snapshotInterval,
  )
  return {
    region: pick(flags.region, env.MESHCACHE_REGION, file.region) ?? 'local',
    listen: pick(flags.listen, list(env.MESHCACHE_LISTEN), file.listen) ?? [
      '/ip4/127.0.0.1/tcp/7946',
    ],
    peers: pick(flags.peer, list(env.MESHCACHE_PEERS), file.peers) ?? [],
    http: { host: hm[1]!, port: Number(hm[2]) },
    ...(dataDir ? { dataDir: String(dataDir) } : {}),
    ...(maxEntries ? { maxEntries } : {}),
    ...(defaultTtl ? { defaultTtl: String(defaultTtl) } : {}),
    ...(snapshotInterval ? { snapshotInterval: String(snapshotInterval) } : {}),
    ...(networkKey ? { networkKey } : {}),
    ...(allowPeers ? { allowPeers } : {}),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
    ...(flags.wanRoutes ? { wanRoutes: flags.wanRoutes } : {}),
    ...(limits ? { limits } : {}),
    admin: flags.admin ?? (env.MESHCACHE_ADMIN === '1' || file.admin === true),
  }
}

/** Runs a headless node with its HTTP API until SIGINT/SIGTERM; then flushes and stops. */
export async function runNode(
  settings: NodeSettings,
  print: (line: string) => void = console.log,
): Promise<void> {
  const routes = settings.wanRoutes ? routesFileRewriter(settings.wanRoutes) : undefined
  const options: CacheOptions = {
    region: settings.region,
    listen: settings.listen,
    peers: settings.peers,
    ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
    ...(settings.maxEntries ? { maxEntries: settings.maxEntries } : {}),
    ...(settings.defaultTtl ? { defaultTtl: settings.defaultTtl } : {}),
    ...(settings.snapshotInterval ? { snapshotInterval: settings.snapshotInterval } : {}),
    ...(settings.networkKey ? { networkKey: settings.networkKey } : {}),
    ...(settings.allowPeers ? { allowPeers: settings.allowPeers } : {}),
    // A sidecar serves whatever keyspaces its services use, on every node.
    mesh: {
      followKeyspaces: true,
      ...(settings.limits ? { limits: settings.limits } : {}),
      ...(routes ? { dialRewrite: routes.rewrite } : {}),
    },
  }
  const cache = await createCache(options)
  const api = await startHttpApi(cache, {
    ...settings.http,
    admin: settings.admin,
    ...(settings.maxBodyBytes ? { maxBodyBytes: settings.maxBodyBytes } : {}),
  })
  print(`meshcache node ${cache.nodeId} in region ${cache.region}`)
  for (const a of cache.addresses()) print(`listening ${a}`)
  print(`http ${api.url}`)
  print(
    `ready ${JSON.stringify({ peerId: cache.nodeId, region: cache.region, addresses: cache.addresses(), http: api.url })}`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  print('stopping: flushing pending writes')
  await api.close()
  await cache.close()
  routes?.stop()
}
