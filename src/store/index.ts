export { ENTRY_OVERHEAD_BYTES, type Entry, entrySize, isLive } from './entry.js'
export { supersedes } from './merge.js'
export { type MergeOutcome, VersionedStore, type VersionedStoreOptions } from './versioned-store.js'
