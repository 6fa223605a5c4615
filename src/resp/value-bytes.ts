/**
 * Values over RESP are bytes. Writes store a bare `Uint8Array` (what HTTP stores for
 * `application/octet-stream` and serves back byte for byte); reads answer whatever a key
 * holds as bytes: raw bytes as they are (with or without the HTTP content-type envelope),
 * text as UTF-8, and structures written by Node or as JSON over HTTP as their JSON text.
 * @module
 */

/** Key of the bytes in the HTTP API's content-type envelope (`src/http/values.ts`). */
const RAW_BYTES_FIELD = '__mcBytes'

/**
 * A copy of `bytes` in memory of its own: received chunks are shared, and a value cut
 * from Node's shared 8 KiB buffer pool would keep its whole slab alive as long as it is
 * cached.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length
  const copy = new Uint8Array(n)
  if (n <= 16) for (let i = 0; i < n; i++) copy[i] = bytes[i]!
  else copy.set(bytes)
  return copy
}

const bigintAsString = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)

/** The bytes a stored value reads as over RESP. */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (typeof value === 'object' && value !== null) {
    const raw = (value as Record<string, unknown>)[RAW_BYTES_FIELD]
    if (raw instanceof Uint8Array && Object.keys(value).length === 2) return raw
  }
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    text = JSON.stringify(value, bigintAsString)
  }
  return Buffer.from(text ?? 'null', 'utf8')
}
