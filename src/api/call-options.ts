import type { Version } from '../clock/version.js'
import type { Duration } from '../duration.js'

/** How many replicas must apply a write before `set`/`delete` resolve. */
export type AckLevel =
  /** Applied locally; replicated asynchronously (the default, microseconds). */
  | 'local'
  /** Also applied by at least one node in another region. */
  | 'peer'
  /** Also applied in a majority of the known regions (this one included). */
  | 'quorum'

/** Options of `set`. */
export interface SetOptions {
  /** Time to live: ms or a duration string; at most the keyspace's `maxTtl`. @default keyspace defaultTtl */
  ttl?: Duration
  /** How many replicas must apply the write before the promise resolves. @default 'local' */
  ack?: AckLevel
  /** Longest wait for `ack: 'peer' | 'quorum'`, ms or a duration string. @default '5s' */
  ackTimeout?: Duration
  /**
   * Tags of the entry: `invalidateTags([tag])` later kills it (and every other entry
   * carrying the tag written before the invalidation) on every node. At most 32, each
   * 1-256 characters.
   */
  tags?: readonly string[]
}

/** Options of `delete`, `invalidateTags` and `clear`. */
export type DeleteOptions = Pick<SetOptions, 'ack' | 'ackTimeout'>

/** One write of `setMany`: a key, its value, and options of its own (they override the call's). */
export type SetManyEntry<V> = readonly [key: string, value: V, options?: SetOptions]

/** Options of `fetch`. */
export interface FetchOptions<V> {
  /**
   * Called on a miss (after the mesh, when there is one); its result is stored and
   * returned. Receives a signal that aborts when every caller waiting for it aborted.
   */
  load?: (key: string, context: { signal?: AbortSignal }) => V | undefined | Promise<V | undefined>
  /**
   * Aborts the wait: `fetch` rejects with the signal's reason at once. The load gets a
   * signal that aborts once every caller waiting for it (single flight) aborted; a
   * caller without a signal keeps it going.
   */
  signal?: AbortSignal
  /** TTL of a loaded value. @default keyspace defaultTtl */
  ttl?: Duration
  /**
   * `'quorum'`: first ask a majority of known regions for their newest version, so a
   * quorum write followed by a quorum read from any region reads that write.
   * @default 'local'
   */
  consistency?: 'local' | 'quorum'
  /**
   * Read-your-writes through any node: return a value at least as new as this version
   * (what `set` resolved to, or its `formatVersion` text), asking peers and waiting
   * (up to `readTimeout`) while the local copy is older.
   */
  atLeast?: Version | string
  /**
   * Where a miss looks before `load`. Peers are asked only when this node's version
   * index says some node holds a live value (it was written and this node evicted it),
   * or the index overflowed. `'mesh'`: same-region peers first, then remote regions when
   * a round trip there is cheaper than the loader's typical latency; `'region'`: only
   * peers of this region; `'none'`: straight to `load`. @default 'mesh'
   */
  lookup?: 'mesh' | 'region' | 'none'
  /**
   * Who shares one `load` of a cold key. `'region'`: the nodes of this region (the lease
   * owner is a same-region node: one origin load per region, never a WAN round trip);
   * `'mesh'`: every node (one load in all, at the cost of a WAN round trip to the key's
   * owner when it is in another region); `'process'`: this process only.
   * @default 'region'
   */
  singleFlight?: 'region' | 'mesh' | 'process'
  /** Longest wait for `consistency: 'quorum'` or `atLeast`. @default '2s' */
  readTimeout?: Duration
  /**
   * Serve a value that expired at most this long ago at once, while one background load
   * refreshes it (as HTTP's stale-while-revalidate). Needs `load`. At most 1 minute.
   */
  staleWhileRevalidate?: Duration
  /**
   * When `load` throws, serve a value that expired at most this long ago instead of the
   * error (as HTTP's stale-if-error). At most 1 minute.
   */
  staleIfError?: Duration
}

/** Options of `wrap`. */
export interface WrapOptions<A extends unknown[]> {
  /**
   * Cache key of a call. @default `${name}:${JSON.stringify(args)}`, where `name` is the
   * option below; keys of different functions never collide
   */
  key?: (...args: A) => string
  /**
   * Namespace of the default keys: the same on every node that memoizes this function,
   * unique per function in a keyspace (wrapping another function under a taken name
   * throws). Required for anonymous functions without `key`. @default fn.name
   */
  name?: string
  /** TTL of a memoized result. @default keyspace defaultTtl */
  ttl?: Duration
}

/** Names of {@link SetOptions} (others are refused). */
export const SET_OPTION_NAMES: ReadonlySet<string> = new Set(['ttl', 'ack', 'ackTimeout', 'tags'])
/** Names of {@link DeleteOptions}. */
export const DELETE_OPTION_NAMES: ReadonlySet<string> = new Set(['ack', 'ackTimeout'])
/** Names of {@link FetchOptions}. */
export const FETCH_OPTION_NAMES: ReadonlySet<string> = new Set([
  'load',
  'signal',
  'ttl',
  'consistency',
  'atLeast',
  'lookup',
  'singleFlight',
  'readTimeout',
  'staleWhileRevalidate',
  'staleIfError',
])
/** Names of {@link WrapOptions}. */
export const WRAP_OPTION_NAMES: ReadonlySet<string> = new Set(['key', 'name', 'ttl'])
