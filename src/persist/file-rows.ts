import { isEntryTuple, type TupleLimits } from '../replication/entry-tuple.js'

/**
 * Limits for rows read from this node's own files (snapshot, write log): structure is
 * checked as strictly as wire input, but sizes only loosely — the keyspace's own limits
 * (which may exceed the wire's, e.g. `maxValueBytes` of 4 MB) were checked when the
 * entry was written.
 */
export const FILE_LIMITS: TupleLimits = {
  maxKeyLength: Number.MAX_SAFE_INTEGER,
  maxNameLength: 4_096,
  maxValueBytes: Number.MAX_SAFE_INTEGER,
}

/** A file row: `[keyspace, ...entry tuple]`, structurally valid. */
export function isFileRow(row: unknown, limits: TupleLimits): row is [string, ...unknown[]] {
  return (
    Array.isArray(row) &&
    row.length === 8 &&
    typeof row[0] === 'string' &&
    row[0].length > 0 &&
    isEntryTuple(row.slice(1), limits)
  )
}

/**
 * Whether the bytes at `data[at]` look like the start of a packed file row: a msgpack
 * array of 8, then the keyspace's name (a non-empty string). A quick test: a search for
 * the next intact frame of a damaged file checks CRCs only where it holds.
 */
export function startsRow(data: Buffer, at: number): boolean {
  const name = data[at + 1] ?? 0
  return data[at] === 0x98 && ((name > 0xa0 && name <= 0xbf) || (name >= 0xd9 && name <= 0xdb))
}
