/**
 * Redis keys are bytes; meshcache keys are strings (the same key over HTTP, from Node and
 * in replication). The mapping, one to one:
 *
 * - bytes that are valid UTF-8 (every client sending text keys) are that text, so
 *   `SET user:42` and `PUT /v1/default/user:42` name the same key;
 * - anything else (invalid UTF-8, the empty key, a key starting with byte 0 or 1) is
 *   U+0001 followed by one character per byte (Latin-1). No text key of the first kind
 *   starts with U+0001, so two different byte strings never share a key.
 *
 * A key written over HTTP or from Node that starts with U+0001 but is not of the second
 * kind (`\u0001abc`: the bytes `abc` are the key `abc`; or a character above U+00FF)
 * has no byte form: no Redis key names it. {@link keyBytes} gives it as its UTF-8 bytes,
 * which name another key, so listings skip it ({@link hasByteForm}).
 * @module
 */
import { isUtf8 } from 'node:buffer'

/** The first character of keys that hold raw bytes. */
export const BYTES_KEY_MARK = '\u0001'

/** The meshcache key of Redis key bytes. */
export function keyOf(bytes: Uint8Array): string {
  const n = bytes.length
  const first = bytes[0]
  if (n > 0 && first !== 0 && first !== 1) {
    // ASCII (the common case): one Latin-1 character per byte, no UTF-8 validation.
    let ascii = true
    for (let i = 0; i < n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false
        break
      }
    }
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, n)
    if (ascii) return buf.toString('latin1', 0, n)
    if (isUtf8(buf)) return buf.toString('utf8', 0, n)
  }
  return BYTES_KEY_MARK + Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1')
}

/**
 * The Redis key bytes of a meshcache key: the inverse of {@link keyOf} for every key with
 * a byte form ({@link hasByteForm}); any other key is given as its UTF-8 bytes.
 */
export function keyBytes(key: string): Buffer {
  if (key.startsWith(BYTES_KEY_MARK) && isLatin1(key)) {
    const bytes = Buffer.from(key.slice(1), 'latin1')
    // Only bytes that keyOf marks come back as this key: `\u0001abc` is not the key of
    // the bytes `abc` (that is `abc`), and answering `abc` would name that other key.
    if (isMarked(bytes)) return bytes
  }
  return Buffer.from(key, 'utf8')
}

/**
 * True when some Redis key names `key` (`keyOf(keyBytes(key)) === key`): false for keys
 * written over HTTP or from Node that start with U+0001 or U+0000 without being the
 * marked form of bytes, and for strings with a lone surrogate (never stored).
 */
export function hasByteForm(key: string): boolean {
  const first = key.charCodeAt(0)
  // Text keys (the common case): their UTF-8 bytes read back as the same text.
  if (first > 1) return isWellFormed(key)
  if (first !== 1 || !isLatin1(key)) return false
  return isMarked(Buffer.from(key.slice(1), 'latin1'))
}

/** True when {@link keyOf} marks these bytes (empty, led by byte 0 or 1, or not UTF-8). */
function isMarked(bytes: Buffer): boolean {
  const first = bytes[0]
  return first === undefined || first === 0 || first === 1 || !isUtf8(bytes)
}

/** True when every character is at most U+00FF (one byte in Latin-1). */
function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false
  return true
}

/** True when `text` has no lone surrogate (UTF-8 carries it as U+FFFD: another key). */
function isWellFormed(text: string): boolean {
  // ES2024 (every Node this package supports); the compiler's lib is ES2023.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}
