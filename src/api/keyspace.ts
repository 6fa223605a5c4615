import { LRUCache } from 'lru-cache'
import type { HybridClock } from '../clock/hlc.js'
import { compareVersions, formatVersion, parseVersion, type Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import {
  CacheClosedError,
  InvalidKeyError,
  InvalidOptionError,
  TimeoutError,
  ValueTooLargeError,
} from '../errors.js'
import { encodeValue } from '../replication/value-codec.js'
import { type Entry, entrySize, isLive } from '../store/entry.js'
import { type MergeOutcome, VersionedStore } from '../store/versioned-store.js'
import { type IndexEntry, VersionIndex } from '../sync/version-index.js'
import type { CacheEvents } from './events.js'
import { KeyspaceCounters, type KeyspaceStats } from './keyspace-stats.js'
import type { ResolvedKeyspaceOptions } from './options.js'
import { SingleFlight } from './single-flight.js'

/** How many replicas must apply a write before `set`/`delete` resolve. */
export type AckLevel =
  /** Applied locally; replicated asynchronously (the default, microseconds). */
  | 'local'
  /** Also applied by at least one node in another region. */
  | 'peer'
  /** Also applied in a majority of the known regions (this one included). */
  | 'quorum'

/** Options of {@link Keyspace.set}. */
export interface SetOptions {
  /** Time to live: ms or a duration string; at most the keyspace's `maxTtl`. @default keyspace defaultTtl */
  ttl?: Duration
  /** How many replicas must apply the write before the promise resolves. @default 'local' */
  ack?: AckLevel
  /** Longest wait for `ack: 'peer' | 'quorum'`, ms or a duration string. @default '5s' */
  ackTimeout?: Duration
}

/** Options of {@link Keyspace.delete}. */
export type DeleteOptions = Pick<SetOptions, 'ack' | 'ackTimeout'>

/** Options of {@link Keyspace.fetch}. */
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

/** How long expired values stay available to `staleWhileRevalidate`/`staleIfError`. */
const STALE_RETENTION_MS = 60_000
/** Most expired values a keyspace keeps for them. */
const STALE_MAX_ENTRIES = 1_000

/** Options of {@link Keyspace.wrap}. */
export interface WrapOptions<A extends unknown[]> {
  /** Cache key of a call. @default `${fn.name}:${JSON.stringify(args)}` */
  key?: (...args: A) => string
  /** TTL of a memoized result. @default keyspace defaultTtl */
  ttl?: Duration
}

/** What replication needs from a keyspace, and gives it: implemented by the mesh. */
export interface ReplicationPort {
  /** A local write was applied; queue it for replication (`encoded`: the value's bytes). Must not throw. */
  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void
  /**
   * Resolves once enough other regions applied the write for `level`.
   * @throws AckTimeoutError when `timeoutMs` passes first
   */
  acknowledge(
    keyspace: string,
    key: string,
    entry: Entry,
    level: 'peer' | 'quorum',
    timeoutMs: number,
  ): Promise<void>
  /** Asks the nearest peers for `key` on a local miss; resolves undefined when none holds it. */
  lookup(keyspace: string, key: string, sameRegionOnly?: boolean): Promise<Entry | undefined>
  /**
   * Asks peers (`quorum`: a majority of regions; `nearest`: the best few) for their newest
   * version of `key` and applies it locally.
   * @throws TimeoutError when too few answer in time
   */
  readRemote(
    keyspace: string,
    key: string,
    level: 'quorum' | 'nearest',
    timeoutMs: number,
  ): Promise<void>
  /**
   * Before calling `load` on a miss: asks the key's owner node whether another node is
   * loading it. Resolves with that node's value when it arrives, or undefined when this
   * node should load (it holds the lease, or the owner is unreachable).
   */
  coordinateLoad(keyspace: string, key: string): Promise<Entry | undefined>
}

/** What a keyspace shares with its cache. */
export interface KeyspaceContext {
  readonly clock: HybridClock
  readonly region: string
  /** Wall-clock ms. */
  readonly now: () => number
  /** Wall-clock ms for reads: read once per synchronous turn (see read-clock.ts). */
  readonly readNow: () => number
  emit<E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]): void
  wants(event: keyof CacheEvents): boolean
  port: ReplicationPort | undefined
  /** Set once the cache is closed: writes and fetches are refused. */
  closed: boolean
}

const DEFAULT_ACK_TIMEOUT_MS = 5_000

interface ResolvedAck {
  level: AckLevel
  timeout: number
}

const LOCAL_ACK: ResolvedAck = { level: 'local', timeout: DEFAULT_ACK_TIMEOUT_MS }

/**
 * A named set of keys with its own size limits and TTLs. Reads are synchronous and
 * in-process; writes apply locally, then replicate when the cache is part of a mesh.
 *
 * Values are kept by reference, as in lru-cache: do not mutate an object after `set`.
 */
export class Keyspace<V = unknown> {
  readonly name: string
  readonly options: Readonly<ResolvedKeyspaceOptions>
  /** The versioned LRU+TTL store behind this keyspace (for replication and sync). */
  readonly store: VersionedStore<V>
  /** Newest known version of every key, resident or evicted, with its digest tree (anti-entropy). */
  readonly index: VersionIndex
  private readonly ctx: KeyspaceContext
  private readonly counters = new KeyspaceCounters()
  private readonly flights = new SingleFlight<V | undefined>()
  /** Where the background sweep resumes. */
  private sweep: IterableIterator<[string, IndexEntry]> | undefined
  /** Recently expired entries, for staleWhileRevalidate and staleIfError only. */
  private readonly stale = new LRUCache<string, Entry<V>>({
    max: STALE_MAX_ENTRIES,
    ttl: STALE_RETENTION_MS,
  })

  constructor(name: string, options: ResolvedKeyspaceOptions, ctx: KeyspaceContext) {
    this.name = name
    this.options = Object.freeze({ ...options })
    this.ctx = ctx
    this.index = new VersionIndex(options.maxIndexKeys, options.maxTtl)
    this.store = new VersionedStore<V>({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      onEvict: (key) => {
        this.counters.evictions++
        if (ctx.wants('evict')) ctx.emit('evict', { keyspace: name, key })
      },
      onExpire: (key, entry) => {
        // Kept briefly for stale-while-revalidate / stale-if-error, never served by get.
        this.stale.set(key, entry as Entry<V>)
        this.counters.expirations++
        if (ctx.wants('expire')) ctx.emit('expire', { keyspace: name, key })
      },
    })
  }

  /** The live value of `key`, or `undefined`. Synchronous and in-process; marks it recently used. */
  get(key: string): V | undefined {
    this.checkKey(key)
    const entry = this.store.get(key, this.ctx.readNow())
    if (entry === undefined) {
      this.counters.misses++
      return undefined
    }
    this.counters.hits++
    return entry.value
  }

  /** The live entry of `key` (value, version, expiry) without touching recency. */
  entry(key: string): Entry<V> | undefined {
    this.checkKey(key)
    const e = this.store.peek(key)
    return e !== undefined && isLive(e, this.ctx.now()) ? e : undefined
  }

  /** True when `key` holds a live value. Does not touch recency or counters. */
  has(key: string): boolean {
    return this.entry(key) !== undefined
  }

  /**
   * Stores `value` under `key`, then replicates it. Resolves once applied locally (and,
   * with `ack`, once enough regions applied it); the synchronous part does all the work,
   * so a write is visible to `get` before this returns.
   * @returns the write's version (`formatVersion` makes it a compact text token, e.g. for
   *   read-your-writes through another node)
   * @throws (rejects with) InvalidKeyError, InvalidOptionError (ttl, ack),
   *   UnencodableValueError, ValueTooLargeError, CacheClosedError; AckTimeoutError when
   *   `ack` is not met in time (the write stands)
   */
  set(key: string, value: V, options?: SetOptions): Promise<Version> {
    try {
      this.checkOpen()
      this.checkKey(key)
      const ttl = options?.ttl === undefined ? this.options.defaultTtl : this.checkTtl(options.ttl)
      const encoded = encodeValue(key, value)
      if (encoded.length > this.options.maxValueBytes) {
        throw new ValueTooLargeError(
          `value of key '${key}' is ${encoded.length} bytes encoded, over maxValueBytes (${this.options.maxValueBytes}); store less or raise maxValueBytes`,
        )
      }
      const size = entrySize(key, encoded.length)
      if (size > this.options.maxBytes) {
        throw new ValueTooLargeError(
          `entry '${key}' needs ${size} bytes, over the keyspace's maxBytes (${this.options.maxBytes})`,
        )
      }
      const ack = options?.ack === undefined ? LOCAL_ACK : this.ackOf(options)
      const now = this.ctx.now()
      const entry: Entry<V> = {
        value,
        version: this.ctx.clock.now(now),
        expiresAt: now + ttl,
        tombstone: false,
        size,
      }
      this.apply(key, entry, now)
      this.counters.sets++
      return this.replicate(key, entry, ack, encoded)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Deletes `key` everywhere: writes a tombstone that beats every older write and lives
   * `maxTtl`, so no late or partitioned copy brings the value back.
   * @returns true when a live value was held locally
   */
  delete(key: string, options?: DeleteOptions): Promise<boolean> {
    try {
      this.checkOpen()
      this.checkKey(key)
      const ack = options?.ack === undefined ? LOCAL_ACK : this.ackOf(options)
      const now = this.ctx.now()
      const existed = this.store.peek(key)
      const had = existed !== undefined && isLive(existed, now)
      const entry: Entry<V> = {
        value: undefined,
        version: this.ctx.clock.now(now),
        expiresAt: now + this.options.maxTtl,
        tombstone: true,
        size: entrySize(key, 0),
      }
      this.apply(key, entry, now)
      this.counters.deletes++
      return this.replicate(key, entry, ack, undefined).then(() => had)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The value of `key`: from memory; on a miss from the nearest peers (in a mesh), then
   * from `load`, whose result is stored and replicated. Concurrent misses of one key share
   * one lookup and one `load` call.
   * @returns undefined when nothing holds the key and there is no `load` (or it returned undefined)
   */
  async fetch(key: string, options?: FetchOptions<V>): Promise<V | undefined> {
    this.checkOpen()
    if (options?.consistency === 'quorum' || options?.atLeast !== undefined) {
      await this.consistentRead(key, options)
    } else if (options?.consistency !== undefined && options.consistency !== 'local') {
      throw new InvalidOptionError(
        `consistency must be 'local' or 'quorum', got ${String(options.consistency)}`,
      )
    }
    const hit = this.get(key)
    if (hit !== undefined) return hit
    const ttl = options?.ttl === undefined ? undefined : this.checkTtl(options.ttl)
    const swr = options?.staleWhileRevalidate
    const sie = options?.staleIfError
    if (swr !== undefined) {
      const stale = this.staleValue(key, parseDuration(swr, 'staleWhileRevalidate'))
      if (stale !== undefined && options?.load !== undefined) {
        // One refresh per key (single flight); its failure only shows in loadErrors.
        void this.fetch(key, { load: options.load, ...(ttl ? { ttl } : {}) }).catch(() => undefined)
        return stale
      }
    }
    if (sie !== undefined) {
      const window = parseDuration(sie, 'staleIfError')
      return this.fetch(key, {
        ...options,
        staleIfError: undefined,
        staleWhileRevalidate: undefined,
      }).catch((err: unknown) => {
        const stale = this.staleValue(key, window)
        if (stale === undefined) throw err
        return stale
      })
    }
    return this.flights.run(key, async () => {
      const again = this.store.get(key, this.ctx.now())
      if (again !== undefined) return again.value
      const scope = options?.lookup ?? 'mesh'
      if (scope !== 'mesh' && scope !== 'region' && scope !== 'none') {
        throw new InvalidOptionError(
          `lookup must be 'mesh', 'region' or 'none', got ${String(scope)}`,
        )
      }
      const port = scope === 'none' ? undefined : this.ctx.port
      if (port !== undefined) {
        const remote = await port.lookup(this.name, key, scope === 'region')
        if (remote !== undefined && this.applyRemote(key, remote as Entry<V>) !== 'too-large') {
          const held = this.store.get(key, this.ctx.now())
          if (held !== undefined) return held.value
        }
      }
      const load = options?.load
      if (load === undefined) return undefined
      if (port !== undefined && scope === 'mesh') {
        // Mesh-wide single flight: the key's owner node lets one node load; the others
        // wait for that value instead of loading it again.
        const loaded = await port.coordinateLoad(this.name, key)
        if (loaded !== undefined && this.applyRemote(key, loaded as Entry<V>) !== 'too-large') {
          const held = this.store.get(key, this.ctx.now())
          if (held !== undefined) return held.value
        }
      }
      this.counters.loads++
      let value: V | undefined
      try {
        value = await load(key)
      } catch (err) {
        this.counters.loadErrors++
        throw err
      }
      if (value !== undefined) await this.set(key, value, ttl === undefined ? undefined : { ttl })
      return value
    })
  }

  /**
   * The value of `key` that expired at most `windowMs` ago, when nothing newer (a write or
   * delete) is known for the key.
   */
  private staleValue(key: string, windowMs: number): V | undefined {
    const e = this.stale.get(key)
    if (e === undefined) return undefined
    const now = this.ctx.now()
    const known = this.index.get(key)
    if (
      now - e.expiresAt > Math.min(windowMs, STALE_RETENTION_MS) ||
      known === undefined ||
      known.version !== e.version
    ) {
      return undefined
    }
    return e.value
  }

  /** Brings the local replica up to a quorum's or a given version before a read. */
  private async consistentRead(key: string, options: FetchOptions<V>): Promise<void> {
    this.checkKey(key)
    const timeout = parseDuration(options.readTimeout ?? '2s', 'readTimeout')
    const deadline = Date.now() + timeout
    const port = this.ctx.port
    if (options.consistency === 'quorum' && port !== undefined) {
      await port.readRemote(this.name, key, 'quorum', timeout)
    }
    if (options.atLeast === undefined) return
    const want =
      typeof options.atLeast === 'string' ? parseVersion(options.atLeast) : options.atLeast
    if (want === undefined || typeof want.wall !== 'number' || typeof want.node !== 'string') {
      throw new InvalidOptionError(
        `atLeast must be a version from set() or its formatVersion text, got ${String(options.atLeast)}`,
      )
    }
    const newEnough = () => {
      const known = this.index.get(key)
      return known !== undefined && compareVersions(known.version, want) >= 0
    }
    while (!newEnough()) {
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new TimeoutError(
          `no version of '${key}' at least ${formatVersion(want)} reached this node within ${timeout} ms`,
        )
      }
      if (port !== undefined)
        await port.readRemote(this.name, key, 'nearest', left).catch(() => undefined)
      if (!newEnough())
        await new Promise((r) => setTimeout(r, Math.min(25, Math.max(1, deadline - Date.now()))))
    }
  }

  /**
   * Memoizes an async function in this keyspace: calls with the same key share one cached
   * result until it expires; concurrent first calls run `fn` once.
   */
  wrap<A extends unknown[], R extends V>(
    fn: (...args: A) => R | Promise<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<R> {
    const keyOf = options?.key ?? ((...args: A) => `${fn.name}:${JSON.stringify(args)}`)
    const ttl = options?.ttl
    return async (...args: A) => {
      const value = await this.fetch(keyOf(...args), {
        load: () => fn(...args),
        ...(ttl === undefined ? {} : { ttl }),
      })
      return value as R
    }
  }

  /**
   * Applies a write from another node by last-writer-wins. Called by replication and sync.
   * The caller has validated the entry and advanced the clock.
   */
  applyRemote(key: string, entry: Entry<V>, region = 'unknown'): MergeOutcome {
    const now = this.ctx.now()
    // The index remembers versions of evicted keys: an older write must not come back
    // through the empty slot.
    const known = this.index.get(key)
    if (known !== undefined && compareVersions(entry.version, known.version) < 0) {
      this.counters.remoteStale++
      return 'stale'
    }
    const outcome = this.store.merge(key, entry, now)
    if (outcome !== 'stale') {
      this.index.record(key, entry.version, entry.expiresAt, entry.tombstone)
    }
    if (outcome === 'applied') {
      this.counters.remoteApplied++
      if (this.ctx.wants('change')) this.emitChange(key, entry, 'remote', region)
    } else if (outcome === 'stale') {
      this.counters.remoteStale++
    }
    return outcome
  }

  /** Live keys, most recently used first. */
  *keys(): IterableIterator<string> {
    const now = this.ctx.now()
    for (const [key, entry] of this.store.entries()) if (isLive(entry, now)) yield key
  }

  /**
   * Learns that `key` has a newer version whose value this node does not hold (a peer
   * evicted it): any older value is dropped, so it is never served again.
   */
  learnVersion(key: string, version: Version, expiresAt: number, tombstone: boolean): boolean {
    const known = this.index.get(key)
    if (known !== undefined && compareVersions(version, known.version) <= 0) return false
    this.store.invalidate(key, version)
    this.index.record(key, version, expiresAt, tombstone)
    return true
  }

  /**
   * One step of the background sweep: walks up to `budget` keys of the index (which holds
   * every resident key), drops expired entries from the store and versions past their
   * retention from the index, and resumes where it stopped at the next step. A full pass
   * over n keys takes n / budget steps, so no step stalls the event loop (a full sweep of
   * 1M entries took ~450 ms).
   * @returns keys examined
   */
  sweepStep(budget: number): number {
    const now = this.ctx.now()
    this.sweep ??= this.index.iterate()
    let n = 0
    while (n < budget) {
      const next = this.sweep.next()
      if (next.done) {
        this.sweep = undefined
        break
      }
      const [key, e] = next.value
      n++
      if (e.expiresAt <= now) this.store.dropIfExpired(key, now)
      if (!this.index.retained(e, now)) this.index.forget(key)
    }
    return n
  }

  /** Drops every expired entry now, in one pass (tests, explicit calls). @returns how many */
  purgeExpired(): number {
    const now = this.ctx.now()
    this.index.purgeExpired(now)
    return this.store.purgeExpired(now)
  }

  /** Counters and sizes of this keyspace. */
  stats(): KeyspaceStats {
    return {
      name: this.name,
      entries: this.store.size,
      tombstones: this.store.tombstones,
      bytes: this.store.bytes,
      ...this.counters,
    }
  }

  private apply(key: string, entry: Entry<V>, now: number): void {
    // Local stamps are newer than anything held (the clock has seen every applied remote
    // version), so a local write always stands.
    this.store.merge(key, entry, now)
    this.index.record(key, entry.version, entry.expiresAt, entry.tombstone)
    if (this.ctx.wants('change')) this.emitChange(key, entry, 'local', this.ctx.region)
  }

  private replicate(
    key: string,
    entry: Entry<V>,
    ack: ResolvedAck,
    encoded: Uint8Array | undefined,
  ): Promise<Version> {
    const port = this.ctx.port
    if (port !== undefined) {
      port.publish(this.name, key, entry, encoded)
      if (ack.level !== 'local') {
        return port
          .acknowledge(this.name, key, entry, ack.level, ack.timeout)
          .then(() => entry.version)
      }
    }
    return Promise.resolve(entry.version)
  }

  /** Validates ack options before anything is written, so a bad call changes nothing. */
  private ackOf(options: SetOptions | undefined): ResolvedAck {
    const level = options?.ack ?? 'local'
    if (level !== 'local' && level !== 'peer' && level !== 'quorum') {
      throw new InvalidOptionError(`ack must be 'local', 'peer' or 'quorum', got ${String(level)}`)
    }
    const timeout =
      options?.ackTimeout === undefined
        ? DEFAULT_ACK_TIMEOUT_MS
        : parseDuration(options.ackTimeout, 'ackTimeout')
    return { level, timeout }
  }

  private emitChange(
    key: string,
    entry: Entry<V>,
    origin: 'local' | 'remote',
    region: string,
  ): void {
    this.ctx.emit('change', {
      keyspace: this.name,
      key,
      value: entry.value,
      deleted: entry.tombstone,
      version: entry.version,
      expiresAt: entry.expiresAt,
      origin,
      region,
    })
  }

  private checkOpen(): void {
    if (this.ctx.closed) {
      throw new CacheClosedError('this cache was closed; create a new one with createCache()')
    }
  }

  private checkKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.options.maxKeyLength) {
      throw new InvalidKeyError(
        typeof key !== 'string'
          ? `keys must be strings, got ${typeof key}`
          : `keys must be 1 to ${this.options.maxKeyLength} characters long, got ${key.length}`,
      )
    }
  }

  private checkTtl(ttl: Duration): number {
    const ms = parseDuration(ttl, 'ttl')
    if (ms <= 0 || ms > this.options.maxTtl) {
      throw new InvalidOptionError(
        `ttl must be greater than 0 and at most maxTtl (${this.options.maxTtl} ms), got ${String(ttl)}`,
      )
    }
    return ms
  }
}
