import type { EntryTuple } from './entry-tuple.js'

/** Options of {@link OutboundBatcher}. */
export interface OutboundBatcherOptions {
  /** A keyspace's pending batch is flushed once its records reach this many bytes. */
  flushBytes: number
  /** Most records in one batch. */
  maxRecords: number
}

/** Records of one keyspace, ready to publish. */
export interface PendingBatch {
  keyspace: string
  records: EntryTuple[]
  /** Estimated encoded size, bytes. */
  bytes: number
  /** When its first record was queued (the caller's monotonic ms): the batch's queue time starts there. */
  openedAt: number
}

/** Estimated encoded size of a record (msgpack overhead is a few bytes per field). */
export function recordBytes(r: EntryTuple): number {
  return r[0].length * 3 + (r[6]?.length ?? 0) + 32
}

/**
 * Groups local writes per keyspace into batches so one relay item carries many writes. Pure: the mesh decides when to flush (after ~1 ms, or at once when
 * {@link add} reports a full batch).
 */
export class OutboundBatcher {
  private readonly pending = new Map<string, PendingBatch>()
  private readonly full: PendingBatch[] = []
  private readonly options: OutboundBatcherOptions

  constructor(options: OutboundBatcherOptions) {
    this.options = options
  }

  /** Records waiting, in all keyspaces. */
  get size(): number {
    let n = 0
    for (const b of this.pending.values()) n += b.records.length
    for (const b of this.full) n += b.records.length
    return n
  }

  /**
   * Queues a record.
   * @param at - the caller's monotonic time, ms (kept as the batch's start)
   * @returns true when a batch is full and should be flushed now
   */
  add(keyspace: string, record: EntryTuple, at = 0): boolean {
    let batch = this.pending.get(keyspace)
    if (batch === undefined) {
      batch = { keyspace, records: [], bytes: 0, openedAt: at }
      this.pending.set(keyspace, batch)
    }
    batch.records.push(record)
    batch.bytes += recordBytes(record)
    if (batch.bytes >= this.options.flushBytes || batch.records.length >= this.options.maxRecords) {
      this.full.push(batch)
      this.pending.delete(keyspace)
      return true
    }
    return false
  }

  /** Takes every queued batch, full ones first, in the order they were written. */
  drain(): PendingBatch[] {
    const out = this.full.splice(0)
    for (const b of this.pending.values()) out.push(b)
    this.pending.clear()
    return out
  }
}
