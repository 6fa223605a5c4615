import type { Version } from '../clock/version.js'
import type { Entry } from '../store/entry.js'
import { encodeStored } from './value-codec.js'

/** What an {@link EntryTuple} carries: a value, a tombstone, or a version alone. */
export const TUPLE_KIND = {
  /** A value, with its msgpack bytes. */
  value: 0,
  /** A delete. */
  tombstone: 1,
  /** The version alone: the sender evicted the value, but the version still invalidates older copies. */
  versionOnly: 2,
} as const

/**
 * One entry with its full version, as every path outside gossip batches carries it
 * (read-through, direct reads, anti-entropy, snapshots):
 * `[key, wall, logical, node, expiresAt, kind, value]`. Values stay as their msgpack
 * bytes, so relays and sync never re-encode them.
 */
export type EntryTuple = [
  key: string,
  wall: number,
  logical: number,
  node: string,
  expiresAt: number,
  kind: 0 | 1 | 2,
  value: Uint8Array | null,
]

/** Size limits an entry tuple from the wire is checked against. */
export interface TupleLimits {
  maxKeyLength: number
  maxNameLength: number
  maxValueBytes: number
}

const isSafe = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isStr = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max

/** Structural check of an {@link EntryTuple} from the wire or a file: types and sizes. */
export function isEntryTuple(e: unknown, limits: TupleLimits): e is EntryTuple {
  if (!Array.isArray(e) || e.length !== 7) return false
  const [key, wall, logical, node, expiresAt, kind, value] = e as unknown[]
  if (
    !isStr(key, limits.maxKeyLength) ||
    !isSafe(wall) ||
    !isSafe(logical) ||
    !isStr(node, limits.maxNameLength) ||
    !isSafe(expiresAt)
  ) {
    return false
  }
  if (kind === 0)
    return value instanceof Uint8Array && value.length > 0 && value.length <= limits.maxValueBytes
  return (kind === 1 || kind === 2) && value === null
}

/**
 * A stored entry (value or tombstone) as a tuple. Stored entries do not keep their
 * encoding (it would double their memory), so the value is re-encoded unless the caller
 * has the bytes at hand.
 */
export function tupleOf(key: string, entry: Entry, encoded?: Uint8Array): EntryTuple {
  const v = entry.version
  if (entry.tombstone) return [key, v.wall, v.logical, v.node, entry.expiresAt, 1, null]
  return [
    key,
    v.wall,
    v.logical,
    v.node,
    entry.expiresAt,
    0,
    encoded ?? encodeStored(key, entry.value, entry.tags),
  ]
}

/** A version without its value (see {@link TUPLE_KIND}). */
export function versionOnlyTuple(key: string, version: Version, expiresAt: number): EntryTuple {
  return [key, version.wall, version.logical, version.node, expiresAt, 2, null]
}
