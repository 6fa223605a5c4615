import type { SyncEntry } from './sync-messages.js'

/**
 * The bytes one anti-entropy message may carry. Every answer and push of a session
 * (`diff` entries and wanted keys, `push` entries, the summaries of a `leaves` request)
 * stops before the item that would take it past {@link maxBytes}: a gap of any size is
 * repaired over several sessions (the message says `more`), never in one frame the
 * transport refuses (docs/decisions/sync-pacing.md, 2026-12-08). Sizes are upper bounds of
 * the msgpack encoding, computed without encoding anything.
 */
export interface SyncBudget {
  /**
   * Most bytes of entries, keys or summaries in one message. A single entry larger than
   * this still goes, alone: the budget must leave room under the frame limit for the
   * largest entry the wire limits allow.
   */
  maxBytes: number
  /**
   * Largest entry sent with its value (key, version and value): a larger one (a
   * `maxValueBytes` raised near the frame limit) travels as its version alone, which
   * still shadows older copies, rather than failing every session.
   */
  maxEntryBytes: number
}

const MiB = 1_048_576

/**
 * Room a message keeps under the frame limit for what the budget does not count: its
 * type, keyspace, `more` flag, origins table and msgpack headers (a few hundred bytes).
 */
const FRAME_HEADROOM_BYTES = 65_536

/**
 * The budget for frames of `frameBytes`: three quarters of the frame for a message's
 * items (3 MiB of a 4 MiB frame; a single entry under the default wire limits, 1 MiB of
 * value and a 1,024-character key, is ~1.05 MiB), and the frame less
 * {@link FRAME_HEADROOM_BYTES} for one entry alone.
 */
export function budgetFor(frameBytes: number): SyncBudget {
  return {
    maxBytes: Math.floor((frameBytes * 3) / 4),
    maxEntryBytes: frameBytes - FRAME_HEADROOM_BYTES,
  }
}

/** The budget of meshcache's 4 MiB request/response frames. */
export const DEFAULT_SYNC_BUDGET: SyncBudget = budgetFor(4 * MiB)

/** Most bytes msgpack takes for a string of `s`: header and UTF-8 (3 bytes per UTF-16 unit at most). */
export function stringBytes(s: string): number {
  let n = 5 + s.length
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) n += 2
  return n
}

/**
 * Fixed part of an entry tuple's encoding: array header, three numbers (9 bytes each),
 * the kind, and the value's header (a typed array is an extension, 7 bytes at most).
 */
const TUPLE_BYTES = 1 + 3 * 9 + 1 + 8

/**
 * Most bytes msgpack takes for an entry tuple with this key, writer and value length: what
 * a replica can tell from its store without encoding the value.
 */
export function entryBytes(key: string, node: string, valueBytes: number): number {
  return TUPLE_BYTES + stringBytes(key) + stringBytes(node) + valueBytes
}

/** {@link entryBytes} of a tuple at hand. */
export function tupleBytes(e: SyncEntry): number {
  return entryBytes(e[0], e[3], e[6] === null ? 0 : e[6].length)
}

/** Most bytes of a `[key, wall, logical, origin]` summary. */
export function summaryBytes(key: string): number {
  return 1 + stringBytes(key) + 9 + 9 + 5
}

/**
 * Bytes taken so far by one message against its budget. An item fits when the total stays
 * within `maxBytes`, or when it is the first: a single item larger than the budget goes
 * alone. Senders stop at the first item that does not fit (the next session starts from
 * what is left), so a message exceeds the budget only when it holds a single item.
 */
export class ByteBudget {
  private used = 0

  constructor(private readonly maxBytes: number) {}

  /** True when an item of `bytes` may join the message. */
  fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.maxBytes
  }

  /** Counts an item of `bytes` that joined the message. */
  add(bytes: number): void {
    this.used += bytes
  }
}
