/**
 * Messages between bench:scale (the main process, which runs the simulated WAN) and its
 * host processes (bench/scale-host.ts), each running several nodes.
 */

/** One node a host starts. */
export interface NodeSpec {
  /** Index of the node in the run (0..N-1). */
  idx: number
  region: string
  /** Listen address, /ip4/127.0.R.N/tcp/PORT: the simulator knows it before the node starts. */
  listen: string
  /** Bootstrap peers (multiaddrs with /p2p/ id), or none for the seed. */
  peers: string[]
}

/** Topology bounds passed as `mesh: { localPeers, remotePeers }`, or none for today's full mesh. */
export interface MeshBounds {
  localPeers: number
  remotePeers: number
}

/** Main -> host. */
export type HostCommand =
  | { t: 'routes'; routes: Record<string, Record<string, string>> }
  | { t: 'start'; nodes: NodeSpec[]; bounds: MeshBounds | undefined }
  | { t: 'links' }
  | { t: 'cpu' }
  | { t: 'write'; phase: string; perNodeRate: number; ms: number }
  | { t: 'probe'; idx: number }
  | { t: 'count'; phase: string }
  | { t: 'lags'; phase: string }
  | { t: 'counters' }
  | { t: 'close' }

/** What a started node reports. */
export interface StartedNode {
  idx: number
  peerId: string
  address: string
}

/** Host -> main, in answer to the command of the same `t`. */
export type HostReply =
  | { t: 'routes' }
  | { t: 'start'; nodes: StartedNode[]; topology: boolean; error?: string }
  | { t: 'links'; links: Record<number, string[]> }
  | {
      t: 'cpu'
      userUs: number
      systemUs: number
      rss: number
      heapUsed: number
      /** Event-loop delay of the host since the last 'cpu', ms. */
      loopP99Ms: number
      loopMaxMs: number
    }
  | { t: 'write'; written: Record<number, number> }
  | { t: 'probe' }
  | { t: 'count'; counts: Record<number, number> }
  | { t: 'lags'; lags: Record<string, number[]> }
  | {
      t: 'counters'
      batchesOut: number
      recordsOut: number
      /** Per stage of the write path (stats().mesh.stages), the nodes' p50 and p99 estimates, ms. */
      stages: Record<string, { p50: number[]; p99: number[] }>
    }
  | { t: 'close' }
