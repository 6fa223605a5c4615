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
import { CLEAR_KEY, isReservedKey, TAG_FLOOR_KEY, tagKey } from '../replica/tag-invalidations.js'
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
 * The versions a keyspace holds per key (its entry table), as the write path reads them
 * to stamp a write after the version it replaces.
 */
export interface HeldVersions {
  /** The slot of `key`, or -1 when no version of it is known. */
  slotOf(key: string): number
  /** Compares a version with the one in `slot`: positive when the given one is newer. */
  compare(slot: number, wall: number, logical: number, node: string): number
  /** Version wall clock of a slot, ms. */
  wallOf(slot: number): number
  /** Version logical counter of a slot. */
  logicalOf(slot: number): number
}

/**
 * Stamps a local write of `key`: the clock's stamp, or, when the key holds a version at or
 * ahead of it (written by a peer whose clock runs ahead, which the clock did not follow,
 * or before this node's clock was corrected back), a stamp just after that version, so
 * that a write made after reading a value wins over it. Clears and tag invalidations
 * (reserved keys) order after everything the clock stayed behind of.
 *
 * A held version more than `maxClockDrift` ahead of the clock is one no peer accepted (it
 * was stamped while this node's own clock ran that far ahead, before the mesh corrected
 * it): a stamp after it would be refused everywhere too. The write is then stamped on the
 * clock and replaces it ({@link farAhead}, `PreparedWrite.replacesFarAhead`).
 * @throws ClockSkewError when this node refuses writes (its clock is too far off its peers)
 */
export function stampWrite(
  key: string,
  now: number,
  clock: HybridClock,
  held: HeldVersions,
  tags?: readonly string[],
): Version {
  clock.checkWritable()
  if (isReservedKey(key)) return clock.nowAfterAll(now)
  const v = clock.now(now)
  // The common case costs nothing: the clock is ahead of every version it ever saw.
  if (v.wall > clock.behindUntil) return v
  const s = held.slotOf(key)
  if (
    s >= 0 &&
    held.compare(s, v.wall, v.logical, v.node) <= 0 &&
    held.wallOf(s) - now > clock.maxDrift
  )
    return v
  // After the key's version, and after every clear or tag invalidation that would kill
  // the value (stamped after what the clock stayed behind of): a value written after a
  // clear must not read as older than it on the other nodes, which would drop it.
  let last = newerHeld(held, s, v, now, clock.maxDrift, -1)
  last = newerHeld(held, held.slotOf(CLEAR_KEY), v, now, clock.maxDrift, last)
  if (tags !== undefined) {
    last = newerHeld(held, held.slotOf(TAG_FLOOR_KEY), v, now, clock.maxDrift, last)
    for (const tag of tags)
      last = newerHeld(held, held.slotOf(tagKey(tag)), v, now, clock.maxDrift, last)
  }
  return last < 0 ? v : clock.after(held.wallOf(last), held.logicalOf(last), now)
}

/**
 * Of `best` (a slot, or -1) and `slot`, the one holding the newest version at or ahead of
 * `v` and at most `maxDrift` ahead of `now`; -1 when neither.
 */
function newerHeld(
  held: HeldVersions,
  slot: number,
  v: Version,
  now: number,
  maxDrift: number,
  best: number,
): number {
  if (slot < 0 || held.compare(slot, v.wall, v.logical, v.node) > 0) return best
  if (held.wallOf(slot) - now > maxDrift) return best
  if (best < 0) return slot
  const wall = held.wallOf(slot)
  const bestWall = held.wallOf(best)
  return wall > bestWall || (wall === bestWall && held.logicalOf(slot) > held.logicalOf(best))
    ? slot
    : best
}

/**
 * True when a write stamped `version` must replace the version `key` holds rather than
 * order after it: that one is more than `maxClockDrift` ahead of the clock (see
 * {@link stampWrite}). Free unless the clock stayed behind some stamp.
 */
export function farAhead(
  key: string,
  version: Version,
  now: number,
  clock: HybridClock,
  held: HeldVersions,
): boolean {
  if (version.wall > clock.behindUntil) return false
  const s = held.slotOf(key)
  return s >= 0 && held.wallOf(s) - now > clock.maxDrift
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
  const version = stampWrite(key, now, clock, held, tags)
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
): PreparedWrite<V> {
  const c = checkSet(key, value, options, now, opts, clock, needBytes, held)
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
