import type { Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import { CacheClosedError, InvalidOptionError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import { CLEAR_KEY, tagKey } from '../replica/tag-invalidations.js'
import { checkTags } from '../replication/value-codec.js'
import type { Entry } from '../store/entry.js'
import { fetchChannel } from '../trace-channels.js'
import type { ApiContext } from './api-context.js'
import {
  DELETE_OPTION_NAMES,
  type DeleteOptions,
  type FetchOptions,
  SET_OPTION_NAMES,
  type SetManyEntry,
  type SetOptions,
  type WrapOptions,
} from './call-options.js'
import { FetchPolicy } from './fetch-policy.js'
import { tracedFetch } from './fetch-trace.js'
import { WrapNames } from './wrap.js'
import {
  checkAck,
  checkKey,
  checkManyEntry,
  checkSet,
  checkTtl,
  checkWrittenKey,
  entryOf,
  LOCAL_ACK,
  type PreparedWrite,
  prepareSet,
  prepareTombstone,
  type ResolvedAck,
} from './write-checks.js'

/**
 * The verbs of one keyspace (get, set, delete, fetch, wrap, ...): what a {@link Keyspace}
 * and a `Cache` (on its default keyspace) have in common. Reads are synchronous and
 * in-process; writes apply locally, then replicate when the cache is part of a mesh.
 *
 * Values are kept by reference, as in lru-cache: do not mutate an object after `set`.
 */
export abstract class KeyspaceVerbs<V = unknown> {
  /** Name of this keyspace (also its topic's suffix in a mesh). */
  readonly name: string
  readonly #replica: KeyspaceReplica<V>
  readonly #ctx: ApiContext
  readonly #fetch: FetchPolicy<V>
  readonly #wrapNames = new WrapNames()

  /** @internal */
  constructor(replica: KeyspaceReplica<V>, ctx: ApiContext) {
    this.name = replica.name
    this.#replica = replica
    this.#ctx = ctx
    this.#fetch = new FetchPolicy<V>({
      name: this.name,
      replica,
      ctx,
      get: (key) => this.get(key),
      set: (key, value, options) => this.set(key, value, options),
      checkOpen: () => this.#checkOpen(),
      // A fetch may write what it loads: its key is checked as a written one, before the load.
      checkKey: (key) => checkWrittenKey(key, replica.options),
      checkTtl: (ttl) => checkTtl(ttl, replica.options),
    })
  }

  /** Limits and TTLs of this keyspace, defaults applied (times in ms). */
  get options(): Readonly<ResolvedKeyspaceOptions> {
    return this.#replica.options
  }

  /**
   * The live value of `key`, or `undefined`. Synchronous and in-process; marks it recently used.
   * @throws InvalidKeyError, CacheClosedError
   */
  get(key: string): V | undefined {
    const replica = this.#replica
    // The hot path: the checks inline, their messages built only on failure.
    if (this.#ctx.closed) this.#checkOpen()
    if (
      typeof key !== 'string' ||
      key.length === 0 ||
      key.length > replica.options.maxKeyLength ||
      key.charCodeAt(0) === 0
    )
      checkKey(key, replica.options)
    return replica.readValue(key, this.#ctx.readNow())
  }

  /** The live value of `key` without touching recency or counters. */
  peek(key: string): V | undefined {
    return this.entry(key)?.value
  }

  /** The live entry of `key` (value, version, expiry, tags) without touching recency. */
  entry(key: string): Entry<V> | undefined {
    this.#checkOpen()
    checkKey(key, this.#opts)
    return this.#replica.peek(key, this.#ctx.clock.now())
  }

  /**
   * The value of `key` that expired at most `within` ago, when nothing newer (a write or
   * a delete) is known: what stale-while-revalidate and stale-if-error serve. At most
   * one minute back.
   * @throws InvalidKeyError, InvalidOptionError
   */
  peekStale(key: string, within: Duration): V | undefined {
    this.#checkOpen()
    checkKey(key, this.#opts)
    const ms = parseDuration(within, 'within')
    return this.#replica.staleValue(key, ms, this.#ctx.clock.now())
  }

  /** True when `key` holds a live value. Does not touch recency or counters. */
  has(key: string): boolean {
    this.#checkOpen()
    checkKey(key, this.#opts)
    return this.#replica.has(key, this.#ctx.clock.now())
  }

  /** Values held in memory (expired ones count until the sweep frees them, as in lru-cache). */
  get size(): number {
    return this.#replica.size
  }

  /** The live values of `keys`, in order (`undefined` for misses); each counts as a `get`. */
  getMany(keys: readonly string[]): (V | undefined)[] {
    if (!Array.isArray(keys)) throw new InvalidOptionError('getMany takes an array of keys')
    return keys.map((k) => this.get(k))
  }

  /**
   * Stores `value` under `key`, then replicates it. Resolves once applied locally (and,
   * with `ack`, once enough regions applied it); the synchronous part does all the work,
   * so a write is visible to `get` before this returns.
   * @returns the write's version (`formatVersion` makes it a compact text token, e.g. for
   *   read-your-writes through another node)
   * @throws (rejects with) InvalidKeyError, InvalidOptionError (ttl, ack, tags),
   *   UnencodableValueError, ValueTooLargeError, CacheClosedError; ClockSkewError when this
   *   node's clock is too far off its peers' for them to hold the write (nothing is
   *   written; so for every write and delete); AckTimeoutError when `ack` is not met in
   *   time (the write stands)
   */
  set(key: string, value: V, options?: SetOptions): Promise<Version> {
    try {
      const ctx = this.#ctx
      if (ctx.closed) this.#checkOpen()
      let ack = LOCAL_ACK
      if (options !== undefined) {
        checkOptionNames(options, SET_OPTION_NAMES, 'set')
        ack = checkAck(options)
      }
      // Writes read the real clock: a clock stepped within a turn (a correction, a test's
      // skew) must show in the next write's stamp (docs/decisions/set-path.md).
      const now = ctx.clock.now()
      const replica = this.#replica
      const mesh = ctx.mesh
      const c = checkSet(
        key,
        value,
        options,
        now,
        replica.options,
        ctx.hlc,
        mesh !== undefined || replica.needsBytes,
        replica.table,
        replica.invalidations.floor,
      )
      // `c` is reused by the next check (a listener may write): read what is needed first.
      const version = c.version
      if (c.replacesFarAhead) replica.table.forget(key)
      if (mesh === undefined && !replica.wantsEntries) {
        // The embedded write path: no entry object, no array, no promise chain.
        replica.writeLocalValue(key, version, c.expiresAt, c.value as V, c.size, c.tags, now)
        return Promise.resolve(version)
      }
      const encoded = c.encoded
      const entry = entryOf<V>(c)
      replica.writeLocal(key, entry, now, encoded)
      if (mesh === undefined) return Promise.resolve(version)
      mesh.publish(this.name, key, entry, encoded)
      if (ack.level === 'local') return Promise.resolve(version)
      return mesh
        .acknowledge(this.name, [{ key, entry }], ack.level, ack.timeout)
        .then(() => version)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Stores many entries in one call: every write is checked before any is applied (a
   * bad one rejects the call and changes nothing), they leave in one batch, and `ack`
   * waits for all of them at once.
   * @param options - defaults for every entry (an entry's own options win), and `ack`
   * @returns the versions, in order
   */
  setMany(entries: readonly SetManyEntry<V>[], options?: SetOptions): Promise<Version[]> {
    try {
      this.#checkOpen()
      if (!Array.isArray(entries))
        throw new InvalidOptionError('setMany takes an array of [key, value, options?] entries')
      checkOptionNames(options, SET_OPTION_NAMES, 'setMany')
      const ack = checkAck(options)
      const now = this.#ctx.clock.now()
      const needBytes = this.#needBytes()
      const held = this.#replica.table
      const floor = this.#replica.invalidations.floor
      const writes = entries.map((entry) => {
        const [key, value, own] = checkManyEntry<V>(entry)
        const merged = own === undefined ? options : { ...options, ...own }
        return prepareSet(
          key,
          value,
          merged,
          now,
          this.#opts,
          this.#ctx.hlc,
          needBytes,
          held,
          floor,
        )
      })
      const versions = writes.map((w) => w.entry.version)
      const acked = this.#commit(writes, ack, now)
      return acked === undefined ? Promise.resolve(versions) : acked.then(() => versions)
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
    return this.deleteMany([key], options).then(([had]) => had!)
  }

  /** Deletes many keys in one call and one batch. @returns for each, whether a live value was held locally */
  deleteMany(keys: readonly string[], options?: DeleteOptions): Promise<boolean[]> {
    try {
      this.#checkOpen()
      checkOptionNames(options, DELETE_OPTION_NAMES, 'delete')
      if (!Array.isArray(keys)) throw new InvalidOptionError('deleteMany takes an array of keys')
      const ack = checkAck(options)
      const now = this.#ctx.clock.now()
      for (const key of keys) checkWrittenKey(key, this.#opts)
      const had = keys.map((key) => this.#replica.peek(key, now) !== undefined)
      const writes = keys.map((key) => this.#tombstone(key, now))
      const acked = this.#commit(writes, ack)
      return acked === undefined ? Promise.resolve(had) : acked.then(() => had)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Kills every entry carrying one of `tags` that was written before this call, on every
   * node (replicated like a delete: it survives partitions and restarts, and lives
   * `maxTtl`). Entries tagged later live on.
   */
  invalidateTags(tags: readonly string[], options?: DeleteOptions): Promise<void> {
    try {
      this.#checkOpen()
      checkOptionNames(options, DELETE_OPTION_NAMES, 'invalidateTags')
      const ack = checkAck(options)
      const now = this.#ctx.clock.now()
      const writes = checkTags(tags).map((t) => this.#tombstone(tagKey(t), now))
      return Promise.resolve(this.#commit(writes, ack))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Deletes every entry of this keyspace written before this call, on every node
   * (replicated, like a delete of each key; later writes live on).
   */
  clear(options?: DeleteOptions): Promise<void> {
    try {
      this.#checkOpen()
      checkOptionNames(options, DELETE_OPTION_NAMES, 'clear')
      const ack = checkAck(options)
      return Promise.resolve(this.#commit([this.#tombstone(CLEAR_KEY, this.#ctx.clock.now())], ack))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The value of `key`: from memory; on a miss from the nearest peers (in a mesh), then
   * from `load`, whose result is stored and replicated. Concurrent misses of one key share
   * one lookup and one `load` call. Traced on the `meshcache:fetch` and `meshcache:load`
   * diagnostics channels when someone subscribes (docs/tracing.md).
   * @returns undefined when nothing holds the key and there is no `load` (or it returned undefined)
   * @throws (rejects with) InvalidKeyError, InvalidOptionError, CacheClosedError; what `load`
   *   throws; TimeoutError when a consistent read does not complete in time
   */
  fetch(key: string, options?: FetchOptions<V>): Promise<V | undefined> {
    // Zero cost untraced: no context object, no closure (docs/decisions/tracing.md).
    if (!fetchChannel.hasSubscribers) return this.#fetch.call(key, options, undefined)
    return tracedFetch(this.#ctx.clock, this.name, key, (trace) =>
      this.#fetch.call(key, options, trace),
    )
  }

  /**
   * Memoizes a function in this keyspace: calls with the same key share one cached
   * result until it expires; concurrent first calls run `fn` once; `this` is passed on
   * but is not part of the key. The default key is the name and the arguments as JSON;
   * arguments JSON would write as something else (undefined, NaN, a Map, a Date...) are
   * refused with InvalidKeyError: pass a `key` function for those.
   * @throws InvalidOptionError when `fn` is anonymous and has neither `name` nor `key`,
   *   or another function is already memoized under that name
   */
  wrap<A extends unknown[], R extends V>(
    fn: (...args: A) => R | Promise<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<R> {
    return this.#wrapNames.memoize(fn, options, this.#replica.options, this.name, (key, call) =>
      this.fetch(key, call),
    )
  }

  /** Live keys, most recently used first. */
  keys(): IterableIterator<string> {
    this.#checkOpen()
    return this.#replica.keys(this.#ctx.clock.now())
  }

  /** Live values, most recently used first. */
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v
  }

  /** Live `[key, value]` pairs, most recently used first. */
  *entries(): IterableIterator<[string, V]> {
    for (const key of this.keys()) {
      const e = this.#replica.peek(key, this.#ctx.clock.now())
      if (e !== undefined) yield [key, e.value as V]
    }
  }

  /** Drops every expired entry now, in one pass (tests, explicit calls). @returns how many */
  purgeExpired(): number {
    return this.#replica.purgeExpired(this.#ctx.clock.now())
  }

  /**
   * Applies checked writes locally and hands them to the mesh.
   * @returns the wait for `ack`, or undefined when there is none
   */
  #commit(
    writes: readonly PreparedWrite<V>[],
    ack: ResolvedAck,
    now = this.#ctx.clock.now(),
  ): Promise<void> | undefined {
    for (const w of writes) {
      // A version no peer accepted (stamped while this node's clock ran far ahead) goes.
      if (w.replacesFarAhead) this.#replica.table.forget(w.key)
      this.#replica.writeLocal(w.key, w.entry, now, w.encoded)
    }
    const mesh = this.#ctx.mesh
    if (mesh === undefined) return undefined
    for (const w of writes) mesh.publish(this.name, w.key, w.entry, w.encoded)
    if (ack.level === 'local' || writes.length === 0) return undefined
    return mesh.acknowledge(this.name, writes, ack.level, ack.timeout)
  }

  #tombstone(key: string, now: number): PreparedWrite<V> {
    return prepareTombstone(key, now, this.#opts, this.#ctx.hlc, this.#replica.table)
  }

  /** Whether writes need their encoded bytes: for a mesh, a write log or a byte limit. */
  #needBytes(): boolean {
    return this.#ctx.mesh !== undefined || this.#replica.needsBytes
  }

  /** Limits of this keyspace. */
  get #opts(): Readonly<ResolvedKeyspaceOptions> {
    return this.#replica.options
  }

  #checkOpen(): void {
    if (this.#ctx.closed) {
      throw new CacheClosedError('this cache was closed; create a new one with createCache()')
    }
  }
}
