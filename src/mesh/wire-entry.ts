import type { Version } from '../clock/version.js'
import { InvalidMessageError } from '../errors.js'
import type { WireLimits } from '../replication/limits.js'
import { decodeValue, encodeValue } from '../replication/value-codec.js'
import type { WriteRecord } from '../replication/write-record.js'
import { type Entry, entrySize } from '../store/entry.js'

/** One entry with its full version, as the get protocol carries it. */
export type WireEntry = [
  key: string,
  wall: number,
  logical: number,
  node: string,
  expiresAt: number,
  tombstone: 0 | 1,
  value: Uint8Array | null,
]

/**
 * A stored entry as a write record. Stored entries do not keep their encoding (it would
 * double their memory and pin receive buffers), so the value is re-encoded unless the
 * caller has the bytes at hand (a fresh local write).
 */
export function recordOf(key: string, entry: Entry, encoded?: Uint8Array): WriteRecord {
  return {
    key,
    wall: entry.version.wall,
    logical: entry.version.logical,
    expiresAt: entry.expiresAt,
    tombstone: entry.tombstone,
    value: entry.tombstone ? undefined : (encoded ?? encodeValue(key, entry.value)),
  }
}

/** A record received from the wire as a store entry (decodes the value). */
export function entryOf(record: WriteRecord, version: Version): Entry {
  if (record.tombstone) {
    return {
      value: undefined,
      version,
      expiresAt: record.expiresAt,
      tombstone: true,
      size: entrySize(record.key, 0),
    }
  }
  const bytes = record.value!
  return {
    value: decodeValue(bytes),
    version,
    expiresAt: record.expiresAt,
    tombstone: false,
    size: entrySize(record.key, bytes.length),
  }
}

/** Encodes an entry with its version for the get protocol. */
export function toWireEntry(key: string, entry: Entry): WireEntry {
  const r = recordOf(key, entry)
  return [
    key,
    r.wall,
    r.logical,
    entry.version.node,
    r.expiresAt,
    r.tombstone ? 1 : 0,
    r.value ?? null,
  ]
}

/**
 * Validates and decodes a {@link WireEntry} from a peer.
 * @throws InvalidMessageError on any malformed field
 */
export function fromWireEntry(raw: unknown, limits: WireLimits): { key: string; entry: Entry } {
  if (!Array.isArray(raw) || raw.length !== 7)
    throw new InvalidMessageError('entry: not a 7-element array')
  const [key, wall, logical, node, expiresAt, tomb, value] = raw as unknown[]
  const ok =
    typeof key === 'string' &&
    key.length > 0 &&
    key.length <= limits.maxKeyLength &&
    Number.isSafeInteger(wall) &&
    (wall as number) >= 0 &&
    Number.isSafeInteger(logical) &&
    (logical as number) >= 0 &&
    typeof node === 'string' &&
    node.length > 0 &&
    node.length <= limits.maxNameLength &&
    Number.isSafeInteger(expiresAt) &&
    (expiresAt as number) >= 0 &&
    (tomb === 0
      ? value instanceof Uint8Array && value.length > 0 && value.length <= limits.maxValueBytes
      : tomb === 1 && value === null)
  if (!ok) throw new InvalidMessageError('entry: bad field')
  const record: WriteRecord = {
    key: key as string,
    wall: wall as number,
    logical: logical as number,
    expiresAt: expiresAt as number,
    tombstone: tomb === 1,
    value: tomb === 1 ? undefined : (value as Uint8Array),
  }
  try {
    return {
      key: record.key,
      entry: entryOf(record, { wall: record.wall, logical: record.logical, node: node as string }),
    }
  } catch (cause) {
    throw new InvalidMessageError('entry: value is not msgpack', { cause })
  }
}
