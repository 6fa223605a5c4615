import { crc32 } from 'node:zlib'

/** Bytes before each frame's body: its length, then the CRC-32 of the body (u32 big-endian). */
export const FRAME_HEAD = 8

/** A frame of `body`: its length and CRC-32, then the body. */
export function encodeFrame(body: Uint8Array): Buffer {
  const data = Buffer.allocUnsafe(FRAME_HEAD + body.length)
  data.writeUInt32BE(body.length, 0)
  data.writeUInt32BE(crc32(body), 4)
  data.set(body, FRAME_HEAD)
  return data
}

/**
 * Bytes whose CRC a search for the next intact frame may compute before it gives up (the
 * rest is then read as a tear): bounds the time a damaged file can cost at a start
 * (~0.1-0.3 s); real files never come near it (see scanFrames).
 */
const SEARCH_BUDGET = 256 * 2 ** 20

/**
 * A quick test of what a frame body looks like, from its first bytes (`data[at]`...):
 * what each writer puts first.
 */
export type BodyShape = (data: Buffer, at: number) => boolean

/** What {@link scanFrames} found. */
export interface FrameScan {
  /** Where the readable frames end: `data.length`, or where a tear begins. */
  end: number
  /** Damaged frames before `end` (skipped, or read when only their length was damaged). */
  damaged: number
}

/**
 * Walks the frames of `data` from `start`, handing each intact body (whole, CRC right)
 * and its offset to `onFrame`. A frame that fails its check is counted, and the walk
 * goes on with the next intact frame: at the end of the damaged one when its length
 * still leads to the end of the data or to an intact frame (only its body changed: it
 * is skipped), else at the first offset after it where an intact frame starts (its
 * length changed: when the bytes up to there match its CRC, only the length did, and
 * its body is read after all). Only when no intact frame follows, and the bytes to the
 * end do not match its CRC either, does the walk stop: that is a tear, and `end` says
 * where it begins; nothing after it can be read.
 *
 * An intact frame is never empty, and its body starts the way its writer starts every
 * body (`shape`): a search for the next frame checks the CRC only of candidates that
 * look like one, so it costs little, and a chance match (a CRC-32 collision: 1 in 2^32
 * per candidate, whose rows still get every check a peer's rows get) is very unlikely.
 * Skipping is safe for the readers: rows carry their versions, and last-writer-wins
 * makes their order irrelevant.
 */
export function scanFrames(
  data: Buffer,
  start: number,
  shape: BodyShape,
  onFrame: (body: Buffer, offset: number) => void,
): FrameScan {
  let off = start
  let damaged = 0
  const budget = { bytes: SEARCH_BUDGET }
  while (off < data.length) {
    const end = intactEnd(data, off)
    if (end !== -1) {
      onFrame(data.subarray(off + FRAME_HEAD, end), off)
      off = end
      continue
    }
    const next = nextFrame(data, off, shape, budget)
    const stop = next === -1 ? data.length : next
    const matches =
      off + FRAME_HEAD < stop &&
      crc32(data.subarray(off + FRAME_HEAD, stop)) === data.readUInt32BE(off + 4)
    if (!matches && next === -1) break
    damaged++
    if (matches) onFrame(data.subarray(off + FRAME_HEAD, stop), off)
    off = stop
  }
  return { end: off, damaged }
}

/** Where reading goes on after the damaged frame at `off`, or -1 when no intact frame follows. */
function nextFrame(data: Buffer, off: number, shape: BodyShape, budget: { bytes: number }): number {
  // Its length leads to the end, or to an intact frame: only its body changed.
  if (off + FRAME_HEAD <= data.length) {
    const len = data.readUInt32BE(off)
    const end = off + FRAME_HEAD + len
    if (len > 0 && (end === data.length || candidate(data, end, shape, budget))) return end
  }
  // Its length changed too: the first intact frame after it.
  for (let p = off + 1; p + FRAME_HEAD < data.length && budget.bytes > 0; p++) {
    if (candidate(data, p, shape, budget)) return p
  }
  return -1
}

/** Whether an intact frame of the writer's shape starts at `off` (its CRC counted in `budget`). */
function candidate(
  data: Buffer,
  off: number,
  shape: BodyShape,
  budget: { bytes: number },
): boolean {
  if (off + FRAME_HEAD >= data.length) return false
  const len = data.readUInt32BE(off)
  if (len === 0 || off + FRAME_HEAD + len > data.length || !shape(data, off + FRAME_HEAD))
    return false
  budget.bytes -= len
  return intactEnd(data, off) !== -1
}

/** The end of the intact frame (whole, not empty, CRC right) at `off`, or -1. */
function intactEnd(data: Buffer, off: number): number {
  if (off + FRAME_HEAD > data.length) return -1
  const len = data.readUInt32BE(off)
  const end = off + FRAME_HEAD + len
  if (len === 0 || end > data.length) return -1
  return crc32(data.subarray(off + FRAME_HEAD, end)) === data.readUInt32BE(off + 4) ? end : -1
}
