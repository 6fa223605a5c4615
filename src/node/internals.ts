/**
 * What tools inside the project (tests, benches, the simulator, `meshcache/testing`)
 * may reach behind a cache built by `createCache`: its replicas, its clocks and its mesh
 * node. The package does not export this module; applications use `cache.admin`.
 * @module
 */
import type { Cache } from '../api/cache.js'
import type { Clock } from '../clock/clock.js'
import type { HybridClock } from '../clock/hlc.js'
import type { MeshNode } from '../mesh/mesh-node.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'

/** The parts of one node, as the composition root built them. */
export interface NodeInternals {
  readonly replicas: ReplicaRegistry
  readonly hlc: HybridClock
  readonly clock: Clock
  readonly mesh: MeshNode | undefined
}

const internals = new WeakMap<Cache<unknown>, NodeInternals>()

/** Records the parts of a cache (the composition root does, once). */
export function registerInternals(cache: Cache<unknown>, parts: NodeInternals): void {
  internals.set(cache, parts)
}

/** The parts of a cache built by `createCache`. @throws Error for any other object */
export function internalsOf(cache: Cache<unknown>): NodeInternals {
  const parts = internals.get(cache)
  if (parts === undefined) throw new Error('not a cache built by createCache()')
  return parts
}

/** The replica of keyspace `name`, when open. */
export function replicaOf(
  cache: Cache<unknown>,
  name = 'default',
): KeyspaceReplica<unknown> | undefined {
  return internalsOf(cache).replicas.get(name)
}

/** The mesh node behind a cache, when it is part of a mesh. */
export function meshNodeOf(cache: Cache<unknown>): MeshNode | undefined {
  return internals.get(cache)?.mesh
}

/** The one clock a cache built by `createCache` reads time through. @throws Error for any other object */
export function clockOf(cache: Cache<unknown>): Clock {
  return internalsOf(cache).clock
}

/** The hybrid logical clock that stamps a cache's writes. */
export function hlcOf(cache: Cache<unknown>): HybridClock {
  return internalsOf(cache).hlc
}
