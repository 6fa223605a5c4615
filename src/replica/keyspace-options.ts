import { type Duration, parseDuration } from '../duration.js'
import { InvalidOptionError, shown } from '../errors.js'
import { checkOptionNames } from '../option-names.js'

/** Largest `maxTtl`: 100 years, ms. */
export const MAX_TTL_LIMIT_MS = 100 * 365.25 * 86_400_000

/** Limits and TTLs of one keyspace. Every field has a default. */
export interface KeyspaceOptions {
  /** Most entries (values and tombstones) held in memory; least recently used go first. @default 100_000 */
  maxEntries?: number
  /** Most bytes held (keys, encoded values, ~96 bytes overhead each); no byte limit when unset. @default Infinity */
  maxBytes?: number
  /** TTL of a `set` that names none: ms or a duration string. @default '10m' */
  defaultTtl?: Duration
  /**
   * Longest TTL a write may carry, and how long a delete's tombstone lives: a tombstone
   * outlives every value it can shadow, so no partition heal resurrects a deleted key.
   * @default '1d'
   */
  maxTtl?: Duration
  /** Longest key, in UTF-16 code units. @default 1024 */
  maxKeyLength?: number
  /** Largest encoded (msgpack) value, in bytes. @default 1_048_576 */
  maxValueBytes?: number
  /**
   * Most keys whose newest version anti-entropy remembers, resident or evicted (~90
   * bytes each; resident keys always keep theirs, so at least maxEntries are known).
   * @default 2 * maxEntries
   */
  maxIndexKeys?: number
}

/** {@link KeyspaceOptions} with every default applied and checked. */
export interface ResolvedKeyspaceOptions {
  /** Most entries held. */
  maxEntries: number
  /** Most bytes held (Infinity: no limit). */
  maxBytes: number
  /** TTL of a write that names none, ms. */
  defaultTtl: number
  /** Longest TTL and tombstone lifetime, ms. */
  maxTtl: number
  /** Longest key, UTF-16 code units. */
  maxKeyLength: number
  /** Largest encoded value, bytes. */
  maxValueBytes: number
  /** Most keys whose newest version anti-entropy remembers. */
  maxIndexKeys: number
}

/** Defaults of {@link KeyspaceOptions}. */
export const KEYSPACE_DEFAULTS = {
  /** Most entries held. */
  maxEntries: 100_000,
  /** No byte limit. */
  maxBytes: Number.POSITIVE_INFINITY,
  /** TTL of a write that names none. */
  defaultTtl: '10m',
  /** Longest TTL, and the lifetime of tombstones. */
  maxTtl: '1d',
  /** Longest key, UTF-16 code units. */
  maxKeyLength: 1024,
  /** Largest encoded value, bytes. */
  maxValueBytes: 1_048_576,
} as const satisfies KeyspaceOptions

/** The names of {@link KeyspaceOptions} (unknown names are refused). */
export const KEYSPACE_OPTION_NAMES: ReadonlySet<string> = new Set([
  'maxEntries',
  'maxBytes',
  'defaultTtl',
  'maxTtl',
  'maxKeyLength',
  'maxValueBytes',
  'maxIndexKeys',
])

/** Names (keyspaces, regions): short, safe in topics, URLs and metric labels. */
export const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

/**
 * Applies defaults to keyspace options and validates them once.
 * @param inherited - the cache-level options a keyspace falls back to
 * @throws InvalidOptionError naming the bad option and what it accepts
 */
export function resolveKeyspaceOptions(
  options: KeyspaceOptions = {},
  inherited: KeyspaceOptions = {},
): ResolvedKeyspaceOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('keyspace options must be an object')
  checkOptionNames(options, KEYSPACE_OPTION_NAMES, 'keyspace')
  const o = { ...KEYSPACE_DEFAULTS, ...stripUndefined(inherited), ...stripUndefined(options) }
  const maxBytes =
    o.maxBytes === Number.POSITIVE_INFINITY ? o.maxBytes : positiveInt(o.maxBytes, 'maxBytes')
  const defaultTtl = parseDuration(o.defaultTtl, 'defaultTtl')
  const maxTtl = parseDuration(o.maxTtl, 'maxTtl')
  // Expiries and tombstones are now + maxTtl, which must stay a whole number of ms that
  // peers accept (a safe integer): 100 years is more than any cache needs.
  if (maxTtl > MAX_TTL_LIMIT_MS) {
    throw new InvalidOptionError(
      `maxTtl must be at most 100 years (${MAX_TTL_LIMIT_MS} ms), got ${String(o.maxTtl)}`,
    )
  }
  if (defaultTtl <= 0) {
    throw new InvalidOptionError(`defaultTtl must be greater than 0, got ${String(o.defaultTtl)}`)
  }
  if (defaultTtl > maxTtl) {
    throw new InvalidOptionError(
      `defaultTtl (${defaultTtl} ms) must not exceed maxTtl (${maxTtl} ms); raise maxTtl or lower defaultTtl`,
    )
  }
  const maxEntries = positiveInt(o.maxEntries, 'maxEntries')
  return {
    maxEntries,
    maxIndexKeys:
      o.maxIndexKeys === undefined ? 2 * maxEntries : positiveInt(o.maxIndexKeys, 'maxIndexKeys'),
    maxBytes,
    defaultTtl,
    maxTtl,
    maxKeyLength: positiveInt(o.maxKeyLength, 'maxKeyLength'),
    maxValueBytes: positiveInt(o.maxValueBytes, 'maxValueBytes'),
  }
}

/** Drops keys whose value is undefined so they do not override defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}

/** Checks a keyspace name. @throws InvalidOptionError */
export function checkKeyspaceName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new InvalidOptionError(
      `keyspace name must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${shown(name)}`,
    )
  }
  return name
}
