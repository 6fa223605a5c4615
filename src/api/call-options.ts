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
}

/** Options of `delete`. */
export type DeleteOptions = Pick<SetOptions, 'ack' | 'ackTimeout'>

/** Options of `fetch`. */
export interface FetchOptions<V> {
  /** Called on a miss (after the mesh, when there is one); its result is stored and returned. */
  load?: (key: string) => V | undefined | Promise<V | undefined>
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
   * Where a miss looks before `load`: `'mesh'` asks the best peers (same region first,
   * then remote regions) and the key's owner (mesh-wide single flight); `'region'` asks
   * only peers of this region; `'none'` calls `load` at once (for origins faster than a
   * WAN round trip). @default 'mesh'
   */
  lookup?: 'mesh' | 'region' | 'none'
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
  /** Cache key of a call. @default `${fn.name}:${JSON.stringify(args)}` */
  key?: (...args: A) => string
  /** TTL of a memoized result. @default keyspace defaultTtl */
  ttl?: Duration
}
