/**
 * Compact relay frames (`/meshcache/relay/2`): the same items as version 1
 * (relay-frame.ts), but an item names its origin and incarnation by a number the stream
 * has agreed on, not by the 52-byte peer id and 8-byte incarnation every time, and its
 * sequence number and length are varints. A one-record write batch crosses a link with a
 * header of about 6 bytes instead of 70 (docs/decisions/compact-frames.md).
 *
 *     frame := u8 2 | item*
 *     item  := u8 kind | varint ref | [ref = 0: u8 originLength | origin | f64 incarnation]
 *              | varint seq | varint bodyLength | body
 *            | u8 0                                   (reset: the table starts empty again)
 *
 * `ref` is 1 + an index into the stream's table of (origin, incarnation) pairs; 0 defines
 * the next entry in place. Both ends build the table in frame order, so it lives as long
 * as the stream; a new stream starts empty. The writer resets it before it would hold
 * more than {@link MAX_ORIGINS} entries, and the reader refuses a stream that goes past
 * that: a hostile peer cannot make it grow without bound.
 *
 * Pure: no sockets.
 * @module
 */
import {
  encodeFrame as encodeV1Frame,
  FRAME_VERSION,
  FrameError,
  ITEM_KIND,
  itemBytes,
  itemKind,
  originAt,
  type RelayItem,
  readFrame,
} from './relay-frame.js'

/** Version byte of a compact frame. */
export const COMPACT_FRAME_VERSION = 2

/** Most (origin, incarnation) entries a stream's table holds. */
export const MAX_ORIGINS = 1_024

/**
 * Most bytes a compact item takes over the same item in version 1 (`itemBytes`): a reset,
 * a ref of 0, and varints of 5 bytes for a sequence number and a length past 2^28.
 */
export const MAX_COMPACT_EXCESS = 4

const RESET = 0
const encoder = new TextEncoder()

/** Bytes of `n` as an unsigned LEB128 varint (n < 2^32). */
function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5
}

function writeVarint(out: Uint8Array, off: number, n: number): number {
  let v = n >>> 0
  while (v >= 0x80) {
    out[off++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  out[off++] = v
  return off
}

/**
 * The sending end of one stream: encodes frames in version 2 (`compact`) or version 1 (a
 * peer that speaks only `/meshcache/relay/1`). One writer per stream, frames written in
 * the order they were encoded.
 */
export class FrameWriter {
  private readonly table = new Map<string, Map<number, number>>()
  private size = 0
  /**
   * Replication bytes of the last frame encoded: its length less its link-control items
   * (0 for a frame of control items alone).
   */
  lastReplicationBytes = 0

  constructor(readonly compact: boolean) {}

  /** Packs items into one frame. @throws RangeError for an origin longer than 255 bytes */
  encode(items: readonly RelayItem[]): Uint8Array {
    if (!this.compact) return this.encodeV1(items)
    // Checked before the table changes: a throw must leave it as the reader has it.
    for (const item of items)
      if (Buffer.byteLength(item.origin) > 255) throw new RangeError('origin over 255 bytes')
    // First pass: refs and sizes (a new entry is defined by the first item that needs it).
    const refs = new Array<number>(items.length)
    const origins = new Array<Uint8Array | undefined>(items.length)
    let size = 1
    let control = 0
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      let ref = this.table.get(item.origin)?.get(item.incarnation)
      let bytes = 1
      if (ref === undefined) {
        if (this.size >= MAX_ORIGINS) {
          this.table.clear()
          this.size = 0
          refs[i] = -1 // a reset before this item
          bytes += 1
        }
        const o = encoder.encode(item.origin)
        if (o.length > 255) throw new RangeError('origin over 255 bytes')
        origins[i] = o
        ref = this.size++
        const byInc = this.table.get(item.origin)
        if (byInc === undefined) this.table.set(item.origin, new Map([[item.incarnation, ref]]))
        else byInc.set(item.incarnation, ref)
        bytes += 1 + 1 + o.length + 8
        if (refs[i] !== -1) refs[i] = 0
      } else {
        refs[i] = ref + 1
        bytes += varintBytes(ref + 1)
      }
      bytes += varintBytes(item.seq >>> 0) + varintBytes(item.body.length) + item.body.length
      if (item.kind === ITEM_KIND.control) control += bytes
      size += bytes
    }
    this.lastReplicationBytes = replicationBytes(size, control)
    const out = Buffer.allocUnsafe(size)
    out[0] = COMPACT_FRAME_VERSION
    let off = 1
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      const ref = refs[i]!
      if (ref === -1) out[off++] = RESET
      out[off++] = item.kind
      if (ref <= 0) {
        const o = origins[i]!
        out[off++] = 0
        out[off++] = o.length
        out.set(o, off)
        off += o.length
        out.writeDoubleBE(item.incarnation, off)
        off += 8
      } else off = writeVarint(out, off, ref)
      off = writeVarint(out, off, item.seq >>> 0)
      off = writeVarint(out, off, item.body.length)
      out.set(item.body, off)
      off += item.body.length
    }
    return out
  }

  private encodeV1(items: readonly RelayItem[]): Uint8Array {
    let control = 0
    for (const item of items) if (item.kind === ITEM_KIND.control) control += itemBytes(item)
    const frame = encodeV1Frame(items)
    this.lastReplicationBytes = replicationBytes(frame.length, control)
    return frame
  }
}

/**
 * The receiving end of one stream: reads frames of either version in stream order.
 * After a frame it could not read, the stream's table can no longer be trusted: every
 * later compact frame is refused too (the peer is broken or hostile; its next stream
 * starts afresh).
 */
export class FrameReader {
  private table: { origin: string; incarnation: number }[] = []
  private broken = false

  /** A compact frame could not be read: the stream's table is no longer trusted. */
  get isBroken(): boolean {
    return this.broken
  }

  /**
   * Reads a frame's items in order, handing each to `each` before reading the next (the
   * body is a view of `frame`).
   * @throws FrameError on an unknown version, a truncated item, an unknown kind or ref
   */
  read(frame: Uint8Array, each: (item: RelayItem) => void): void {
    if (frame.length > 0 && frame[0] === FRAME_VERSION) {
      readFrame(frame, each)
      return
    }
    if (frame.length === 0 || frame[0] !== COMPACT_FRAME_VERSION)
      throw new FrameError(`unknown frame version ${frame[0]}`)
    if (this.broken) throw new FrameError('stream state lost after a bad frame')
    try {
      this.readCompact(frame, each)
    } catch (err) {
      if (err instanceof FrameError) this.broken = true
      throw err
    }
  }

  private readCompact(frame: Uint8Array, each: (item: RelayItem) => void): void {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
    let off = 1
    const varint = (): number => {
      let n = 0
      for (let shift = 0; shift < 35; shift += 7) {
        if (off >= frame.length) throw new FrameError('truncated item header')
        const b = frame[off++]!
        n += (b & 0x7f) * 2 ** shift
        if (b < 0x80) {
          if (n > 0xffff_ffff) throw new FrameError('varint over 32 bits')
          return n
        }
      }
      throw new FrameError('varint over 32 bits')
    }
    while (off < frame.length) {
      let byte = frame[off++]!
      if (byte === RESET) {
        this.table = []
        if (off >= frame.length) throw new FrameError('reset at the end of a frame')
        byte = frame[off++]!
      }
      const kind = itemKind(byte)
      const ref = varint()
      let entry: { origin: string; incarnation: number } | undefined
      if (ref === 0) {
        if (this.table.length >= MAX_ORIGINS) throw new FrameError('origin table full')
        if (off >= frame.length) throw new FrameError('truncated item header')
        const originLength = frame[off++]!
        if (off + originLength + 8 > frame.length) throw new FrameError('truncated item header')
        const origin = originAt(frame, off, originLength)
        off += originLength
        const incarnation = view.getFloat64(off)
        off += 8
        if (!Number.isFinite(incarnation)) throw new FrameError('bad incarnation')
        entry = { origin, incarnation }
        this.table.push(entry)
      } else {
        entry = this.table[ref - 1]
        if (entry === undefined) throw new FrameError(`unknown origin ref ${ref}`)
      }
      const seq = varint()
      const bodyLength = varint()
      if (off + bodyLength > frame.length) throw new FrameError('truncated item body')
      each({
        kind,
        origin: entry.origin,
        incarnation: entry.incarnation,
        seq,
        body: frame.subarray(off, off + bodyLength),
      })
      off += bodyLength
    }
  }
}

/** A frame's bytes less its control items' (0 for a frame of control items alone, or of none). */
function replicationBytes(frameBytes: number, control: number): number {
  return frameBytes - control <= 1 ? 0 : frameBytes - control
}
