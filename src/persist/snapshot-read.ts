import { readFileSync } from 'node:fs'
import { logger } from '../log.js'
import { msgpack, unpackStrict } from '../replication/value-codec.js'
import { startsRow } from './file-rows.js'
import { FRAME_HEAD, scanFrames } from './frames.js'

const log = logger('meshcache:persist')

/**
 * Format 1: one msgpack array (read only). Format 2: length-prefixed frames of row
 * arrays (read only). Format 3: a magic, then frames of `[length][crc32][rows]`, the
 * rows a msgpack sequence, so a torn last frame still gives back every row before the
 * tear and a damaged frame costs only its own rows.
 */
export const SNAPSHOT_FORMAT = 3
/** First bytes of a format-3 file. */
export const SNAPSHOT_MAGIC = Buffer.from('MCS3')

/** What a snapshot file holds, as read: rows still to be checked, and the saved clock. */
export interface SnapshotContents {
  rows: unknown[]
  wall?: unknown
  logical?: unknown
  correction?: unknown
  /** Each keyspace's options when it was saved (format 3 since 2026-12-08), by name. */
  keyspaces?: unknown
  /** Frames that were torn or failed their checksum (their intact rows are kept). */
  damaged: number
}

/**
 * The rows and the saved clock of a snapshot file, any format. A format-3 file whose
 * magic is damaged is still read, frame by frame (their CRCs check them; the magic
 * counts as one damaged frame).
 * @throws when no format reads it
 */
export function readSnapshot(file: string): SnapshotContents {
  const data = readFileSync(file)
  if (data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return readFormat3(data)
  const older = readFormat2(data) ?? readFormat1(data)
  if (older !== undefined) return older
  const format3 = readFormat3(data)
  if (format3.intact === 0) throw new Error('unknown format')
  log('snapshot %s: its magic is damaged; its intact frames are read', file)
  return { ...format3, damaged: format3.damaged + 1 }
}

/** Format 2: frames of `[length][rows]`; the first frame is the header [2, savedAt, wall, logical]. */
function readFormat2(data: Buffer): SnapshotContents | undefined {
  if (data.length < 4) return undefined
  const len = data.readUInt32BE(0)
  if (len === 0 || 4 + len > data.length) return undefined
  const header = safeUnpack(data.subarray(4, 4 + len))
  if (!Array.isArray(header) || header[0] !== 2) return undefined
  const rows: unknown[] = []
  let damaged = 0
  let off = 4 + len
  while (off + 4 <= data.length) {
    const n = data.readUInt32BE(off)
    if (off + 4 + n > data.length) {
      damaged++
      break
    }
    try {
      const frame = unpackStrict(data.subarray(off + 4, off + 4 + n))
      if (Array.isArray(frame)) rows.push(...frame)
    } catch {
      damaged++
    }
    off += 4 + n
  }
  return { rows, wall: header[2], logical: header[3], correction: header[4], damaged }
}

/** Format 1: one msgpack array [1, savedAt, rows, wall, logical]. */
function readFormat1(data: Buffer): SnapshotContents | undefined {
  const raw = safeUnpack(data)
  if (!Array.isArray(raw) || raw[0] !== 1 || !Array.isArray(raw[2])) return undefined
  return { rows: raw[2], wall: raw[3], logical: raw[4], damaged: 0 }
}

/**
 * Format 3 (after the magic, intact or not): the header frame, then frames of rows. A
 * frame that fails its checksum is dropped (any row in it may be altered) and the
 * intact frames after it are read (scanFrames); a torn last frame gives back its rows
 * up to the tear (msgpack stops at the first incomplete one).
 */
function readFormat3(data: Buffer): SnapshotContents & { intact: number } {
  const out: SnapshotContents & { intact: number } = { rows: [], damaged: 0, intact: 0 }
  const first = SNAPSHOT_MAGIC.length
  const scan = scanFrames(data, first, snapshotShape, (body, offset) => {
    if (offset !== first) {
      if (unpackRows(body, out.rows)) out.intact++
      else out.damaged++
      return
    }
    out.intact++
    const header = safeUnpack(body)
    if (Array.isArray(header) && header[0] === SNAPSHOT_FORMAT) {
      out.wall = header[2]
      out.logical = header[3]
      out.correction = header[4]
      out.keyspaces = header[5]
    } else out.damaged++
  })
  out.damaged += scan.damaged
  const tear = scan.end
  if (tear < data.length) {
    out.damaged++
    // A torn frame of rows (its length runs past the end): its rows up to the tear.
    if (tear > first && tear + FRAME_HEAD < data.length) {
      if (tear + FRAME_HEAD + data.readUInt32BE(tear) > data.length)
        unpackRows(data.subarray(tear + FRAME_HEAD), out.rows)
    }
  }
  return out
}

/**
 * A format-3 frame's body: rows (each a msgpack array of 8), or the header [3, ...] of 5
 * elements, or 6 with the keyspaces' options.
 */
function snapshotShape(data: Buffer, at: number): boolean {
  return (
    startsRow(data, at) ||
    ((data[at] === 0x95 || data[at] === 0x96) && data[at + 1] === SNAPSHOT_FORMAT)
  )
}

/** Adds the rows packed back to back in `body` to `rows`. @returns false when one was cut or bad (those before it are added) */
function unpackRows(body: Uint8Array, rows: unknown[]): boolean {
  try {
    msgpack.unpackMultiple(body, (row: unknown) => {
      rows.push(row)
    })
    return true
  } catch {
    return false
  }
}

function safeUnpack(bytes: Uint8Array): unknown {
  try {
    return unpackStrict(bytes)
  } catch {
    return undefined
  }
}
