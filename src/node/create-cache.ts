import { Cache } from '../api/cache.js'
import { DEFAULT_KEYSPACE } from '../api/defaults.js'
import { type Clock, type ManualClock, SystemClock } from '../clock/clock.js'
import { ClockOffsets } from '../clock/clock-offsets.js'
import { HybridClock } from '../clock/hlc.js'
import { logger } from '../log.js'
import type { MeshNode } from '../mesh/mesh-node.js'
import { type KeyspaceOptions, resolveKeyspaceOptions } from '../replica/keyspace-options.js'
import { checkWireLimits, ReplicaRegistry } from '../replica/replica-registry.js'
import { type CacheOptions, randomNodeId, resolveCacheOptions } from './cache-options.js'
import { registerInternals } from './internals.js'
import type { Persistence } from './persistence.js'
import { checkRuntime } from './runtime.js'
import type { PreparedMesh } from './start-mesh.js'

const log = logger('meshcache:node')

/**
 * Creates a cache. With no options: an in-process LRU+TTL cache (100k entries, 10 min
 * default TTL). With `listen` or `peers`: a node of a replicated mesh, same API. With
 * `dataDir`: it restarts warm from its snapshot, embedded or in a mesh.
 *
 * The composition root: checks every option once, then builds the clock, the replicas,
 * persistence, the mesh (loaded only when used: embedded users never load libp2p) and
 * the cache facade, and gives the facade one `stop` that undoes all of it.
 * @throws InvalidOptionError for invalid options, with what to change
 */
export function createCache<V = unknown>(options: CacheOptions = {}): Promise<Cache<V>> {
  return startNode<V>(options)
}

/** What tools inside the project (tests, `meshcache/testing`) may give a node on top of its options. */
export interface NodeHooks {
  /** The node's clock (a {@link ManualClock} in tests). @default the system clock */
  readonly clock?: Clock
  /**
   * The host's wall clock under the system clock (a skewed host in `meshcache/testing`):
   * what the node stamps writes with, after the mesh's correction. @default Date.now
   */
  readonly hostNow?: () => number
  /**
   * Options of the default keyspace itself (the headless node's `--keyspace default:...`),
   * set when the cache opens it: the cache is that keyspace's facade, so they cannot be
   * changed after. @default the cache-wide defaults
   */
  readonly defaultKeyspace?: KeyspaceOptions
}

/**
 * {@link createCache} with hooks for tools inside the project; not exported by the
 * package. @internal
 */
export async function startNode<V = unknown>(
  options: CacheOptions = {},
  hooks: NodeHooks = {},
): Promise<Cache<V>> {
  const resolved = resolveCacheOptions(options)
  // Checked before anything starts, as the cache's own options are.
  if (hooks.defaultKeyspace !== undefined)
    checkWireLimits(
      DEFAULT_KEYSPACE,
      resolveKeyspaceOptions(hooks.defaultKeyspace, resolved.keyspaceDefaults),
      resolved.mesh?.limits,
    )
  // One process per data dir: two nodes on one directory would diverge for good.
  // Files are loaded only for a cache that has them (an embedded cache loads no fs code).
  const files = resolved.dataDir === undefined ? undefined : await import('./persistence.js')
  const unlock = resolved.dataDir === undefined ? undefined : files!.openDataDir(resolved.dataDir)
  // The one wall clock of a node, corrected to the mesh median (0 when embedded): every
  // layer reads time through it, so expiries and stamps agree across skewed hosts.
  // It also judges whether this node may write at all (its clock too far off its peers').
  const offsets = new ClockOffsets({ maxDriftMs: resolved.maxClockDriftMs })
  const clock: Clock =
    hooks.clock ??
    new SystemClock({
      correction: () => offsets.correctionMs,
      ...(hooks.hostNow ? { host: hooks.hostNow } : {}),
    })
  let meshStart: PreparedMesh | undefined
  try {
    if (resolved.mesh !== undefined) checkRuntime()
    meshStart =
      resolved.mesh === undefined
        ? undefined
        : await (await import('./start-mesh.js')).prepareMesh(
            resolved.mesh,
            resolved.dataDir,
            clock,
          )
  } catch (err) {
    unlock?.()
    throw err
  }
  const nodeId = meshStart?.peerId ?? resolved.nodeId ?? randomNodeId()
  const hlc = new HybridClock({
    node: nodeId,
    maxDrift: resolved.maxClockDriftMs,
    physical: () => clock.now(),
    mesh: offsets,
  })
  const replicas = new ReplicaRegistry({
    hlc,
    clock,
    defaults: resolved.keyspaceDefaults,
    wireLimits: resolved.mesh?.limits,
  })
  let mesh: MeshNode | undefined
  let persistence: Persistence | undefined
  try {
    if (meshStart !== undefined) mesh = meshStart.attach(replicas, resolved.region, offsets)
    if (resolved.dataDir !== undefined) {
      persistence = new files!.Persistence(
        replicas,
        resolved.dataDir,
        resolved.snapshotIntervalMs,
        () => offsets.correctionMs,
      )
      // The correction this node had before a restart holds until peers are measured.
      offsets.seed(persistence.load(resolved.region).clockCorrectionMs)
    }
  } catch (err) {
    await meshStart?.abort()
    unlock?.()
    throw err
  }
  replicas.startSweep(resolved.purgeIntervalMs, (err) =>
    log('sweep step failed: %s', (err as Error).message),
  )
  const cache = new Cache<V>({
    defaultKeyspace: hooks.defaultKeyspace,
    nodeId,
    region: resolved.region,
    hlc,
    clock,
    replicas,
    mesh,
    stop: async () => {
      replicas.stopSweep()
      try {
        await mesh?.close()
      } finally {
        try {
          await persistence?.stop()
        } finally {
          unlock?.()
        }
      }
    },
    ...(persistence ? { persistenceStats: () => persistence.stats() } : {}),
  })
  registerInternals(cache as Cache<unknown>, { replicas, hlc, clock, mesh })
  persistence?.start()
  try {
    if (meshStart !== undefined) await meshStart.start()
  } catch (err) {
    // Nothing may outlive a failed start: timers, libp2p, the lock.
    await cache.close().catch(() => undefined)
    throw err
  }
  return cache
}
