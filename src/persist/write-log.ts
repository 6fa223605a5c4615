import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { logger } from '../log.js'
import type { EntryTuple } from '../replication/entry-tuple.js'
import { msgpack, unpackStrict } from '../replication/value-codec.js'
import { FILE_LIMITS, isFileRow } from './file-rows.js'

const log = logger('meshcache:persist')

/** File name of the log of local writes since the last snapshot, inside `dataDir`. */
export const WRITE_LOG_FILE = 'writes.log'
/** The log of the snapshot being written: deleted once that snapshot is safe. */
export const PREVIOUS_LOG_FILE = 'writes.prev.log'

/** Buffered rows that make the log write at once rather than at the end of the turn. */
const FLUSH_ROWS = 1_024
/** Frame header: body length, then CRC-32 of the body (both u32 big-endian). */
const HEADER = 8

/**
 * The log of this node's own writes since the last snapshot: after a `kill -9`, the
 * snapshot plus this log give back every write the node acknowledged, so a restarted
 * node never serves an older version than one it acknowledged.
 *
 * Records (`[keyspace, ...entry tuple]`) are buffered and written by a microtask the
 * first record of a turn queues (or at 1,024 records) as one frame (length, CRC-32,
 * msgpack body): it runs before any code that awaits the write call (whose promise was
 * settled after the record was queued) and before any network answer (an `ack`), so a
 * write the API acknowledged is in the file even when the process is killed right after
 * the `await` (docs/decisions/persistence.md). Writes made together in one synchronous
 * run still share one frame. A killed process loses nothing the kernel has; only a host
 * crash before the kernel's write-back can lose the last frames (no fsync per write: a
 * measured choice, docs/decisions/persistence.md). A frame that is torn or fails its
 * CRC ends the valid log: the file is cut back to it on open, and after a failed append,
 * so later frames are never read as part of a broken one. A snapshot rotates the log.
 */
export class WriteLog {
  private readonly file: string
  private fd: number
  /** Rows of this turn, packed into one frame when flushed (one msgpack call per turn). */
  private rows: unknown[][] = []
  private scheduled = false
  /** Bytes of valid frames in the current file. */
  private size: number
  /** Bytes appended since the last rotation. */
  bytes = 0
  /** Failed writes (a full disk): counted and logged, never thrown into the write path. */
  failures = 0

  /** Opens the log of `dataDir`, cut back to its last valid frame. */
  constructor(dataDir: string) {
    this.file = join(dataDir, WRITE_LOG_FILE)
    const valid = existsSync(this.file) ? scan(readFileSync(this.file), () => {}) : 0
    this.fd = openSync(this.file, 'a', 0o600)
    if (fstatSync(this.fd).size !== valid) ftruncateSync(this.fd, valid)
    this.size = valid
  }

  /** Queues one record; written before code that awaits its write call runs again. */
  append(keyspace: string, tuple: EntryTuple): void {
    this.rows.push([keyspace, ...tuple])
    if (this.rows.length >= FLUSH_ROWS) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => {
        // A flush since (1,024 rows, a rotation) took this one's rows: nothing to write.
        if (this.scheduled) this.flush()
      })
    }
  }

  /** Writes what is buffered now, as one frame. */
  flush(): void {
    this.scheduled = false
    if (this.rows.length === 0) return
    const body = msgpack.pack(this.rows)
    this.rows = []
    const data = Buffer.allocUnsafe(HEADER + body.length)
    data.writeUInt32BE(body.length, 0)
    data.writeUInt32BE(crc32(body), 4)
    data.set(body, HEADER)
    try {
      let off = 0
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off)
      this.size += data.length
      this.bytes += data.length
    } catch (err) {
      this.failures++
      log('write log append failed: %s', (err as Error).message)
      // A partial frame must not stay: the next frame would be read as its tail.
      try {
        ftruncateSync(this.fd, this.size)
      } catch {
        // The next open cuts the file back to its last valid frame anyway.
      }
    }
  }

  /**
   * Starts a new log for the writes made from now on; the records so far move to the
   * previous log, deleted by {@link dropPrevious} once a snapshot that covers them is
   * safe (a snapshot that fails keeps them, and the next rotation appends to them).
   * @returns false when the rotation failed (the records stay in the current log)
   */
  rotate(): boolean {
    this.flush()
    const prev = join(this.file, '..', PREVIOUS_LOG_FILE)
    try {
      if (existsSync(prev)) {
        // A snapshot failed before: keep its records and add these (same fd, emptied).
        appendFileSync(prev, readFileSync(this.file).subarray(0, this.size))
        ftruncateSync(this.fd, 0)
      } else {
        renameSync(this.file, prev)
        let fresh: number
        try {
          fresh = openSync(this.file, 'a', 0o600)
        } catch (err) {
          renameSync(prev, this.file)
          throw err
        }
        closeSync(this.fd)
        this.fd = fresh
      }
      this.size = 0
      this.bytes = 0
      return true
    } catch (err) {
      this.failures++
      log('write log rotation failed: %s', (err as Error).message)
      return false
    }
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
      this.size = 0
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
   * Reads the logs of `dataDir` (the previous one first) record by record; a torn or
   * corrupt frame ends a file's replay, a bad record is skipped.
   * @returns records handed to `apply`
   */
  static replay(dataDir: string, apply: (keyspace: string, tuple: EntryTuple) => void): number {
    let n = 0
    for (const name of [PREVIOUS_LOG_FILE, WRITE_LOG_FILE]) {
      const file = join(dataDir, name)
      if (!existsSync(file)) continue
      const data = readFileSync(file)
      const valid = scan(data, (ks, t) => {
        apply(ks, t)
        n++
      })
      if (valid < data.length) {
        log('%s ends with a torn or corrupt frame (%d bytes): ignored', file, data.length - valid)
        // The previous log is never appended to without a rewrite: cut it here too.
        if (name === PREVIOUS_LOG_FILE) truncateSync(file, valid)
      }
    }
    return n
  }
}

/**
 * Walks the frames of a log, handing every valid record to `apply`.
 * @returns the length of the valid prefix (up to the first torn or corrupt frame)
 */
function scan(data: Buffer, apply: (keyspace: string, tuple: EntryTuple) => void): number {
  let off = 0
  while (off + HEADER <= data.length) {
    const len = data.readUInt32BE(off)
    const end = off + HEADER + len
    if (end > data.length) break
    const body = data.subarray(off + HEADER, end)
    if (crc32(body) !== data.readUInt32BE(off + 4)) break
    off = end
    let frame: unknown
    try {
      frame = unpackStrict(body)
    } catch {
      continue
    }
    if (!Array.isArray(frame)) continue
    for (const row of frame) {
      if (isFileRow(row, FILE_LIMITS)) apply(row[0], row.slice(1) as EntryTuple)
    }
  }
  return off
}
