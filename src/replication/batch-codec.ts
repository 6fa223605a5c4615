import { InvalidMessageError } from '../errors.js'
import type { EntryTuple } from './entry-tuple.js'
import type { WireLimits } from './limits.js'
import { msgpack } from './value-codec.js'
import type { WriteBatch } from './write-record.js'

/** Wire format version; a node rejects batches of a version it does not know. */
export const BATCH_FORMAT = 3

// Wire layout (msgpack array, compact and positional):
//   [format, origin, region, keyspace, sentAt, incarnation, seq,
//    [[key, wall, logical, expiresAt, tombstone, value|null], ...]]
// incarnation and seq repeat the relay item's header under the origin's signature, so a
// relay cannot renumber a batch into a duplicate.
// Values stay as their own msgpack bytes (bin), so relays and sync never re-encode them.

/** Encodes a batch for the relay (the origin signs these bytes). */
export function encodeBatch(batch: WriteBatch): Uint8Array {
  const rows = new Array(batch.records.length)
  for (let i = 0; i < batch.records.length; i++) {
    const r = batch.records[i]!
    rows[i] = [r[0], r[1], r[2], r[4], r[5] === 1 ? 1 : 0, r[6]]
  }
  return msgpack.pack([
    BATCH_FORMAT,
    batch.origin,
    batch.region,
    batch.keyspace,
    batch.sentAt,
    batch.incarnation,
    batch.seq,
    rows,
  ])
}

function fail(reason: string): never {
  throw new InvalidMessageError(`invalid batch: ${reason}`)
}

function isName(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/**
 * Decodes and structurally validates a batch from the wire. Never trusts the input:
 * every field's type and size is checked before use.
 * @throws InvalidMessageError saying what is wrong
 */
export function decodeBatch(bytes: Uint8Array, limits: WireLimits): WriteBatch {
  if (bytes.length > limits.maxBatchBytes)
    fail(`${bytes.length} bytes, over ${limits.maxBatchBytes}`)
  let raw: unknown
  try {
    raw = msgpack.unpack(bytes)
  } catch (cause) {
    throw new InvalidMessageError('invalid batch: not msgpack', { cause })
  }
  if (!Array.isArray(raw) || raw.length !== 8) fail('not an 8-element array')
  const [format, origin, region, keyspace, sentAt, incarnation, seq, rows] = raw as unknown[]
  if (format !== BATCH_FORMAT) fail(`unknown format ${String(format)}`)
  if (!isTime(sentAt)) fail('bad send time')
  if (typeof incarnation !== 'number' || !Number.isFinite(incarnation)) fail('bad incarnation')
  if (!isTime(seq) || seq > 0xffff_ffff) fail('bad sequence number')
  if (!isName(origin, limits.maxNameLength)) fail('bad origin')
  if (!isName(region, limits.maxNameLength)) fail('bad region')
  if (!isName(keyspace, limits.maxNameLength)) fail('bad keyspace')
  if (!Array.isArray(rows) || rows.length === 0) fail('no records')
  if (rows.length > limits.maxRecordsPerBatch)
    fail(`${rows.length} records, over ${limits.maxRecordsPerBatch}`)
  const records: EntryTuple[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i]
    if (!Array.isArray(row) || row.length !== 6) fail(`record ${i}: not a 6-element array`)
    const [key, wall, logical, expiresAt, tomb, value] = row as unknown[]
    if (!isName(key, limits.maxKeyLength)) fail(`record ${i}: bad key`)
    if (!isTime(wall) || !isTime(logical) || !isTime(expiresAt))
      fail(`record ${i}: bad stamp or expiry`)
    if (tomb !== 0 && tomb !== 1) fail(`record ${i}: bad tombstone flag`)
    if (tomb === 1) {
      if (value !== null) fail(`record ${i}: tombstone with a value`)
    } else if (
      !(value instanceof Uint8Array) ||
      value.length === 0 ||
      value.length > limits.maxValueBytes
    ) {
      fail(`record ${i}: bad value`)
    }
    // The one record shape from here to the replica: an entry tuple naming the origin.
    records[i] = [
      key,
      wall,
      logical,
      origin,
      expiresAt,
      tomb === 1 ? 1 : 0,
      tomb === 1 ? null : (value as Uint8Array),
    ]
  }
  return { origin, region, keyspace, sentAt, incarnation, seq, records }
}
