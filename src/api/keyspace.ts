import type { Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import {
  CacheClosedError,
  InvalidKeyError,
  InvalidOptionError,
  ValueTooLargeError,
} from '../errors.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { KeyspaceStats } from '../replica/keyspace-stats.js'
import { encodeValue } from '../replication/value-codec.js'
import { type Entry, entrySize } from '../store/entry.js'
import type { ApiContext } from './api-context.js'
import type {
  AckLevel,
  DeleteOptions,
  FetchOptions,
  SetOptions,
  WrapOptions,
} from './call-options.js'
import { API_DEFAULTS } from './defaults.js'
import { FetchPolicy } from './fetch-policy.js'

interface ResolvedAck {
  level: AckLevel
  timeout: number
}

const LOCAL_ACK: ResolvedAck = { level: 'local', timeout: API_DEFAULTS.ackTimeoutMs }

/**
 * A named set of keys with its own size limits and TTLs. Reads are synchronous and
 * in-process; writes apply locally, then replicate when the cache is part of a mesh.
 *
 * Values are kept by reference, as in lru-cache: do not mutate an object after `set`.
 */
export class Keyspace<V = unknown> {
  readonly name: string
  readonly #replica: KeyspaceReplica<V>
  readonly #ctx: ApiContext
  readonly #fetch: FetchPolicy<V>

  /** Use `cache.keyspace(name)`. @internal */
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
      checkKey: (key) => this.#checkKey(key),
      checkTtl: (ttl) => this.#checkTtl(ttl),
    })
  }

  /** Limits and TTLs of this keyspace, defaults applied (times in ms). */
  get options(): Readonly<ResolvedKeyspaceOptions> {
    return this.#replica.options
  }

  /** The live value of `key`, or `undefined`. Synchronous and in-process; marks it recently used. */
  get(key: string): V | undefined {
    this.#checkKey(key)
    return this.#replica.read(key, this.#ctx.readNow())?.value
  }

  /** The live entry of `key` (value, version, expiry) without touching recency. */
  entry(key: string): Entry<V> | undefined {
    this.#checkKey(key)
    return this.#replica.peek(key, this.#ctx.now())
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
      this.#checkOpen()
      this.#checkKey(key)
      const opts = this.#replica.options
      const ttl = options?.ttl === undefined ? opts.defaultTtl : this.#checkTtl(options.ttl)
      const encoded = encodeValue(key, value)
      if (encoded.length > opts.maxValueBytes) {
        throw new ValueTooLargeError(
          `value of key '${key}' is ${encoded.length} bytes encoded, over maxValueBytes (${opts.maxValueBytes}); store less or raise maxValueBytes`,
        )
      }
      const size = entrySize(key, encoded.length)
      if (size > opts.maxBytes) {
        throw new ValueTooLargeError(
          `entry '${key}' needs ${size} bytes, over the keyspace's maxBytes (${opts.maxBytes})`,
        )
      }
      const ack = options?.ack === undefined ? LOCAL_ACK : this.#ackOf(options)
      const now = this.#ctx.now()
      const entry: Entry<V> = {
        value,
        version: this.#ctx.clock.now(now),
        expiresAt: now + ttl,
        tombstone: false,
        size,
      }
      this.#replica.writeLocal(key, entry, now)
      return this.#replicate(key, entry, ack, encoded)
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
      this.#checkOpen()
      this.#checkKey(key)
      const ack = options?.ack === undefined ? LOCAL_ACK : this.#ackOf(options)
      const now = this.#ctx.now()
      const had = this.#replica.peek(key, now) !== undefined
      const entry: Entry<V> = {
        value: undefined,
        version: this.#ctx.clock.now(now),
        expiresAt: now + this.#replica.options.maxTtl,
        tombstone: true,
        size: entrySize(key, 0),
      }
      this.#replica.writeLocal(key, entry, now)
      return this.#replicate(key, entry, ack, undefined).then(() => had)
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
    this.#checkOpen()
    return this.#fetch.fetch(key, options)
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

  /** Live keys, most recently used first. */
  keys(): IterableIterator<string> {
    return this.#replica.keys(this.#ctx.now())
  }

  /** Drops every expired entry now, in one pass (tests, explicit calls). @returns how many */
  purgeExpired(): number {
    return this.#replica.purgeExpired(this.#ctx.now())
  }

  /** Counters and sizes of this keyspace. */
  stats(): KeyspaceStats {
    return this.#replica.stats()
  }

  #replicate(
    key: string,
    entry: Entry<V>,
    ack: ResolvedAck,
    encoded: Uint8Array | undefined,
  ): Promise<Version> {
    const mesh = this.#ctx.mesh
    if (mesh !== undefined) {
      mesh.publish(this.name, key, entry, encoded)
      if (ack.level !== 'local') {
        return mesh
          .acknowledge(this.name, key, entry, ack.level, ack.timeout)
          .then(() => entry.version)
      }
    }
    return Promise.resolve(entry.version)
  }

  /** Validates ack options before anything is written, so a bad call changes nothing. */
  #ackOf(options: SetOptions | undefined): ResolvedAck {
    const level = options?.ack ?? 'local'
    if (level !== 'local' && level !== 'peer' && level !== 'quorum') {
      throw new InvalidOptionError(`ack must be 'local', 'peer' or 'quorum', got ${String(level)}`)
    }
    const timeout =
      options?.ackTimeout === undefined
        ? API_DEFAULTS.ackTimeoutMs
        : parseDuration(options.ackTimeout, 'ackTimeout')
    return { level, timeout }
  }

  #checkOpen(): void {
    if (this.#ctx.closed) {
      throw new CacheClosedError('this cache was closed; create a new one with createCache()')
    }
  }

  #checkKey(key: string): void {
    const max = this.#replica.options.maxKeyLength
    if (typeof key !== 'string' || key.length === 0 || key.length > max) {
      throw new InvalidKeyError(
        typeof key !== 'string'
          ? `keys must be strings, got ${typeof key}`
          : `keys must be 1 to ${max} characters long, got ${key.length}`,
      )
    }
  }

  #checkTtl(ttl: Duration): number {
    const ms = parseDuration(ttl, 'ttl')
    const max = this.#replica.options.maxTtl
    if (ms <= 0 || ms > max) {
      throw new InvalidOptionError(
        `ttl must be greater than 0 and at most maxTtl (${max} ms), got ${String(ttl)}`,
      )
    }
    return ms
  }
}
