import {
  closeSync,
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
import { logger } from '../log.js'
import type { EntryTuple } from '../replication/entry-tuple.js'
import { msgpack, unpackStrict } from '../replication/value-codec.js'
import { isDataFile } from './data-file.js'
import { FILE_LIMITS, isFileRow, startsRow } from './file-rows.js'
import { encodeFrame, scanFrames } from './frames.js'

const log = logger('meshcache:persist')

/** File name of the log of local writes since the last snapshot, inside `dataDir`. */
export const WRITE_LOG_FILE = 'writes.log'
/** The log of the snapshot being written: deleted once that snapshot is safe. */
export const PREVIOUS_LOG_FILE = 'writes.prev.log'

/** Buffered rows that make the log write at once rather than at the end of the turn. */
const FLUSH_ROWS = 1_024

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
 * measured choice, docs/decisions/persistence.md). A frame that fails its CRC is skipped
 * and counted, and the intact frames after it are still read (see scanFrames); a tear
 * (bytes after which no intact frame follows) is cut off on open, and a failed append is
 * cut back at once, so later frames are never written after a broken one. A snapshot
 * rotates the log.
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

  /**
   * Opens the log of `dataDir`, cut back where a tear begins.
   * @throws InvalidOptionError naming the file when it is not a regular file (a directory)
   */
  constructor(dataDir: string) {
    this.file = join(dataDir, WRITE_LOG_FILE)
    const valid = isDataFile(this.file)
      ? scanFrames(readFileSync(this.file), 0, logShape, () => {}).end
      : 0
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
    const data = encodeFrame(msgpack.pack(this.rows))
    this.rows = []
    try {
      writeAll(this.fd, data)
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
   * safe (a snapshot that fails keeps them, and the next rotation appends to them: an
   * append that fails part-way, a full disk, is cut back off the previous log, and the
   * current log is emptied only once its frames are all there).
   * @returns false when the rotation failed (the records stay in the current log)
   */
  rotate(): boolean {
    this.flush()
    const prev = join(this.file, '..', PREVIOUS_LOG_FILE)
    try {
      if (isDataFile(prev)) {
        // A snapshot failed before: keep its records and add these (same fd, emptied).
        appendWhole(prev, readFileSync(this.file).subarray(0, this.size))
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
   * Reads the logs of `dataDir` (the previous one first) record by record: a frame that
   * fails its CRC is skipped and counted (the intact frames after it are read: versions
   * make their order irrelevant), a bad record is skipped, a tear ends a file (counted,
   * and cut off the previous log, which is appended to later).
   * @throws InvalidOptionError naming a log that is not a regular file (a directory)
   */
  static replay(
    dataDir: string,
    apply: (keyspace: string, tuple: EntryTuple) => void,
  ): { records: number; damagedFrames: number } {
    let records = 0
    let damagedFrames = 0
    for (const name of [PREVIOUS_LOG_FILE, WRITE_LOG_FILE]) {
      const file = join(dataDir, name)
      if (!isDataFile(file)) continue
      const data = readFileSync(file)
      const { end, damaged } = scanFrames(data, 0, logShape, (body) => {
        records += applyFrame(body, apply)
      })
      damagedFrames += damaged
      if (damaged > 0) log('%s: %d damaged frames', file, damaged)
      if (end < data.length) {
        damagedFrames++
        log('%s ends with a tear (%d bytes): ignored', file, data.length - end)
        // The previous log is appended to later: cut the tear off it now.
        if (name === PREVIOUS_LOG_FILE) truncateSync(file, end)
      }
    }
    return { records, damagedFrames }
  }
}

/** A log frame's body: a msgpack array of rows (fixarray, array 16 or array 32 first). */
function logShape(data: Buffer, at: number): boolean {
  const first = data[at] ?? 0
  const head = (first & 0xf0) === 0x90 ? 1 : first === 0xdc ? 3 : first === 0xdd ? 5 : 0
  return head > 0 && startsRow(data, at + head)
}

/** Hands the valid records of one intact frame to `apply`. @returns how many */
function applyFrame(body: Buffer, apply: (keyspace: string, tuple: EntryTuple) => void): number {
  let frame: unknown
  try {
    frame = unpackStrict(body)
  } catch {
    return 0
  }
  if (!Array.isArray(frame)) return 0
  let n = 0
  for (const row of frame) {
    if (!isFileRow(row, FILE_LIMITS)) continue
    apply(row[0], row.slice(1) as EntryTuple)
    n++
  }
  return n
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) off += writeSync(fd, data, off, data.length - off)
}

/**
 * Appends `data` to `file` whole or not at all: a write that fails part-way (a full
 * disk) is cut back off, so the next append does not land after a torn frame.
 */
function appendWhole(file: string, data: Uint8Array): void {
  const fd = openSync(file, 'a', 0o600)
  try {
    const before = fstatSync(fd).size
    try {
      writeAll(fd, data)
    } catch (err) {
      try {
        ftruncateSync(fd, before)
      } catch (cut) {
        // Left torn: a reader still finds the intact frames after the tear (scanFrames).
        log('cannot cut %s back after a failed append: %s', file, (cut as Error).message)
      }
      throw err
    }
  } finally {
    closeSync(fd)
  }
}
