import type { HybridClock } from '../clock/hlc.js'
import { type Duration, parseDuration } from '../duration.js'
import {
  InvalidKeyError,
  InvalidOptionError,
  UnencodableValueError,
  ValueTooLargeError,
} from '../errors.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import { isReservedKey } from '../replica/tag-invalidations.js'
import { storableSize } from '../replication/value-check.js'
import { checkTags, decodeStored, encodeStored } from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import type { SetOptions } from './call-options.js'

/** A checked write, ready to apply: nothing is applied until every write of a call is checked. */
export interface PreparedWrite<V> {
  key: string
  entry: Entry<V>
  /**
   * The value's bytes (with its tags), for the wire and the write log; absent for
   * tombstones, and for values of a cache that needs no bytes (see {@link prepareSet}).
   */
  encoded: Uint8Array | undefined
}

/** Checks a key against the keyspace's limits. @throws InvalidKeyError */
export function checkKey(key: string, opts: Readonly<ResolvedKeyspaceOptions>): void {
  const max = opts.maxKeyLength
  if (typeof key !== 'string' || key.length === 0 || key.length > max || isReservedKey(key)) {
    throw new InvalidKeyError(
      typeof key !== 'string'
        ? `keys must be strings, got ${typeof key}`
        : isReservedKey(key)
          ? 'keys must not start with U+0000 (reserved for tag invalidations)'
          : `keys must be 1 to ${max} characters long, got ${key.length}`,
    )
  }
}

/** Checks a TTL against the keyspace's `maxTtl`. @returns ms @throws InvalidOptionError */
export function checkTtl(ttl: Duration, opts: Readonly<ResolvedKeyspaceOptions>): number {
  const ms = parseDuration(ttl, 'ttl')
  if (ms <= 0 || ms > opts.maxTtl) {
    throw new InvalidOptionError(
      `ttl must be greater than 0 and at most maxTtl (${opts.maxTtl} ms), got ${String(ttl)}`,
    )
  }
  return ms
}

/**
 * Checks one `set` and builds its entry (stamps the version); applies nothing. The value
 * is encoded once, and only when its bytes are needed (`needBytes`: a mesh, a write log,
 * a byte limit), when it is stored in another form than given, or when its size bound
 * comes near `maxValueBytes`: an embedded cache's `set` checks the value but does not
 * encode it, and its entry sizes are then upper bounds.
 * @throws InvalidKeyError, InvalidOptionError, UnencodableValueError, ValueTooLargeError
 */
export function prepareSet<V>(
  key: string,
  value: V,
  options: SetOptions | undefined,
  now: number,
  opts: Readonly<ResolvedKeyspaceOptions>,
  clock: HybridClock,
  needBytes: boolean,
): PreparedWrite<V> {
  checkKey(key, opts)
  const ttl = options?.ttl === undefined ? opts.defaultTtl : checkTtl(options.ttl, opts)
  const tags = options?.tags === undefined ? undefined : checkTags(options.tags)
  if (value === undefined)
    throw new UnencodableValueError(
      `cannot store undefined under key '${key}' (use delete() to remove a key)`,
    )
  // Every node reads what msgpack carries: a value it would change is refused, or (-0,
  // holes, prototype-less objects) kept here in the form the replicas will read.
  const bound = storableSize(key, value)
  const asIs = bound > 0
  let length = Math.abs(bound) + (tags === undefined ? 0 : tagsBound(tags))
  let encoded: Uint8Array | undefined
  if (needBytes || !asIs || length > opts.maxValueBytes) {
    encoded = encodeStored(key, value, tags)
    if (!asIs) value = decodeStored(encoded).value as V
    length = encoded.length
  }
  if (length > opts.maxValueBytes) {
    throw new ValueTooLargeError(
      `value of key '${key}' is ${length} bytes encoded, over maxValueBytes (${opts.maxValueBytes}); store less or raise maxValueBytes`,
    )
  }
  const size = entrySize(key, length)
  if (size > opts.maxBytes) {
    throw new ValueTooLargeError(
      `entry '${key}' needs ${size} bytes, over the keyspace's maxBytes (${opts.maxBytes})`,
    )
  }
  const version = clock.now(now)
  const expiresAt = now + ttl
  // Two literal shapes rather than a spread: the untagged write allocates one object.
  const entry: Entry<V> =
    tags === undefined
      ? { value, version, expiresAt, tombstone: false, size }
      : { value, version, expiresAt, tombstone: false, size, tags }
  return { key, entry, encoded }
}

/** A tombstone of `key` (a delete, or an invalidation under a reserved key); lives `maxTtl`. */
export function prepareTombstone<V>(
  key: string,
  now: number,
  opts: Readonly<ResolvedKeyspaceOptions>,
  clock: HybridClock,
): PreparedWrite<V> {
  const entry: Entry<V> = {
    value: undefined,
    version: clock.now(now),
    expiresAt: now + opts.maxTtl,
    tombstone: true,
    size: entrySize(key, 0),
  }
  return { key, entry, encoded: undefined }
}

/** Upper bound of the bytes tags add to an encoded value (the tagged-value extension). */
function tagsBound(tags: readonly string[]): number {
  let n = 12
  for (const t of tags) n += 6 + 3 * t.length
  return n
}
