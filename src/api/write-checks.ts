import type { HybridClock } from '../clock/hlc.js'
import type { Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import {
  InvalidKeyError,
  InvalidOptionError,
  UnencodableValueError,
  ValueTooLargeError,
} from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import { isReservedKey } from '../replica/tag-invalidations.js'
import { isWellFormed, storableSize } from '../replication/value-check.js'
import {
  checkTags,
  decodeStored,
  encodeStored,
  holdsReplacementChar,
} from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import {
  type AckLevel,
  type DeleteOptions,
  SET_OPTION_NAMES,
  type SetOptions,
} from './call-options.js'
import { API_DEFAULTS } from './defaults.js'
import { farAhead, type HeldVersions, stampWrite } from './stamp-write.js'

/** A checked write, ready to apply: nothing is applied until every write of a call is checked. */
export interface PreparedWrite<V> {
  key: string
  entry: Entry<V>
  /**
   * The value's bytes (with its tags), for the wire and the write log; absent for
   * tombstones, and for values of a cache that needs no bytes (see {@link prepareSet}).
   */
  encoded: Uint8Array | undefined
  /**
   * The key holds a version more than `maxClockDrift` ahead of this node's clock, which
   * this write (stamped on the clock) replaces: see {@link stampWrite}. Set only then.
   */
  replacesFarAhead?: true
}

/**
 * Checks a key a write names (set, delete): as {@link checkKey}, and well-formed Unicode,
 * since a lone surrogate is read back as U+FFFD on every other node (another key there).
 * Reads need not check it: no such key is ever written. @throws InvalidKeyError
 */
export function checkWrittenKey(key: string, opts: Readonly<ResolvedKeyspaceOptions>): void {
  checkKey(key, opts)
  if (!isWellFormed(key)) {
    throw new InvalidKeyError(
      `key ${JSON.stringify(key)} has a lone surrogate (half of a UTF-16 pair): UTF-8 cannot carry it, so other nodes would read another key; use well-formed strings`,
    )
  }
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
 * One checked `set`, not applied: what {@link checkSet} leaves in {@link CHECKED} (one
 * object reused by every call, read before the next: the embedded write path builds no
 * entry and no write object).
 */
export interface CheckedSet {
  value: unknown
  version: Version
  expiresAt: number
  size: number
  tags: readonly string[] | undefined
  /** The value's bytes (with its tags), when they were needed or made (see {@link checkSet}). */
  encoded: Uint8Array | undefined
  /** See {@link PreparedWrite.replacesFarAhead}. */
  replacesFarAhead: boolean
}

/** The result of the last {@link checkSet}: valid until the next call. */
export const CHECKED: CheckedSet = {
  value: undefined,
  version: { wall: 0, logical: 0, node: '' },
  expiresAt: 0,
  size: 0,
  tags: undefined,
  encoded: undefined,
  replacesFarAhead: false,
}

/**
 * Checks one `set` and stamps its version (into {@link CHECKED}); applies nothing. The
 * value is encoded once, and only when its bytes are needed (`needBytes`: a mesh, a write
 * log, a byte limit), when it is stored in another form than given, or when its size
 * bound comes near `maxValueBytes`: an embedded cache's `set` checks the value but does
 * not encode it, and its entry sizes are then upper bounds.
 * @throws InvalidKeyError, InvalidOptionError, UnencodableValueError, ValueTooLargeError,
 *   ClockSkewError (see {@link stampWrite})
 */
export function checkSet(
  key: string,
  value: unknown,
  options: SetOptions | undefined,
  now: number,
  opts: Readonly<ResolvedKeyspaceOptions>,
  clock: HybridClock,
  needBytes: boolean,
  held: HeldVersions,
  tagFloor?: Version,
): CheckedSet {
  checkWrittenKey(key, opts)
  let ttl = opts.defaultTtl
  let tags: readonly string[] | undefined
  if (options !== undefined) {
    if (options.ttl !== undefined) ttl = checkTtl(options.ttl, opts)
    if (options.tags !== undefined) tags = checkTags(options.tags)
  }
  if (value === undefined)
    throw new UnencodableValueError(
      `cannot store undefined under key '${key}' (use delete() to remove a key)`,
    )
  // Every node reads what msgpack carries: a value it would change is refused, or (-0,
  // holes, prototype-less objects, and where bytes are made lone surrogates) kept here in
  // the form the replicas will read.
  const bound = storableSize(key, value)
  const asIs = bound > 0
  let length = Math.abs(bound) + (tags === undefined ? 0 : tagsBound(tags))
  let encoded: Uint8Array | undefined
  if (needBytes || !asIs || length > opts.maxValueBytes) {
    encoded = encodeStored(key, value, tags)
    if (!asIs || holdsReplacementChar(encoded)) value = decodeStored(encoded).value
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
  const version = stampWrite(key, now, clock, held, tags, tagFloor)
  const out = CHECKED
  out.value = value
  out.version = version
  out.expiresAt = now + ttl
  out.size = size
  out.tags = tags
  out.encoded = encoded
  out.replacesFarAhead = farAhead(key, version, now, clock, held)
  return out
}

/**
 * {@link checkSet} as a write object, for calls that check every write before applying
 * any (`setMany`).
 */
export function prepareSet<V>(
  key: string,
  value: V,
  options: SetOptions | undefined,
  now: number,
  opts: Readonly<ResolvedKeyspaceOptions>,
  clock: HybridClock,
  needBytes: boolean,
  held: HeldVersions,
  tagFloor?: Version,
): PreparedWrite<V> {
  const c = checkSet(key, value, options, now, opts, clock, needBytes, held, tagFloor)
  const entry = entryOf<V>(c)
  return c.replacesFarAhead
    ? { key, entry, encoded: c.encoded, replacesFarAhead: true }
    : { key, entry, encoded: c.encoded }
}

/** The entry of a checked set. */
export function entryOf<V>(c: CheckedSet): Entry<V> {
  const value = c.value as V
  // Two literal shapes rather than a spread: the untagged write allocates one object.
  return c.tags === undefined
    ? { value, version: c.version, expiresAt: c.expiresAt, tombstone: false, size: c.size }
    : {
        value,
        version: c.version,
        expiresAt: c.expiresAt,
        tombstone: false,
        size: c.size,
        tags: c.tags,
      }
}

/**
 * A tombstone of `key` (a delete, or an invalidation under a reserved key); lives `maxTtl`.
 * @throws ClockSkewError (see {@link stampWrite})
 */
export function prepareTombstone<V>(
  key: string,
  now: number,
  opts: Readonly<ResolvedKeyspaceOptions>,
  clock: HybridClock,
  held: HeldVersions,
): PreparedWrite<V> {
  const version = stampWrite(key, now, clock, held)
  const entry: Entry<V> = {
    value: undefined,
    version,
    expiresAt: now + opts.maxTtl,
    tombstone: true,
    size: entrySize(key, 0),
  }
  return farAhead(key, version, now, clock, held)
    ? { key, entry, encoded: undefined, replacesFarAhead: true }
    : { key, entry, encoded: undefined }
}

/** Upper bound of the bytes tags add to an encoded value (the tagged-value extension). */
function tagsBound(tags: readonly string[]): number {
  let n = 12
  for (const t of tags) n += 6 + 3 * t.length
  return n
}

/** A call's ack level and timeout, checked. */
export interface ResolvedAck {
  level: AckLevel
  timeout: number
}

/** No ack to wait for: the default of every write call. */
export const LOCAL_ACK: ResolvedAck = { level: 'local', timeout: API_DEFAULTS.ackTimeoutMs }

/**
 * Checks a write call's `ack` and `ackTimeout` before anything is written, so a bad call
 * changes nothing. @throws InvalidOptionError
 */
export function checkAck(options: DeleteOptions | undefined): ResolvedAck {
  if (options?.ack === undefined && options?.ackTimeout === undefined) return LOCAL_ACK
  const level = options.ack ?? 'local'
  if (level !== 'local' && level !== 'peer' && level !== 'quorum') {
    throw new InvalidOptionError(`ack must be 'local', 'peer' or 'quorum', got ${String(level)}`)
  }
  const timeout =
    options.ackTimeout === undefined
      ? API_DEFAULTS.ackTimeoutMs
      : parseDuration(options.ackTimeout, 'ackTimeout')
  if (timeout > API_DEFAULTS.maxAckTimeoutMs) {
    throw new InvalidOptionError(
      `ackTimeout must be at most ${API_DEFAULTS.maxAckTimeoutMs} ms, got ${String(options.ackTimeout)}`,
    )
  }
  return { level, timeout }
}

/**
 * Checks one entry of a `setMany` call: a `[key, value, options?]` tuple, whose options
 * are set options without `ack` and `ackTimeout` (the call waits once, for all of them:
 * an entry's own would be ignored). The key and value are checked with the write.
 * @throws InvalidOptionError
 */
export function checkManyEntry<V>(
  entry: unknown,
): readonly [key: string, value: V, own: SetOptions | undefined] {
  if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3)
    throw new InvalidOptionError(
      `setMany takes an array of [key, value, options?] entries, got ${entry === null ? 'null' : Array.isArray(entry) ? `an array of ${entry.length}` : typeof entry}`,
    )
  const [key, value, own] = entry as [string, V, SetOptions | undefined]
  if (own !== undefined) {
    checkOptionNames(own, SET_OPTION_NAMES, 'setMany entry')
    if (own.ack !== undefined || own.ackTimeout !== undefined)
      throw new InvalidOptionError(
        `setMany: ack and ackTimeout apply to the whole call; pass them in setMany's options, not in entry '${String(key)}'`,
      )
  }
  return [key, value, own]
}
