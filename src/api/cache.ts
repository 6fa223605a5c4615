import { EventEmitter } from 'node:events'
import type { Clock } from '../clock/clock.js'
import type { HybridClock } from '../clock/hlc.js'
import type { Version } from '../clock/version.js'
import { type Duration, parseDuration } from '../duration.js'
import { CacheClosedError, InvalidOptionError, TimeoutError } from '../errors.js'
import type { MeshStats } from '../ports/mesh-options.js'
import type { MeshAdmin, MeshPort } from '../ports/mesh-port.js'
import type { PersistenceStats } from '../ports/persistence-stats.js'
import type { KeyspaceOptions, ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { KeyspaceStats } from '../replica/keyspace-stats.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import type { RejectCounts } from '../replication/reject-codes.js'
import type { ApiContext } from './api-context.js'
import { API_DEFAULTS, DEFAULT_KEYSPACE } from './defaults.js'
import { type CacheEvents, checkListener } from './events.js'
import { Keyspace } from './keyspace.js'
import { KeyspaceVerbs } from './keyspace-verbs.js'
import { turnClock } from './read-clock.js'

/** Cache-wide counters returned by {@link Cache.stats}. */
export interface CacheStats {
  /** Id of this node (its peer id in a mesh). */
  node: string
  /** Region of this node. */
  region: string
  /** Counters and sizes of each open keyspace. */
  keyspaces: Record<string, KeyspaceStats>
  /** Reads that found a live value, over all keyspaces. */
  hits: number
  /** Reads that found none, over all keyspaces. */
  misses: number
  /** Values held, over all keyspaces (tombstones not counted). */
  entries: number
  /** hits / (hits + misses), 0 before the first read. */
  hitRatio: number
  /** Remote entries (gossip, sync, reads, snapshot) refused, by reason code. */
  rejected: RejectCounts
  /** Mesh figures (peers, replication, lag) when this node is part of a mesh. */
  mesh?: MeshStats
  /** Snapshot and write-log figures, when the cache has a `dataDir`. */
  persistence?: PersistenceStats
  /** False while a (re)started node catches up with its peers (see {@link Cache.ready}). */
  ready: boolean
}

/** The newest version a node knows of a key. */
export interface KnownVersion {
  /** The version: the larger wins everywhere. */
  version: Version
  /** True when that version is a delete. */
  deleted: boolean
}

/**
 * Operator access for tools, tests and the HTTP admin routes: not needed by
 * applications. Replicas expose versions and the digest tree; the mesh admin cuts and
 * heals links and runs anti-entropy on demand.
 */
export interface CacheAdmin {
  /**
   * The newest version this node knows of `key` (of a live value, an expired one, an
   * evicted one or a delete), or undefined when it knows none.
   */
  version(keyspace: string, key: string): KnownVersion | undefined
  /** The root of the keyspace's anti-entropy digest tree, as hex: equal on replicas that agree. */
  digest(keyspace: string): string | undefined
  /** Operator actions on the mesh; undefined for an embedded cache. */
  readonly mesh: MeshAdmin | undefined
  /**
   * The limits and TTLs a keyspace opened without options of its own gets (the
   * `createCache` defaults): what a keyspace not open yet would be checked against.
   */
  keyspaceDefaults(): Readonly<ResolvedKeyspaceOptions>
}

/** What the composition root (`createCache`) hands a {@link Cache}. @internal */
export interface CacheParts {
  readonly nodeId: string
  readonly region: string
  /** Stamps this node's writes. */
  readonly hlc: HybridClock
  /** The node's one clock. */
  readonly clock: Clock
  readonly replicas: ReplicaRegistry
  readonly mesh: MeshPort | undefined
  /** Stops everything the root started (mesh, persistence, sweep), bounded in time. */
  readonly stop: () => Promise<void>
  /** Persistence figures, when the cache has a data dir. */
  readonly persistenceStats?: () => PersistenceStats
  /** Options of the default keyspace (opened with them); the cache-wide defaults when undefined. */
  readonly defaultKeyspace?: KeyspaceOptions
}

/**
 * An LRU+TTL cache, in-process, optionally replicated across a mesh. The keyspace verbs
 * (`get/set/delete/fetch/wrap/...`) act on the default keyspace; `keyspace(name)` opens
 * others.
 */
export class Cache<V = unknown> extends KeyspaceVerbs<V> {
  /** Id of this node: the tiebreak in versions. */
  readonly nodeId: string
  /** Region tag of this node. */
  readonly region: string
  readonly #emitter = new EventEmitter<CacheEvents>()
  /** Whether each event has a listener, kept by on/off: the write path only reads a flag. */
  readonly #wanted: Record<keyof CacheEvents, boolean> = {
    change: false,
    expire: false,
    evict: false,
  }
  readonly #spaces = new Map<string, Keyspace<unknown>>()
  readonly #spaceReplicas = new WeakMap<Keyspace<unknown>, KeyspaceReplica<unknown>>()
  readonly #replicas: ReplicaRegistry
  readonly #ctx: ApiContext
  readonly #stop: () => Promise<void>
  readonly #persistenceStats: (() => PersistenceStats) | undefined
  #closing: Promise<void> | undefined

  /** Use `createCache()`. @internal */
  constructor(parts: CacheParts) {
    const ctx: ApiContext = {
      hlc: parts.hlc,
      clock: parts.clock,
      region: parts.region,
      readNow: turnClock(() => parts.clock.now()),
      mesh: parts.mesh,
      closed: false,
    }
    super(parts.replicas.open<V>(DEFAULT_KEYSPACE, parts.defaultKeyspace, true), ctx)
    this.#ctx = ctx
    this.nodeId = parts.nodeId
    this.region = parts.region
    this.#replicas = parts.replicas
    this.#stop = parts.stop
    this.#persistenceStats = parts.persistenceStats
    const emitter = this.#emitter
    const region = parts.region
    // A throwing listener must not cut a write, a batch or a read in half: its error is
    // rethrown on its own, after the replica finished (as an uncaught listener error).
    const emit = <E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]) => {
      try {
        emitter.emit(event, ...(args as never))
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
    const wanted = this.#wanted
    parts.replicas.listen({
      wants: (event) => wanted[event],
      change: (keyspace, key, entry, source, from) =>
        emit('change', {
          keyspace,
          key,
          value: entry.value,
          deleted: entry.tombstone,
          version: entry.version,
          expiresAt: entry.expiresAt,
          origin: source,
          region: source === 'local' ? region : from,
        }),
      expire: (keyspace, key) => emit('expire', { keyspace, key }),
      evict: (keyspace, key) => emit('evict', { keyspace, key }),
    })
  }

  /**
   * Opens (or returns the already open) keyspace `name` with its own limits and TTLs.
   * In a mesh, the node subscribes to the keyspace's topic: only nodes that opened a
   * keyspace receive its writes.
   * @throws InvalidOptionError for a bad name or options, or when `name` is already open
   *   with different options
   */
  keyspace<T = V>(name: string, options?: KeyspaceOptions): Keyspace<T> {
    this.#checkOpen()
    const replica = this.#replicas.open<T>(name, options, true) as KeyspaceReplica<unknown>
    let ks = this.#spaces.get(name)
    // A new facade when there is none, or when the replica was rebuilt with new options.
    if (ks === undefined || this.#spaceReplicas.get(ks) !== replica) {
      ks = new Keyspace<unknown>(replica, this.#ctx)
      this.#spaces.set(name, ks)
      this.#spaceReplicas.set(ks, replica)
    }
    return ks as Keyspace<T>
  }

  /** Open keyspaces (also those a headless node opened for its peers), by name. */
  keyspaces(): ReadonlyMap<string, Keyspace<unknown>> {
    for (const name of this.#replicas.names()) if (!this.#spaces.has(name)) this.keyspace(name)
    return this.#spaces
  }

  /** Listens for `change`, `expire` or `evict`. @throws InvalidOptionError for another event name or a listener that is not a function */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    checkListener(event, listener)
    this.#emitter.on(event, listener as never)
    this.#wanted[event] = true
    return this
  }

  /** Stops listening. */
  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    checkListener(event, listener)
    this.#emitter.off(event, listener as never)
    this.#wanted[event] = this.#emitter.listenerCount(event) > 0
    return this
  }

  /** Hit/miss counters, sizes per keyspace and, in a mesh, peers and replication lag. */
  stats(): CacheStats {
    const keyspaces: Record<string, KeyspaceStats> = {}
    let hits = 0
    let misses = 0
    let entries = 0
    for (const replica of this.#replicas) {
      const s = replica.stats()
      keyspaces[replica.name] = s
      hits += s.hits
      misses += s.misses
      entries += s.entries
    }
    const mesh = this.#ctx.mesh
    return {
      node: this.nodeId,
      region: this.region,
      keyspaces,
      hits,
      misses,
      entries,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      rejected: { ...this.#replicas.rejected },
      ...(mesh ? { mesh: mesh.stats() } : {}),
      ...(this.#persistenceStats ? { persistence: this.#persistenceStats() } : {}),
      ready: this.isReady,
    }
  }

  /** Operator access (replicas, partitions, anti-entropy on demand); not for application code. */
  get admin(): CacheAdmin {
    const replicas = this.#replicas
    return {
      version: (keyspace, key) => {
        const known = replicas.get(keyspace)?.index.get(key)
        return known && { version: known.version, deleted: known.tombstone }
      },
      digest: (keyspace) =>
        replicas
          .get(keyspace)
          ?.index.tree.digest(0, 0)
          .map((lane) => lane.toString(16).padStart(8, '0'))
          .join(''),
      mesh: this.#ctx.mesh?.admin,
      keyspaceDefaults: () => replicas.defaultOptions(),
    }
  }

  /** Multiaddrs (with `/p2p/<peer id>`) other nodes can use as `peers`; empty when embedded. */
  addresses(): string[] {
    return this.#ctx.mesh?.addresses() ?? []
  }

  /** Publishes queued replication batches now instead of within the flush delay. */
  flush(): void {
    this.#ctx.mesh?.flush()
  }

  /**
   * Resolves once at least `count` peers are connected, announced their region and
   * subscribe to this node's default keyspace: a write made after it reaches them at once
   * (for example the first writes of a fresh process). Writes made earlier are not lost
   * either: batches nobody can receive yet are held and sent when a subscriber appears.
   * @throws TimeoutError when that does not happen within `timeout`;
   *   InvalidOptionError when this cache is not part of a mesh
   */
  async waitForPeers(
    count = 1,
    timeout: Duration = API_DEFAULTS.waitForPeersTimeoutMs,
  ): Promise<void> {
    const mesh = this.#ctx.mesh
    if (mesh === undefined)
      throw new InvalidOptionError(
        'waitForPeers needs a mesh: pass listen or peers to createCache()',
      )
    const ms = parseDuration(timeout, 'timeout')
    const clock = this.#ctx.clock
    const deadline = clock.monotonic() + ms
    while (mesh.readyPeers(DEFAULT_KEYSPACE) < count) {
      if (clock.monotonic() > deadline) {
        throw new TimeoutError(
          `${mesh.readyPeers(DEFAULT_KEYSPACE)} of ${count} peers connected and subscribed within ${ms} ms`,
        )
      }
      await clock.sleep(API_DEFAULTS.pollMs)
    }
  }

  /**
   * Resolves once this node caught up with the mesh after a start: one anti-entropy round
   * with a peer of every region it reaches, or the ready timeout (5 s) passed. An
   * embedded cache is ready at once. Until then reads serve what this node held (its
   * snapshot and write log: never older than what it acknowledged before a restart).
   */
  get ready(): Promise<void> {
    return this.#ctx.mesh?.ready ?? Promise.resolve()
  }

  /** True once {@link ready} resolved. */
  get isReady(): boolean {
    return this.#ctx.mesh?.isReady ?? true
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.#ctx.closed
  }

  /** Flushes pending replication, leaves the mesh, saves a last snapshot, stops timers. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#ctx.closed = true
      this.#closing = this.#stop().finally(() => this.#emitter.removeAllListeners())
    }
    return this.#closing
  }

  #checkOpen(): void {
    if (this.#ctx.closed)
      throw new CacheClosedError('this cache was closed; create a new one with createCache()')
  }
}
