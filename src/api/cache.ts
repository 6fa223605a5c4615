import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { HybridClock } from '../clock/hlc.js'
import type { Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import { CacheClosedError, InvalidOptionError, TimeoutError } from '../errors.js'
import type { MeshOptions, MeshStats } from '../mesh/mesh-options.js'
import type { CacheEvents } from './events.js'
import {
  type DeleteOptions,
  type FetchOptions,
  Keyspace,
  type KeyspaceContext,
  type ReplicationPort,
  type SetOptions,
  type WrapOptions,
} from './keyspace.js'
import type { KeyspaceStats } from './keyspace-stats.js'
import {
  checkKeyspaceName,
  type KeyspaceOptions,
  NAME_RE,
  resolveKeyspaceOptions,
  stripUndefined,
} from './options.js'
import { turnClock } from './read-clock.js'

/** Keys one sweep step examines per keyspace. */
const SWEEP_BUDGET = 5_000

/** Name of the keyspace behind `cache.get/set/...`. */
export const DEFAULT_KEYSPACE = 'default'

/** Options of {@link createCache}; every one is optional. Keyspace options are defaults for every keyspace. */
export interface CacheOptions extends KeyspaceOptions {
  /** Region tag of this node; peers in the same region are preferred for reads. @default 'local' */
  region?: string
  /** libp2p multiaddrs to listen on; giving `listen` or `peers` makes this node join a mesh. */
  listen?: string[]
  /** Bootstrap peers' multiaddrs (with `/p2p/<peer id>`). */
  peers?: string[]
  /**
   * Pre-shared network key (libp2p pnet swarm key text, from `meshcache keygen`): nodes
   * without it cannot connect at all. Links are Noise-encrypted either way.
   */
  networkKey?: string | Uint8Array
  /** Peer ids allowed to connect; others are refused at connection time. @default everyone (with the network key) */
  allowPeers?: string[]
  /** Largest amount a remote write's clock may run ahead of ours; later ones are rejected. @default '1m' */
  maxClockDrift?: Duration
  /**
   * Time between steps of the background sweep that frees expired entries (reads never
   * return them anyway); each step examines up to 5,000 keys per keyspace. @default '100ms'
   */
  purgeInterval?: Duration
  /** Id of this node in versions. @default the libp2p peer id in a mesh, random otherwise */
  nodeId?: string
  /**
   * Directory for the node's identity (its peer id survives restarts) and periodic
   * snapshots of its entries (a restarted node starts warm, then anti-entropy catches up).
   * Mesh nodes only.
   */
  dataDir?: string
  /** How often entries are snapshotted to `dataDir`. @default '5s' */
  snapshotInterval?: Duration
  /** Mesh-only tuning: batching, timers, wire limits. */
  mesh?: MeshOptions
}

/** Cache-wide counters returned by {@link Cache.stats}. */
export interface CacheStats {
  node: string
  region: string
  keyspaces: Record<string, KeyspaceStats>
  /** Sums over keyspaces. */
  hits: number
  misses: number
  entries: number
  /** hits / (hits + misses), 0 before the first read. */
  hitRatio: number
  /** Mesh figures (peers, replication, lag) when this node is part of a mesh. */
  mesh?: MeshStats
}

/** What the mesh layer needs from a cache; see `src/mesh`. */
export interface MeshAttachment extends ReplicationPort {
  /** Subscribes to a keyspace's topic when it is opened. */
  keyspaceOpened(keyspace: Keyspace<unknown>): void
  stats(): MeshStats
  /** Connected peers (region known) subscribed to `keyspace`. */
  readyPeers(keyspace: string): number
  /** Multiaddrs (with `/p2p/<id>`) this node listens on. */
  addresses(): string[]
  /** Publishes queued batches now. */
  flush(): void
  /** Flushes pending batches and stops the node, bounded in time. */
  close(): Promise<void>
}

/**
 * An LRU+TTL cache, in-process, optionally replicated across a mesh. The methods
 * `get/set/delete/has/fetch/wrap` act on the default keyspace; `keyspace(name)` opens others.
 */
export class Cache<V = unknown> {
  /** Id of this node: the tiebreak in versions. */
  readonly nodeId: string
  readonly region: string
  /** The hybrid logical clock that stamps this node's writes. */
  readonly clock: HybridClock
  private readonly emitter = new EventEmitter<CacheEvents>()
  private readonly spaces = new Map<string, Keyspace<unknown>>()
  private readonly defaults: KeyspaceOptions
  private readonly ctx: KeyspaceContext
  private readonly purgeTimer: NodeJS.Timeout
  private readonly defaultSpace: Keyspace<V>
  private mesh: MeshAttachment | undefined
  private closed = false

  /** Use {@link createCache}. */
  constructor(options: CacheOptions = {}, nodeId?: string) {
    const region = options.region ?? 'local'
    if (typeof region !== 'string' || !NAME_RE.test(region)) {
      throw new InvalidOptionError(
        `region must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(region)}`,
      )
    }
    this.region = region
    this.nodeId = nodeId ?? options.nodeId ?? randomBytes(8).toString('hex')
    this.clock = new HybridClock({
      node: this.nodeId,
      maxDrift: parseDuration(options.maxClockDrift ?? '1m', 'maxClockDrift'),
    })
    const purgeMs = parseDuration(options.purgeInterval ?? '100ms', 'purgeInterval')
    if (purgeMs < 10)
      throw new InvalidOptionError(`purgeInterval must be at least 10 ms, got ${purgeMs}`)
    const { maxEntries, maxBytes, defaultTtl, maxTtl, maxKeyLength, maxValueBytes, maxIndexKeys } =
      options
    this.defaults = stripUndefined({
      maxEntries,
      maxBytes,
      defaultTtl,
      maxTtl,
      maxKeyLength,
      maxValueBytes,
      maxIndexKeys,
    })
    // Validate the cache-wide defaults now, so a bad option fails at createCache().
    resolveKeyspaceOptions(this.defaults)
    const emitter = this.emitter
    this.ctx = {
      clock: this.clock,
      region,
      now: Date.now,
      readNow: turnClock(Date.now),
      emit: (event, ...args) => emitter.emit(event, ...(args as never)),
      wants: (event) => emitter.listenerCount(event) > 0,
      port: undefined,
      closed: false,
    }
    this.defaultSpace = this.keyspace<V>(DEFAULT_KEYSPACE)
    // The sweep runs in small steps (SWEEP_BUDGET keys per keyspace every purgeInterval),
    // so even a million-key keyspace never stalls the event loop; a full pass over n keys
    // takes about n / SWEEP_BUDGET steps. Reads never return expired values anyway.
    const stepMs = purgeMs
    this.purgeTimer = setInterval(() => {
      for (const ks of this.spaces.values()) ks.sweepStep(SWEEP_BUDGET)
    }, stepMs)
    this.purgeTimer.unref()
  }

  /**
   * Opens (or returns the already open) keyspace `name` with its own limits and TTLs.
   * In a mesh, the node subscribes to the keyspace's topic: only nodes that opened a
   * keyspace receive its writes.
   * @throws InvalidOptionError for a bad name or options, or when `name` is already open
   *   with different options
   */
  keyspace<T = V>(name: string, options?: KeyspaceOptions): Keyspace<T> {
    this.checkOpen()
    checkKeyspaceName(name)
    const resolved = resolveKeyspaceOptions(options, this.defaults)
    const existing = this.spaces.get(name)
    if (existing !== undefined) {
      if (options !== undefined && JSON.stringify(existing.options) !== JSON.stringify(resolved)) {
        throw new InvalidOptionError(`keyspace '${name}' is already open with different options`)
      }
      return existing as Keyspace<T>
    }
    const ks = new Keyspace<T>(name, resolved, this.ctx)
    this.spaces.set(name, ks as Keyspace<unknown>)
    this.mesh?.keyspaceOpened(ks as Keyspace<unknown>)
    return ks
  }

  /** Open keyspaces, by name. */
  keyspaces(): ReadonlyMap<string, Keyspace<unknown>> {
    return this.spaces
  }

  /** {@link Keyspace.get} on the default keyspace. */
  get(key: string): V | undefined {
    return this.defaultSpace.get(key)
  }

  /** {@link Keyspace.has} on the default keyspace. */
  has(key: string): boolean {
    return this.defaultSpace.has(key)
  }

  /** {@link Keyspace.set} on the default keyspace. */
  set(key: string, value: V, options?: SetOptions): Promise<Version> {
    return this.defaultSpace.set(key, value, options)
  }

  /** {@link Keyspace.delete} on the default keyspace. */
  delete(key: string, options?: DeleteOptions): Promise<boolean> {
    return this.defaultSpace.delete(key, options)
  }

  /** {@link Keyspace.fetch} on the default keyspace. */
  fetch(key: string, options?: FetchOptions<V>): Promise<V | undefined> {
    return this.defaultSpace.fetch(key, options)
  }

  /** {@link Keyspace.wrap} on the default keyspace. */
  wrap<A extends unknown[], R extends V>(
    fn: (...args: A) => R | Promise<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<R> {
    return this.defaultSpace.wrap(fn, options)
  }

  /** Listens for `change`, `expire` or `evict`. */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.emitter.on(event, listener as never)
    return this
  }

  /** Stops listening. */
  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.emitter.off(event, listener as never)
    return this
  }

  /** Hit/miss counters, sizes per keyspace and, in a mesh, peers and replication lag. */
  stats(): CacheStats {
    const keyspaces: Record<string, KeyspaceStats> = {}
    let hits = 0
    let misses = 0
    let entries = 0
    for (const [name, ks] of this.spaces) {
      const s = ks.stats()
      keyspaces[name] = s
      hits += s.hits
      misses += s.misses
      entries += s.entries
    }
    return {
      node: this.nodeId,
      region: this.region,
      keyspaces,
      hits,
      misses,
      entries,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      ...(this.mesh ? { mesh: this.mesh.stats() } : {}),
    }
  }

  /** Connects this cache to the mesh layer. Called once by {@link createCache}. */
  attachMesh(mesh: MeshAttachment): void {
    if (this.mesh !== undefined) throw new InvalidOptionError('a mesh is already attached')
    this.mesh = mesh
    this.ctx.port = mesh
    for (const ks of this.spaces.values()) mesh.keyspaceOpened(ks)
  }

  /** Multiaddrs (with `/p2p/<peer id>`) other nodes can use as `peers`; empty when embedded. */
  addresses(): string[] {
    return this.mesh?.addresses() ?? []
  }

  /** Publishes queued replication batches now instead of within the flush delay. */
  flush(): void {
    this.mesh?.flush()
  }

  /** The mesh adapter, when this cache is part of a mesh. */
  get meshNode(): MeshAttachment | undefined {
    return this.mesh
  }

  /**
   * Resolves once at least `count` peers are connected, announced their region and
   * subscribe to this node's default keyspace: a write made after it reaches them at once
   * (for example the first writes of a fresh process). Writes made earlier are not lost
   * either: batches nobody can receive yet are held and sent when a subscriber appears.
   * @throws TimeoutError when that does not happen within `timeout`;
   *   InvalidOptionError when this cache is not part of a mesh
   */
  async waitForPeers(count = 1, timeout: Duration = '10s'): Promise<void> {
    const mesh = this.mesh
    if (mesh === undefined)
      throw new InvalidOptionError(
        'waitForPeers needs a mesh: pass listen or peers to createCache()',
      )
    const deadline = Date.now() + parseDuration(timeout, 'timeout')
    while (mesh.readyPeers(DEFAULT_KEYSPACE) < count) {
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `${mesh.readyPeers(DEFAULT_KEYSPACE)} of ${count} peers connected and subscribed within ${String(timeout)}`,
        )
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.closed
  }

  /** Flushes pending replication, leaves the mesh and stops timers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.ctx.closed = true
    clearInterval(this.purgeTimer)
    const mesh = this.mesh
    this.ctx.port = undefined
    if (mesh) await mesh.close()
    this.emitter.removeAllListeners()
  }

  private checkOpen(): void {
    if (this.closed)
      throw new CacheClosedError('this cache was closed; create a new one with createCache()')
  }
}
