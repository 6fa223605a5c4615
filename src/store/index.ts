export { ENTRY_OVERHEAD_BYTES, type Entry, entrySize, isLive } from './entry.js'
export {
  EntryTable,
  type EntryTableObserver,
  type EntryTableOptions,
  type MergeOutcome,
} from './entry-table.js'
export { supersedes } from './merge.js'
export {
  entryAt,
  VersionedStore,
  type VersionedStoreOptions,
  versionAt,
} from './versioned-store.js'
