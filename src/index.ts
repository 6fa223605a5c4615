/**
 * meshcache: a geo-distributed LRU cache with time expiration that lives inside
 * Node.js services.
 * @module
 */
export { Cache, type CacheOptions, type CacheStats, DEFAULT_KEYSPACE } from './api/cache.js'
export { createCache } from './api/create-cache.js'
export type { CacheEvents, ChangeEvent, ChangeOrigin, DropEvent } from './api/events.js'
export {
  type AckLevel,
  type DeleteOptions,
  type FetchOptions,
  Keyspace,
  type SetOptions,
  type WrapOptions,
} from './api/keyspace.js'
export type { KeyspaceStats } from './api/keyspace-stats.js'
export { KEYSPACE_DEFAULTS, type KeyspaceOptions } from './api/options.js'
export { compareVersions, formatVersion, parseVersion, type Version } from './clock/version.js'
export type { Duration } from './duration.js'
export * from './errors.js'
export type { LagSnapshot } from './mesh/lag-histogram.js'
export type { MeshOptions, MeshStats, PeerStats } from './mesh/mesh-options.js'
export { createNetworkKey } from './mesh/network-key.js'
