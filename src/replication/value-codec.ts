import { createRequire } from 'node:module'
import type { Packr } from 'msgpackr'
import { InvalidOptionError, shown, UnencodableValueError } from '../errors.js'
import { isWellFormed } from './value-check.js'

type Msgpackr = typeof import('msgpackr')

let loaded: { packr: Packr; C1: unknown } | undefined

/**
 * The codec, loaded on first use: an embedded cache that never needs a value's bytes (no
 * mesh, no data dir, no byte limit) never loads msgpackr (~7 MB of RSS with its native
 * accelerator).
 */
function codec(): { packr: Packr; C1: unknown } {
  if (loaded !== undefined) return loaded
  const m = createRequire(import.meta.url)('msgpackr') as Msgpackr
  m.addExtension({
    Class: TaggedValue,
    type: 0x54,
    write: (t: TaggedValue) => [t.tags, t.value],
    read: (data: unknown) => {
      const [tags, value] = Array.isArray(data) ? data : [undefined, undefined]
      return new TaggedValue(tags as string[], value)
    },
  })
  // Self-describing msgpack (no shared record structures): every node decodes every
  // payload without coordination. moreTypes keeps Set, RegExp, typed arrays... as themselves.
  const packr = new m.Packr({ useRecords: false, moreTypes: true, largeBigIntToString: false })
  loaded = { packr, C1: m.C1 }
  return loaded
}

/** Most tags one entry may carry, and the longest tag. */
export const TAG_LIMITS = { maxTags: 32, maxTagLength: 256 } as const

/**
 * A value with its tags, as it travels (msgpack extension 0x54): tags ride inside the
 * value's bytes, so batches, entry tuples, sync and snapshots carry them unchanged.
 */
class TaggedValue {
  constructor(
    readonly tags: readonly string[],
    readonly value: unknown,
  ) {}
}

/** True when `tags` is a valid tag list (non-empty strings within {@link TAG_LIMITS}). */
export function validTags(tags: unknown): tags is string[] {
  return (
    Array.isArray(tags) &&
    tags.length > 0 &&
    tags.length <= TAG_LIMITS.maxTags &&
    tags.every(
      (t) =>
        typeof t === 'string' &&
        t.length > 0 &&
        t.length <= TAG_LIMITS.maxTagLength &&
        isWellFormed(t),
    )
  )
}

/**
 * Checks the `tags` option of a write.
 * @throws InvalidOptionError naming what is wrong
 */
export function checkTags(tags: unknown): readonly string[] {
  if (!validTags(tags)) {
    throw new InvalidOptionError(
      `tags must be 1 to ${TAG_LIMITS.maxTags} non-empty strings of at most ${TAG_LIMITS.maxTagLength} characters, without lone surrogates, got ${shown(tags)}`,
    )
  }
  return [...new Set(tags)]
}

/**
 * True when `bytes` hold U+FFFD in UTF-8 (EF BF BD): msgpack writes a lone surrogate as
 * that, so a value whose bytes hold it may read differently decoded than as the writer
 * holds it (docs/decisions/lone-surrogates.md). Also true for a U+FFFD the value really
 * holds, for which decoding changes nothing.
 */
export function holdsReplacementChar(bytes: Uint8Array): boolean {
  let i = bytes.indexOf(0xef)
  while (i >= 0 && i + 2 < bytes.length) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) return true
    i = bytes.indexOf(0xef, i + 1)
  }
  return false
}

/**
 * Encodes a stored value with its tags (when it has any): the bytes a write carries.
 * @throws UnencodableValueError as {@link encodeValue}
 */
export function encodeStored(
  key: string,
  value: unknown,
  tags: readonly string[] | undefined,
): Uint8Array {
  if (tags === undefined) return encodeValue(key, value)
  if (value === undefined) return encodeValue(key, value) // throws the usual error
  return encodeValue(key, new TaggedValue(tags, value))
}

/**
 * Decodes bytes made by {@link encodeStored}.
 * @throws Error on malformed input or bad tags
 */
export function decodeStored(bytes: Uint8Array): {
  value: unknown
  tags: readonly string[] | undefined
} {
  const decoded = unpackStrict(bytes)
  if (!(decoded instanceof TaggedValue)) return { value: decoded, tags: undefined }
  if (!validTags(decoded.tags)) throw new Error('bad tags')
  return { value: decoded.value, tags: decoded.tags }
}

/**
 * True when `bytes` (made by {@link encodeStored}) carry tags: a value with tags starts
 * with its extension's header (fixext 1, type 0x54). Lets a receiver keep every other
 * value as bytes, since only tags must be known before the value is stored.
 */
export function hasTags(bytes: Uint8Array): boolean {
  return bytes[0] === 0xd4 && bytes[1] === 0x54
}

/** Where the next {@link decodeUntagged} reads (one object, reused: decoding is synchronous). */
const span = { start: 0, end: 0 }

/**
 * Decodes the bytes of a value without tags (see {@link hasTags}): `bytes[start, end)`,
 * or all of `bytes`. Reading a range of a larger buffer makes no view of it (msgpackr
 * caches one `DataView` per buffer, so a fresh view per value costs an allocation and a
 * property added to it).
 * @throws Error on malformed input, or on bytes that carry tags after all
 */
export function decodeUntagged(bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  const { packr, C1 } = codec()
  span.start = start
  span.end = end
  // msgpackr reads `end || length`: an empty range must not mean "to the end".
  if (end <= start) throw new Error('no bytes')
  const decoded = packr.unpack(bytes, span)
  if (decoded === C1) throw new Error('0xC1 is not a msgpack value')
  if (decoded instanceof TaggedValue) throw new Error('tags where none were expected')
  return decoded
}

/**
 * Encodes a value for storage accounting and the wire.
 * @param key - the key, named in the error
 * @throws UnencodableValueError for undefined, functions, symbols, cyclic structures and
 *   anything else msgpack cannot carry
 */
export function encodeValue(key: string, value: unknown): Uint8Array {
  const t = typeof value
  if (value === undefined || t === 'function' || t === 'symbol') {
    throw new UnencodableValueError(
      `cannot store ${t} under key '${key}': values must be msgpack-encodable data (use delete() to remove a key)`,
    )
  }
  try {
    return codec().packr.pack(value)
  } catch (cause) {
    const message = (cause as Error).message
    throw new UnencodableValueError(
      /too large to serialize with fast 16-bit map size/.test(message)
        ? `cannot encode the value of key '${key}': an object in it has more than 65,535 keys (msgpack maps here are 16-bit); split it, or store an array of entries`
        : `cannot encode the value of key '${key}' with msgpack (cyclic, or an unsupported type): ${message}`,
      { cause },
    )
  }
}

/**
 * Decodes bytes made by {@link encodeValue}.
 * @throws Error from msgpackr on malformed input (callers on the wire path catch it)
 */
export function decodeValue(bytes: Uint8Array): unknown {
  return unpackStrict(bytes)
}

/**
 * Decodes one msgpack message. msgpackr turns the never-used byte 0xC1 into a marker
 * object instead of failing; a message that is only that byte is refused here.
 * @throws Error on malformed input
 */
export function unpackStrict(bytes: Uint8Array): unknown {
  const { packr, C1 } = codec()
  const value = packr.unpack(bytes)
  if (value === C1) throw new Error('0xC1 is not a msgpack value')
  return value
}

/** The shared msgpack codec, for wire messages and files that use the same settings. */
export const msgpack = {
  pack: (value: unknown): Buffer => codec().packr.pack(value),
  unpack: (bytes: Uint8Array): unknown => codec().packr.unpack(bytes),
  /** Decodes a sequence of msgpack values, one call per value. @throws at a torn value */
  unpackMultiple: (bytes: Uint8Array, each: (value: unknown) => void): void => {
    codec().packr.unpackMultiple(bytes, (v: unknown) => {
      each(v)
    })
  },
}
