import type { Entry } from '../store/entry.js'
import type { MeshStats, PeerStats } from './mesh-options.js'
import type { MeshView } from './mesh-view.js'

/** How many replicas must apply a write before `set`/`delete` resolve, beyond this node. */
export type RemoteAckLevel = 'peer' | 'quorum'

/**
 * What the API asks of the mesh: the port the cache facade talks through. The mesh
 * implements it (`src/mesh/mesh-node.ts`) and the composition root (`src/node`) plugs it
 * in, so neither layer imports the other. Entries found remotely enter the local replica
 * through its `admitRemote`, inside the mesh; the API then reads its replica.
 */
export interface MeshPort {
  /** A local write was applied; queue it for replication (`encoded`: the value's bytes). Must not throw. */
  publish(keyspace: string, key: string, entry: Entry, encoded?: Uint8Array): void
  /**
   * Resolves once enough other regions applied the writes (one batch) for `level`.
   * @throws AckTimeoutError when `timeoutMs` passes first
   */
  acknowledge(
    keyspace: string,
    writes: readonly { key: string; entry: Entry }[],
    level: RemoteAckLevel,
    timeoutMs: number,
  ): Promise<void>
  /**
   * Asks peers for `key` on a local miss, same region first (hedged after about one
   * RTT), then peers of other regions whose RTT is below `remoteBudgetMs` (0: none), and
   * admits what the first holder returns. @returns true when an entry was admitted
   */
  lookup(keyspace: string, key: string, remoteBudgetMs: number): Promise<boolean>
  /**
   * Asks peers (`quorum`: a majority of regions; `nearest`: the best few) for their newest
   * version of `key` and admits it.
   * @throws TimeoutError when too few answer in time
   */
  readRemote(
    keyspace: string,
    key: string,
    level: 'quorum' | 'nearest',
    timeoutMs: number,
  ): Promise<void>
  /**
   * Before calling `load` on a miss: asks the key's owner node (among this region's
   * members, or the whole mesh's) whether another node is loading it. @returns true when
   * that node's value arrived and was admitted; false when this node should load (it
   * holds the lease, or the owner is unreachable)
   */
  coordinateLoad(keyspace: string, key: string, scope: 'region' | 'mesh'): Promise<boolean>
  /** Connected peers (region known) that a write to `keyspace` reaches now. */
  readyPeers(keyspace: string): number
  /**
   * Resolves once the node caught up: one anti-entropy round with a peer of every region
   * it reaches, or the ready timeout passed.
   */
  readonly ready: Promise<void>
  /** True once {@link ready} resolved. */
  readonly isReady: boolean
  /** Multiaddrs (with `/p2p/<id>`) this node listens on. */
  addresses(): string[]
  /** Publishes queued batches now. */
  flush(): void
  stats(): MeshStats
  /** Operations for tools, tests and the HTTP admin routes. */
  readonly admin: MeshAdmin
  /** Flushes pending batches and stops the node, bounded in time. */
  close(): Promise<void>
}

/** Operator actions on a mesh node (partitions, repairs, inspection). */
export interface MeshAdmin {
  /** Connected peers, best first. */
  peers(): PeerStats[]
  /** Cuts this node off from `peerIds` until {@link unblock}. */
  block(peerIds: string[]): Promise<void>
  /** Lifts blocks (all when no ids are given); the redial loop reconnects and sync repairs. */
  unblock(peerIds?: string[]): void
  /** Peers cut off by {@link block}. */
  blockedPeers(): string[]
  /** Reconciles one keyspace with one peer now. @returns entries pulled plus pushed, -1 when the session failed */
  syncWith(peerId: string, keyspace: string): Promise<number>
  /** Peers that subscribe to `keyspace` (connected or not yet known by region). */
  subscribers(keyspace: string): number
  /**
   * The whole mesh as this node sees it: the region x region lag matrix, every member
   * with its relay role, clock, links and flags, the links to draw. Built from the
   * summaries members put in their announcements (at most an announce interval old, or a
   * ping interval for a change of flags); asks no peer anything. Cached for 1 s.
   */
  view(): MeshView
}
