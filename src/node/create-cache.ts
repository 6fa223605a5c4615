import createDebug from 'debug'
import { Cache } from '../api/cache.js'
import { ClockOffsets } from '../clock/clock-offsets.js'
import { HybridClock } from '../clock/hlc.js'
import type { MeshNode } from '../mesh/mesh-node.js'
import { ReplicaRegistry } from '../replica/replica-registry.js'
import { type CacheOptions, randomNodeId, resolveCacheOptions } from './cache-options.js'
import { Persistence } from './persistence.js'

const log = createDebug('meshcache:node')

/** Mesh nodes by cache, for tools inside the project (tests, benches, the simulator). */
const meshNodes = new WeakMap<Cache<unknown>, MeshNode>()

/**
 * The mesh node behind a cache built by {@link createCache}, for tests, benches and the
 * simulator that inspect libp2p itself. Applications use `cache.admin`. @internal
 */
export function meshNodeOf(cache: Cache<unknown>): MeshNode | undefined {
  return meshNodes.get(cache)
}

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
export async function createCache<V = unknown>(options: CacheOptions = {}): Promise<Cache<V>> {
  const resolved = resolveCacheOptions(options)
  const meshStart =
    resolved.mesh === undefined
      ? undefined
      : await (await import('./start-mesh.js')).prepareMesh(options, resolved.mesh)
  const nodeId = meshStart?.peerId ?? resolved.nodeId ?? randomNodeId()
  // The one wall clock of a node, corrected to the mesh median (0 when embedded): every
  // layer reads time through it, so expiries and stamps agree across skewed hosts.
  const offsets = new ClockOffsets()
  const now = (): number => Date.now() + offsets.correctionMs
  const clock = new HybridClock({ node: nodeId, maxDrift: resolved.maxClockDriftMs, physical: now })
  const replicas = new ReplicaRegistry({ clock, now, defaults: resolved.keyspaceDefaults })
  let mesh: MeshNode | undefined
  let persistence: Persistence | undefined
  try {
    if (meshStart !== undefined) mesh = meshStart.attach(replicas, resolved.region, now, offsets)
    if (resolved.dataDir !== undefined) {
      persistence = new Persistence(replicas, resolved.dataDir, resolved.snapshotIntervalMs)
      persistence.load(resolved.region)
    }
  } catch (err) {
    await meshStart?.abort()
    throw err
  }
  replicas.startSweep(resolved.purgeIntervalMs, (err) =>
    log('sweep step failed: %s', (err as Error).message),
  )
  const cache = new Cache<V>({
    nodeId,
    region: resolved.region,
    clock,
    now,
    replicas,
    mesh,
    stop: async () => {
      replicas.stopSweep()
      persistence?.stop()
      await mesh?.close()
    },
  })
  if (mesh !== undefined) meshNodes.set(cache as Cache<unknown>, mesh)
  persistence?.start()
  if (meshStart !== undefined) await meshStart.start()
  return cache
}
