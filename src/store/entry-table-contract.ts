import { InvalidOptionError } from '../errors.js'

// The contract of the entry table: its options, what a write did, who hears what it does.

/** What a write did to an `EntryTable`. */
export type MergeOutcome =
  /** The entry is newer than what the table held and now stands. */
  | 'applied'
  /** The table holds the same or a newer version; nothing changed. */
  | 'stale'
  /** The entry is newer but already expired: any older value was dropped, nothing stored. */
  | 'expired'
  /** The entry alone is larger than `maxBytes` and cannot be held. */
  | 'too-large'

/** Options of `EntryTable`. */
export interface EntryTableOptions {
  /** Most resident entries (values and tombstones); least recently used go first. */
  maxEntries: number
  /** Most resident bytes, as counted per entry; `Infinity` for no byte limit. */
  maxBytes: number
  /**
   * Most keys whose version is remembered, resident or not. Resident keys always keep
   * theirs; past the bound the keys that left residency first are forgotten.
   */
  maxKeys: number
  /** How long a version is remembered after its stamp, ms (the keyspace's maxTtl). */
  retainMs: number
}

/** Who hears what the table does on its own: evictions, expiries (the replica's events). */
export interface ResidencyObserver {
  /** The LRU is about to drop the resident entry in `slot` to make room (value still there). */
  evicting?(key: string, slot: number): void
  /** The value in `slot` reached its expiry and is about to leave (value still there). */
  expiring?(key: string, slot: number): void
  /** The bytes held for the value in `slot` did not decode; the entry is about to leave (its version stays). */
  undecodable?(key: string, slot: number): void
  /** A value with tags left the table. */
  untagged?(key: string, tags: readonly string[]): void
}

/** Who hears every version change (the digest tree of anti-entropy). */
export interface VersionObserver {
  /** A key's version is now known (a new slot, filled). */
  versionAdded(key: string, slot: number): void
  /** A key's version is about to be forgotten (slot still filled). */
  versionForgetting(key: string, slot: number): void
  /** A key's version is about to be replaced by a newer one (slot holds the old one). */
  versionReplacing(key: string, slot: number): void
  /** A key's version was replaced (slot holds the new one); follows {@link versionReplacing}. */
  versionReplaced(key: string, slot: number): void
}

/** @throws InvalidOptionError for limits that are not positive integers (maxBytes: or Infinity) */
export function checkedTableOptions(options: EntryTableOptions): EntryTableOptions {
  const { maxEntries, maxBytes, maxKeys } = options
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new InvalidOptionError(`maxEntries must be a positive integer, got ${String(maxEntries)}`)
  }
  if (
    !(maxBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxBytes) && maxBytes > 0))
  ) {
    throw new InvalidOptionError(
      `maxBytes must be a positive integer or Infinity, got ${String(maxBytes)}`,
    )
  }
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new InvalidOptionError(`maxKeys must be a positive integer, got ${String(maxKeys)}`)
  }
  return options
}
