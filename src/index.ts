/**
 * meshcache: a geo-distributed LRU cache with time expiration that lives inside
 * Node.js services.
 * @module
 */
export { Cache, type CacheAdmin, type CacheStats, type KnownVersion } from './api/cache.js'
export type {
  AckLevel,
  DeleteOptions,
  FetchOptions,
  SetManyEntry,
  SetOptions,
  WrapOptions,
} from './api/call-options.js'
export { DEFAULT_KEYSPACE } from './api/defaults.js'
export type { CacheEvents, ChangeEvent, ChangeOrigin, DropEvent } from './api/events.js'
export { Keyspace } from './api/keyspace.js'
export { KeyspaceVerbs } from './api/keyspace-verbs.js'
export { compareVersions, formatVersion, parseVersion, type Version } from './clock/version.js'
export type { Duration } from './duration.js'
export {
  AckTimeoutError,
  CacheClosedError,
  ClockSkewError,
  DataDirLockedError,
  InvalidKeyError,
  InvalidOptionError,
  ListenError,
  MeshcacheError,
  TimeoutError,
  UnencodableValueError,
  UnsupportedRuntimeError,
  ValueTooLargeError,
} from './errors.js'
export { createNetworkKey } from './mesh/network-key.js'
export type { CacheOptions } from './node/cache-options.js'
export { createCache } from './node/create-cache.js'
export type {
  ClockStats,
  LagSnapshot,
  LinkStats,
  MeshCounters,
  MeshOptions,
  MeshStats,
  PeerStats,
  TraceStage,
} from './ports/mesh-options.js'
export type { MeshAdmin } from './ports/mesh-port.js'
export type {
  MemberClock,
  MemberLinks,
  MeshEdge,
  MeshMember,
  MeshMemberFlag,
  MeshView,
  RegionLag,
} from './ports/mesh-view.js'
export type { PersistenceStats } from './ports/persistence-stats.js'
export {
  KEYSPACE_DEFAULTS,
  type KeyspaceOptions,
  type ResolvedKeyspaceOptions,
} from './replica/keyspace-options.js'
export type { KeyspaceStats } from './replica/keyspace-stats.js'
export type { WireLimits } from './replication/limits.js'
export { REJECT_CODES, type RejectCode, type RejectCounts } from './replication/reject-codes.js'
export type { Entry } from './store/entry.js'
export {
  type FetchOutcome,
  type FetchTrace,
  type LoadTrace,
  type ReplicateTrace,
  TRACE_CHANNELS,
} from './trace-channels.js'
