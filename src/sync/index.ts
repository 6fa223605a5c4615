export { DigestTree, FANOUT } from './digest-tree.js'
export { hash64, versionHash } from './hash.js'
export {
  DEFAULT_MAX_ENTRIES_PER_ROUND,
  reconcile,
  respond,
  type SyncReplica,
  type SyncRoundResult,
} from './reconcile.js'
export * from './sync-messages.js'
export { type IndexEntry, VersionIndex } from './version-index.js'
