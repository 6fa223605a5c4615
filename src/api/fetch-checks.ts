import { parseVersion, type Version } from '../clock/version.js'
import { parseDuration } from '../duration.js'
import { InvalidOptionError, shown } from '../errors.js'
import type { FetchOptions, SetOptions } from './call-options.js'
import { API_DEFAULTS } from './defaults.js'

/**
 * Whether a fetch asks for a consistent read (`consistency: 'quorum'` or `atLeast`).
 * @throws InvalidOptionError for a `consistency` other than 'local' or 'quorum'
 */
export function wantsConsistentRead<V>(options: FetchOptions<V> | undefined): boolean {
  if (options === undefined) return false
  if (options.consistency === 'quorum' || options.atLeast !== undefined) return true
  if (options.consistency !== undefined && options.consistency !== 'local') {
    throw new InvalidOptionError(
      `consistency must be 'local' or 'quorum', got ${String(options.consistency)}`,
    )
  }
  return false
}

/**
 * Checks a `fetch` call's options before anything is read, so a typo fails on a hit as
 * on a miss.
 * @param checkTtl - the keyspace's TTL check (against its `maxTtl`)
 * @throws InvalidOptionError
 */
export function checkFetchOptions<V>(
  options: FetchOptions<V>,
  checkTtl: (ttl: NonNullable<SetOptions['ttl']>) => number,
): void {
  if (options.load !== undefined && typeof options.load !== 'function')
    throw new InvalidOptionError(`load must be a function, got ${typeof options.load}`)
  if (options.ttl !== undefined) checkTtl(options.ttl)
  if (options.readTimeout !== undefined) parseDuration(options.readTimeout, 'readTimeout')
  for (const name of ['staleWhileRevalidate', 'staleIfError'] as const) {
    const window = options[name]
    if (window === undefined) continue
    const ms = parseDuration(window, name)
    // Stale values are kept that long after they expire: a longer window would be cut
    // to it without a word.
    if (ms > API_DEFAULTS.maxStaleMs)
      throw new InvalidOptionError(
        `${name} must be at most ${API_DEFAULTS.maxStaleMs} ms (how long expired values are kept), got ${String(window)}`,
      )
    if (options.load === undefined)
      throw new InvalidOptionError(`${name} needs a load function to refresh or retry with`)
  }
}

/**
 * The version an `atLeast` names: one from `set()`, or its `formatVersion` text.
 * @throws InvalidOptionError for anything else (a version without `logical`, a NaN wall)
 */
export function atLeastVersion(atLeast: unknown): Version {
  const want = typeof atLeast === 'string' ? parseVersion(atLeast) : atLeast
  if (
    want === undefined ||
    want === null ||
    typeof want !== 'object' ||
    !Number.isSafeInteger((want as Version).wall) ||
    !Number.isSafeInteger((want as Version).logical) ||
    (want as Version).logical < 0 ||
    typeof (want as Version).node !== 'string'
  ) {
    throw new InvalidOptionError(
      `atLeast must be a version from set() ({ wall, logical, node }) or its formatVersion text, got ${shown(atLeast)}`,
    )
  }
  return want as Version
}
