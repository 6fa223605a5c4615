import { C1, Packr } from 'msgpackr'
import { UnencodableValueError } from '../errors.js'

// Self-describing msgpack (no shared record structures): every node decodes every
// payload without coordination. moreTypes keeps Set, Error, RegExp... as themselves.
const packr = new Packr({ useRecords: false, moreTypes: true, largeBigIntToString: false })

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
    return packr.pack(value)
  } catch (cause) {
    throw new UnencodableValueError(
      `cannot encode the value of key '${key}' with msgpack (cyclic, or an unsupported type): ${(cause as Error).message}`,
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
  const value = packr.unpack(bytes)
  if (value === C1) throw new Error('0xC1 is not a msgpack value')
  return value
}

/** The shared msgpack codec, for wire messages that use the same settings. */
export const msgpack = packr
