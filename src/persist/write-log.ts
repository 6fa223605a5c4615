import {
  appendFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import createDebug from 'debug'
import { type EntryTuple, isEntryTuple } from '../replication/entry-tuple.js'
import { WIRE_LIMITS } from '../replication/limits.js'
import { msgpack, unpackStrict } from '../replication/value-codec.js'

const log = createDebug('meshcache:persist')

/** File name of the log of local writes since the last snapshot, inside `dataDir`. */
export const WRITE_LOG_FILE = 'writes.log'
/** The log of the snapshot being written: deleted once that snapshot is safe. */
export const PREVIOUS_LOG_FILE = 'writes.prev.log'

/** Buffered rows that make the log write at once rather than at the end of the turn. */
const FLUSH_ROWS = 1_024

/** Log records are checked like wire input (a file can be torn, edited or foreign). */
const LIMITS = { ...WIRE_LIMITS, maxKeyLength: Number.MAX_SAFE_INTEGER }

/**
 * The log of this node's own writes since the last snapshot: after a `kill -9`, the
 * snapshot plus this log give back every write the node acknowledged, so a restarted
 * node never serves an older version than one it acknowledged.
 *
 * Records (`[keyspace, ...entry tuple]`) are buffered and written at the end of the
 * current turn of the event loop (or at 1,024 records) as one length-prefixed msgpack
 * frame, before any
 * network answer (an `ack`) can arrive: a write the API acknowledged is in the file. A
 * killed process loses nothing the kernel has; only a host crash before the kernel's
 * write-back can lose the last records (no fsync per write: a measured choice,
 * docs/decisions/persistence.md). A snapshot truncates the log.
 */
export class WriteLog {
  private readonly file: string
  private fd: number
  /** Rows of this turn, packed into one frame when flushed (one msgpack call per turn). */
  private rows: unknown[][] = []
  private scheduled: NodeJS.Immediate | undefined
  /** Bytes appended since the last truncation. */
  bytes = 0
  /** Failed writes (a full disk): counted and logged, never thrown into the write path. */
  failures = 0

  constructor(dataDir: string) {
    this.file = join(dataDir, WRITE_LOG_FILE)
    this.fd = openSync(this.file, 'a', 0o600)
  }

  /** Queues one record; written before the end of the current turn. */
  append(keyspace: string, tuple: EntryTuple): void {
    this.rows.push([keyspace, ...tuple])
    if (this.rows.length >= FLUSH_ROWS) this.flush()
    else this.scheduled ??= setImmediate(() => this.flush())
  }

  /** Writes what is buffered now, as one frame. */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    if (this.rows.length === 0) return
    const body = msgpack.pack(this.rows)
    this.rows = []
    const data = Buffer.allocUnsafe(4 + body.length)
    data.writeUInt32BE(body.length, 0)
    data.set(body, 4)
    try {
      let off = 0
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off)
      this.bytes += data.length
    } catch (err) {
      this.failures++
      log('write log append failed: %s', (err as Error).message)
    }
  }

  /**
   * Starts a new log for the writes made from now on; the records so far move to the
   * previous log, deleted by {@link dropPrevious} once a snapshot that covers them is
   * safe (a snapshot that fails keeps them, and the next rotation appends to them).
   */
  rotate(): void {
    this.flush()
    const dir = join(this.file, '..')
    const prev = join(dir, PREVIOUS_LOG_FILE)
    try {
      closeSync(this.fd)
      if (existsSync(prev)) {
        appendFileSync(prev, readFileSync(this.file))
        rmSync(this.file, { force: true })
      } else {
        renameSync(this.file, prev)
      }
      this.bytes = 0
    } catch (err) {
      this.failures++
      log('write log rotation failed: %s', (err as Error).message)
    }
    this.fd = openSync(this.file, 'a', 0o600)
  }

  /** The snapshot that covers the previous log is safe: delete it. */
  dropPrevious(): void {
    rmSync(join(this.file, '..', PREVIOUS_LOG_FILE), { force: true })
  }

  /** Empties the log (its records are in a snapshot now). */
  truncate(): void {
    this.flush()
    try {
      ftruncateSync(this.fd, 0)
      this.bytes = 0
    } catch (err) {
      this.failures++
      log('write log truncate failed: %s', (err as Error).message)
    }
  }

  close(): void {
    this.flush()
    closeSync(this.fd)
  }

  /**
   * Reads the log in `dataDir` record by record; a torn tail (a write cut by a crash)
   * ends the replay, a bad record is skipped.
   * @returns records handed to `apply`
   */
  static replay(dataDir: string, apply: (keyspace: string, tuple: EntryTuple) => void): number {
    // The previous log (a snapshot that did not finish) first, then the current one.
    return (
      WriteLog.replayFile(join(dataDir, PREVIOUS_LOG_FILE), apply) +
      WriteLog.replayFile(join(dataDir, WRITE_LOG_FILE), apply)
    )
  }

  private static replayFile(
    file: string,
    apply: (keyspace: string, tuple: EntryTuple) => void,
  ): number {
    if (!existsSync(file)) return 0
    const data = readFileSync(file)
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    let off = 0
    let n = 0
    while (off + 4 <= data.length) {
      const len = view.getUint32(off)
      if (off + 4 + len > data.length) break
      const body = data.subarray(off + 4, off + 4 + len)
      off += 4 + len
      let frame: unknown
      try {
        frame = unpackStrict(body)
      } catch {
        continue
      }
      if (!Array.isArray(frame)) continue
      for (const row of frame) {
        if (!Array.isArray(row) || row.length !== 8 || typeof row[0] !== 'string') continue
        const tuple = row.slice(1)
        if (!isEntryTuple(tuple, LIMITS)) continue
        apply(row[0], tuple)
        n++
      }
    }
    if (off < data.length)
      log('write log ends with a torn record (%d bytes): ignored', data.length - off)
    return n
  }
}
