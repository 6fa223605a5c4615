import { compareVersions, formatVersion, type Version } from '../clock/version.js'
import { parseDuration } from '../duration.js'
import { ClockSkewError, InvalidOptionError, TimeoutError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import { type FetchOutcome, type FetchTrace, loadChannel } from '../trace-channels.js'
import type { ApiContext } from './api-context.js'
import { FETCH_OPTION_NAMES, type FetchOptions, type SetOptions } from './call-options.js'
import { API_DEFAULTS } from './defaults.js'
import { atLeastVersion, checkFetchOptions, wantsConsistentRead } from './fetch-checks.js'
import { tracedLoad } from './fetch-trace.js'
import { SingleFlight } from './single-flight.js'

/** Weight of a new sample in the loader latency EWMA. */
const LOAD_LATENCY_ALPHA = 0.3

/** Older than every version: what "nothing known" compares as. */
const NO_VERSION: Version = { wall: -1, logical: 0, node: '' }

/** What a miss found, and where from (the outcome is shared with every caller that joined it). */
interface Fetched<V> {
  value: V | undefined
  outcome: FetchOutcome
}

/** What {@link FetchPolicy} needs of its keyspace. */
export interface FetchHost<V> {
  readonly name: string
  readonly replica: KeyspaceReplica<V>
  readonly ctx: ApiContext
  get(key: string): V | undefined
  set(key: string, value: V, options?: SetOptions): Promise<Version>
  /** @throws CacheClosedError */
  checkOpen(): void
  checkKey(key: string): void
  /** @returns the TTL in ms @throws InvalidOptionError */
  checkTtl(ttl: NonNullable<SetOptions['ttl']>): number
}

/**
 * The read-through policies of `fetch`: consistent reads (`quorum`, `atLeast`),
 * stale-while-revalidate, stale-if-error, index-guided lookup in the mesh (peers are
 * asked only when one may hold the key, another region only when cheaper than the
 * origin), single flight per region (or mesh) through load leases, then `load` with
 * single flight in this process.
 */
export class FetchPolicy<V> {
  private readonly host: FetchHost<V>
  private readonly flights = new SingleFlight<Fetched<V>>()
  /** Misses of callers without `load` (a lookup through peers only). */
  private readonly lookups = new SingleFlight<Fetched<V>>()
  /** Per key: the shared load's abort controller and the callers waiting for it. */
  private readonly aborts = new Map<
    string,
    { ctl: AbortController; callers: number; waiting: number }
  >()

  constructor(host: FetchHost<V>) {
    this.host = host
  }

  /**
   * @param trace - the `meshcache:fetch` context when someone subscribes: its `outcome`
   *   and `shared` are set here; undefined otherwise (nothing is recorded)
   * @param missed - the caller's own `get` just missed (and counted the miss): not read again
   */
  async fetch(
    key: string,
    options?: FetchOptions<V>,
    trace?: FetchTrace,
    missed = false,
  ): Promise<V | undefined> {
    // A miss may load and write: the key is checked as a written one before any lookup,
    // lease or load (a hit never gets here, and no hit holds a key this would refuse).
    this.host.checkKey(key)
    const leave = this.join(key, options?.signal)
    try {
      return await this.fetchJoined(key, options, trace, missed)
    } finally {
      leave()
    }
  }

  /**
   * A `fetch` call: checks the cache is open and the options, then {@link fetch}; with a
   * `signal`, rejects with its reason once it aborts (the shared load may go on).
   * @param trace - see {@link fetch}
   */
  async call(
    key: string,
    options: FetchOptions<V> | undefined,
    trace: FetchTrace | undefined,
  ): Promise<V | undefined> {
    this.host.checkOpen()
    checkOptionNames(options, FETCH_OPTION_NAMES, 'fetch')
    if (options !== undefined) checkFetchOptions(options, (ttl) => this.host.checkTtl(ttl))
    const signal = options?.signal
    if (signal === undefined) {
      // A hit needs no caller registration, abort controller or single flight: the common
      // case of `fetch` and `wrap` costs a `get` and this call's promise.
      const local = !wantsConsistentRead(options)
      if (local) {
        const hit = this.host.get(key)
        if (hit !== undefined) {
          if (trace !== undefined) trace.outcome = 'hit'
          return hit
        }
      }
      return this.fetch(key, options, trace, local)
    }
    if (!(signal instanceof AbortSignal))
      throw new InvalidOptionError('signal must be an AbortSignal')
    signal.throwIfAborted()
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([this.fetch(key, options, trace), aborted])
    } finally {
      signal.removeEventListener('abort', onAbort!)
    }
  }

  /**
   * Registers a caller of `key`: the shared load's signal aborts only once every caller
   * waiting for it aborted (a caller without a signal never does).
   * @returns what to call when this caller is done
   */
  private join(key: string, signal: AbortSignal | undefined): () => void {
    let shared = this.aborts.get(key)
    if (shared === undefined) {
      shared = { ctl: new AbortController(), callers: 0, waiting: 0 }
      this.aborts.set(key, shared)
    }
    const s = shared
    s.callers++
    s.waiting++
    let aborted = false
    const onAbort = () => {
      aborted = true
      s.waiting--
      if (s.waiting === 0) s.ctl.abort(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    return () => {
      signal?.removeEventListener('abort', onAbort)
      if (!aborted) s.waiting--
      s.callers--
      if (s.callers === 0 && this.aborts.get(key) === s) this.aborts.delete(key)
    }
  }

  private async fetchJoined(
    key: string,
    options: FetchOptions<V> | undefined,
    trace: FetchTrace | undefined,
    missed: boolean,
  ): Promise<V | undefined> {
    const { host } = this
    // Traced only: the version known before a consistent read tells a hit from a peer's newer value.
    let before: Version | null = null
    const consistent = wantsConsistentRead(options)
    if (consistent) {
      if (trace !== undefined) before = host.replica.index.get(key)?.version ?? NO_VERSION
      await this.consistentRead(key, options!)
    }
    // Nothing ran since a `missed` read unless a consistent read awaited: a miss counts once.
    const hit = missed && !consistent ? undefined : host.get(key)
    if (hit !== undefined) {
      if (trace !== undefined) trace.outcome = this.readOutcome(key, before)
      return hit
    }
    const ttl = options?.ttl === undefined ? undefined : host.checkTtl(options.ttl)
    const swr = options?.staleWhileRevalidate
    const sie = options?.staleIfError
    if (swr !== undefined) {
      const stale = host.replica.staleValue(
        key,
        parseDuration(swr, 'staleWhileRevalidate'),
        host.ctx.clock.now(),
      )
      if (stale !== undefined && options?.load !== undefined) {
        // One refresh per key (single flight); its failure only shows in loadErrors.
        void this.fetch(
          key,
          { load: options.load, ...(ttl ? { ttl } : {}) },
          undefined,
          true,
        ).catch(() => undefined)
        if (trace !== undefined) trace.outcome = 'stale'
        return stale
      }
    }
    if (sie !== undefined) {
      const window = parseDuration(sie, 'staleIfError')
      return this.fetch(
        key,
        { ...options, staleIfError: undefined, staleWhileRevalidate: undefined },
        trace,
        true,
      ).catch((err: unknown) => {
        const stale = host.replica.staleValue(key, window, host.ctx.clock.now())
        if (stale === undefined) throw err
        if (trace !== undefined) trace.outcome = 'stale'
        return stale
      })
    }
    // A caller with `load` never joins a flight without one (it would get the lookup's
    // miss, its own loader never called); a caller without joins either kind.
    const flights =
      options?.load !== undefined || this.flights.has(key) ? this.flights : this.lookups
    const shared = trace !== undefined && flights.has(key)
    const got = await flights.run(key, () => this.missThrough(key, options, ttl))
    if (trace !== undefined) {
      trace.outcome = got.outcome
      trace.shared = shared
    }
    return got.value
  }

  /**
   * Where a value held here came from: `peer` when a consistent read (`before`: the
   * version known when it started; null: no consistent read) brought another node's newer write.
   */
  private readOutcome(key: string, before: Version | null): FetchOutcome {
    if (before === null) return 'hit'
    const known = this.host.replica.index.get(key)?.version
    if (known === undefined || known.node === this.host.ctx.hlc.node) return 'hit'
    return compareVersions(known, before) > 0 ? 'peer' : 'hit'
  }

  /**
   * A miss: peers when the version index says one holds a live value, then the load
   * lease (single flight across nodes), then `load`.
   */
  private async missThrough(
    key: string,
    options: FetchOptions<V> | undefined,
    ttl: number | undefined,
  ): Promise<Fetched<V>> {
    const { host } = this
    const { replica, ctx } = host
    const held = () => replica.store.get(key, ctx.clock.now())?.value
    const again = held()
    // Arrived (by replication) since the caller's read missed.
    if (again !== undefined) return { value: again, outcome: 'hit' }
    const scope = options?.lookup ?? 'mesh'
    if (scope !== 'mesh' && scope !== 'region' && scope !== 'none') {
      throw new InvalidOptionError(
        `lookup must be 'mesh', 'region' or 'none', got ${String(scope)}`,
      )
    }
    const flight = options?.singleFlight ?? 'region'
    if (flight !== 'region' && flight !== 'mesh' && flight !== 'process') {
      throw new InvalidOptionError(
        `singleFlight must be 'region', 'mesh' or 'process', got ${String(flight)}`,
      )
    }
    const mesh = scope === 'none' ? undefined : ctx.mesh
    if (mesh !== undefined && this.peersMayHold(key)) {
      // A remote region is worth a round trip only when it is cheaper than the origin.
      const budget = scope === 'region' ? 0 : this.remoteBudgetMs()
      if (await mesh.lookup(host.name, key, budget)) {
        const found = held()
        if (found !== undefined) return { value: found, outcome: 'peer' }
      }
    }
    const load = options?.load
    if (load === undefined) return { value: undefined, outcome: 'miss' }
    if (
      mesh !== undefined &&
      flight !== 'process' &&
      (await mesh.coordinateLoad(host.name, key, flight))
    ) {
      // Another node of the region (or mesh) loaded it; its value arrived.
      const found = held()
      if (found !== undefined) return { value: found, outcome: 'peer' }
    }
    const counters = replica.counters
    counters.loads++
    let value: V | undefined
    const started = host.ctx.clock.monotonic()
    try {
      // The load's signal aborts only when every caller waiting for it aborted.
      const signal = this.aborts.get(key)?.ctl.signal
      const call = signal === undefined ? {} : { signal }
      value = await (loadChannel.hasSubscribers
        ? tracedLoad(host.ctx.clock, host.name, key, () => load(key, call))
        : load(key, call))
    } catch (err) {
      counters.loadErrors++
      throw err
    } finally {
      const ms = host.ctx.clock.monotonic() - started
      counters.loadLatencyMs =
        counters.loadLatencyMs === 0
          ? ms
          : counters.loadLatencyMs + LOAD_LATENCY_ALPHA * (ms - counters.loadLatencyMs)
    }
    if (value !== undefined) {
      try {
        await host.set(key, value, ttl === undefined ? undefined : { ttl })
      } catch (err) {
        // A node that refuses writes for its clock still serves what it loaded, uncached.
        if (!(err instanceof ClockSkewError)) throw err
      }
    }
    return { value, outcome: 'load' }
  }

  /**
   * Whether a peer may hold a live value of `key`: every write reaches every node, so
   * the version index knows every key written anywhere (but what replication has not
   * brought yet, and what a full index forgot). Unknown, deleted or expired: no node
   * serves it, so asking would only add round trips.
   */
  private peersMayHold(key: string): boolean {
    const index = this.host.replica.index
    const known = index.get(key)
    if (known === undefined) return index.overflowed
    return !known.tombstone && known.expiresAt > this.host.ctx.clock.now()
  }

  /** Highest RTT worth paying to ask another region: the loader's typical latency. */
  private remoteBudgetMs(): number {
    const typical = this.host.replica.counters.loadLatencyMs
    // Before the first load nothing is known of the origin: a remote copy may be cheaper.
    return typical === 0 ? Number.POSITIVE_INFINITY : typical
  }

  /** Brings the local replica up to a quorum's or a given version before a read. */
  private async consistentRead(key: string, options: FetchOptions<V>): Promise<void> {
    const { host } = this
    const { ctx } = host
    host.checkKey(key)
    const timeout =
      options.readTimeout === undefined
        ? API_DEFAULTS.readTimeoutMs
        : parseDuration(options.readTimeout, 'readTimeout')
    const deadline = ctx.clock.now() + timeout
    const mesh = ctx.mesh
    if (options.consistency === 'quorum' && mesh !== undefined) {
      await mesh.readRemote(host.name, key, 'quorum', timeout)
    }
    if (options.atLeast === undefined) return
    const want = atLeastVersion(options.atLeast)
    const newEnough = () => {
      const known = host.replica.index.get(key)
      return known !== undefined && compareVersions(known.version, want) >= 0
    }
    while (!newEnough()) {
      const left = deadline - ctx.clock.now()
      if (left <= 0) {
        throw new TimeoutError(
          `no version of '${key}' at least ${formatVersion(want)} reached this node within ${timeout} ms`,
        )
      }
      if (mesh !== undefined)
        await mesh.readRemote(host.name, key, 'nearest', left).catch(() => undefined)
      if (!newEnough()) {
        const wait = Math.min(API_DEFAULTS.pollMs, Math.max(1, deadline - ctx.clock.now()))
        await ctx.clock.sleep(wait)
      }
    }
  }
}
