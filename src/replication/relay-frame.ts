/**
 * The frames relays exchange over one long-lived stream per link (`/meshcache/relay/1`):
 * many items per frame, each with a small fixed header read without decoding its body, so
 * a duplicate (same origin, incarnation and sequence number) is dropped before any
 * signature check or msgpack decode.
 *
 *     frame := u8 version | item*
 *     item  := u8 kind | u8 originLength | origin (UTF-8) | f64 incarnation | u32 seq
 *              | u32 bodyLength | body
 *
 * Pure: no sockets.
 * @module
 */

/** Version byte of a frame; a node drops frames of a version it does not know. */
export const FRAME_VERSION = 1

/** What an item carries. */
export const ITEM_KIND = {
  /** A signed write batch (`signature || batch body`, see batch-signing.ts). */
  batch: 1,
  /** A signed member announcement. */
  member: 2,
  /** A link's control message (liveness, clock sample, digests): not relayed. */
  control: 3,
  /**
   * A write batch without its origin's signature (the batch body alone), vouched for by
   * the node that sends it: only to a peer whose hello said it takes such items and that
   * would not check the signature (docs/decisions/vouched-batches.md).
   */
  vouched: 4,
} as const

/** One of {@link ITEM_KIND}. */
export type ItemKind = (typeof ITEM_KIND)[keyof typeof ITEM_KIND]

/** One relayed item: who made it (origin, its incarnation and sequence number) and its bytes. */
export interface RelayItem {
  kind: ItemKind
  /** The node that made the item (a libp2p peer id). */
  origin: string
  /** The origin's incarnation: a number per run, higher for each restart (its start time, ms with a random fraction, or above its last run's). */
  incarnation: number
  /** Sequence number within the incarnation, from 1. */
  seq: number
  /** The item's bytes, opaque here. */
  body: Uint8Array
  /**
   * A vouched batch this node stripped: the signed item it came from (never on the wire),
   * for a stream that cannot carry the vouched one.
   */
  signed?: RelayItem
}

const HEAD = 1 + 1 + 8 + 4 + 4
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Bytes one item takes in a frame. */
export function itemBytes(item: RelayItem): number {
  return HEAD + Buffer.byteLength(item.origin) + item.body.length
}

/** Packs items into one frame. @throws RangeError for an origin longer than 255 bytes */
export function encodeFrame(items: readonly RelayItem[]): Uint8Array {
  let size = 1
  const origins: Uint8Array[] = new Array(items.length)
  for (let i = 0; i < items.length; i++) {
    const o = encoder.encode(items[i]!.origin)
    if (o.length > 255) throw new RangeError('origin over 255 bytes')
    origins[i] = o
    size += HEAD + o.length + items[i]!.body.length
  }
  const out = Buffer.allocUnsafe(size)
  out[0] = FRAME_VERSION
  let off = 1
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    const o = origins[i]!
    out[off] = item.kind
    out[off + 1] = o.length
    out.set(o, off + 2)
    off += 2 + o.length
    out.writeDoubleBE(item.incarnation, off)
    out.writeUInt32BE(item.seq >>> 0, off + 8)
    out.writeUInt32BE(item.body.length, off + 12)
    off += 16
    out.set(item.body, off)
    off += item.body.length
  }
  return out
}

/** Why a frame could not be read (a hostile or broken peer). */
export class FrameError extends Error {}

/**
 * Reads a frame's items in order, handing each to `each` before reading the next (so a
 * caller can skip a duplicate's body without copying it: the body is a view of `frame`).
 * @throws FrameError on an unknown version, a truncated item or an unknown kind
 */
export function readFrame(frame: Uint8Array, each: (item: RelayItem) => void): void {
  if (frame.length === 0 || frame[0] !== FRAME_VERSION)
    throw new FrameError(`unknown frame version ${frame[0]}`)
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  let off = 1
  while (off < frame.length) {
    if (off + HEAD > frame.length) throw new FrameError('truncated item header')
    const kind = itemKind(frame[off]!)
    const originLength = frame[off + 1]!
    off += 2
    if (off + originLength + 16 > frame.length) throw new FrameError('truncated item header')
    const origin = originAt(frame, off, originLength)
    off += originLength
    const incarnation = view.getFloat64(off)
    const seq = view.getUint32(off + 8)
    const bodyLength = view.getUint32(off + 12)
    off += 16
    if (off + bodyLength > frame.length) throw new FrameError('truncated item body')
    if (!Number.isFinite(incarnation)) throw new FrameError('bad incarnation')
    each({
      kind,
      origin,
      incarnation,
      seq,
      body: frame.subarray(off, off + bodyLength),
    })
    off += bodyLength
  }
}

/** The kind an item's first byte names. @throws FrameError for a byte no kind has */
export function itemKind(byte: number): ItemKind {
  if (
    byte !== ITEM_KIND.batch &&
    byte !== ITEM_KIND.member &&
    byte !== ITEM_KIND.control &&
    byte !== ITEM_KIND.vouched
  )
    throw new FrameError(`unknown item kind ${byte}`)
  return byte
}

/** The origin of `length` bytes at `off`. @throws FrameError when they are not UTF-8 */
export function originAt(frame: Uint8Array, off: number, length: number): string {
  try {
    return decoder.decode(frame.subarray(off, off + length))
  } catch {
    throw new FrameError('origin is not UTF-8')
  }
}
