import type { Version } from '../clock/version.js'

/**
 * One key's state in a replica: a value or a tombstone, with the version that wrote it
 * and its absolute expiry. Entries are immutable once stored.
 */
export interface Entry<V = unknown> {
  /** The value; `undefined` for a tombstone. */
  readonly value: V | undefined
  /** The write's version; the larger version wins. */
  readonly version: Version
  /** Absolute expiry, wall-clock ms since the epoch; `Infinity` when it never expires. */
  readonly expiresAt: number
  /** True when the write was a delete. */
  readonly tombstone: boolean
  /** Bytes the entry counts against `maxBytes` (key, encoded value and fixed overhead). */
  readonly size: number
  /** Tags of the write (`invalidateTags` kills every older entry carrying one); absent when none. */
  readonly tags?: readonly string[]
}

/** Fixed bytes counted per entry on top of key and value: object headers, version, links. */
export const ENTRY_OVERHEAD_BYTES = 96

/** Bytes an entry counts against `maxBytes`. Keys count 2 bytes a char (UTF-16 in V8). */
export function entrySize(key: string, encodedLength: number): number {
  return ENTRY_OVERHEAD_BYTES + key.length * 2 + encodedLength
}
