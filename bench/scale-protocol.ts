/**
 * Messages between bench:scale (the main process, which only orchestrates) and its host
 * processes (bench/scale-host.ts), each running several nodes and, in a worker thread,
 * the simulated WAN's proxies for those nodes (bench/scale-wan.ts).
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

/** Topology bounds passed as `mesh: { localPeers, remotePeers }`. */
export interface MeshBounds {
  localPeers: number
  remotePeers: number
}

/** Proxy routes per dialling region: `host:port` of a node -> the proxy that delays traffic to it. */
export type Routes = Record<string, Record<string, string>>

/** Main -> host. */
export type HostCommand =
  /** Starts this host's WAN proxies for `nodes` (before any node starts); answers their routes. */
  | { t: 'wan'; nodes: NodeSpec[] }
  /** The routes of every host's proxies, merged. */
  | { t: 'routes'; routes: Routes }
  | { t: 'start'; nodes: NodeSpec[]; bounds: MeshBounds }
  | { t: 'state' }
  | { t: 'cpu' }
  /**
   * Writes for `ms`: each node in `writers` (all of this host's when undefined) at
   * `rate` writes/s, keys `phase:idx:i`.
   */
  | { t: 'write'; phase: string; writers: number[] | undefined; rate: number; ms: number }
  | { t: 'probe'; idx: number }
  | { t: 'count'; phase: string }
  | { t: 'lags'; phase: string }
  | { t: 'counters' }
  /** Cuts `region` off from every other region in this host's proxies (undefined: heals). */
  | { t: 'cut'; region: string | undefined }
  /**
   * Starts V8's sampling CPU profiler on this host's main thread (node:inspector: the
   * profiler and file format of `--cpu-prof`; the WAN worker thread is not in it).
   */
  | { t: 'profile-start'; intervalUs: number }
  /** Stops the profile and writes it to `file` (a .cpuprofile). */
  | { t: 'profile-stop'; file: string }
  | { t: 'close' }

/** What a started node reports. */
export interface StartedNode {
  idx: number
  peerId: string
  address: string
}

/** A node's view of the mesh while it forms. */
export interface NodeState {
  /** Its peer id. */
  self: string
  /** Members it knows, itself included. */
  members: number
  /** Its planned links: link plan (local and remote) and relay neighbors. */
  planned: string[]
  /** Peers connected now. */
  connected: string[]
  region: string
  /** The hub of its region in its own plan (its own id when it is the hub). */
  hubId: string | undefined
  /** True when it is its region's hub. */
  hub: boolean
  /**
   * Connected members its relay plan leaves out as down (marked down over
   * `relayFailoverMs` ago and still marked though connected): ids.
   */
  downButConnected: string[]
}

/** Cumulative CPU of a host, µs, and its memory. */
export interface HostCpu {
  /** process.cpuUsage() user + system: every thread of the host. */
  processUs: number
  /** The WAN worker thread's own CPU (process.threadCpuUsage() inside it). */
  simUs: number
  rss: number
  /** RSS when the first node started (the bench, the WAN worker and its proxies loaded). */
  rssBefore: number
  /** Bytes the host's proxies carried between different regions, since start. */
  wanBytes: number
  /** Event-loop delay of the host's main thread since the last 'cpu', ms. */
  loopP99Ms: number
}

/** Replication counters summed over a host's nodes (stats().mesh.replication). */
export interface HostCounters {
  batchesOut: number
  recordsOut: number
  recordsIn: number
  duplicates: number
  framesIn: number
  syncPulled: number
  signaturesChecked: number
  /** Per stage of the write path (stats().mesh.stages), the nodes' p50 and p99 estimates, ms. */
  stages: Record<string, { p50: number[]; p99: number[] }>
}

/** Host -> main, in answer to the command of the same `t`. */
export type HostReply =
  | { t: 'wan'; routes: Routes }
  | { t: 'routes' }
  | { t: 'start'; nodes: StartedNode[]; error?: string }
  | { t: 'state'; nodes: Record<number, NodeState> }
  | ({ t: 'cpu' } & HostCpu)
  | { t: 'write'; written: Record<number, number> }
  | { t: 'probe' }
  /** Keys of the phase each node holds (own and received), and those it received. */
  | { t: 'count'; held: Record<number, number>; received: Record<number, number> }
  | { t: 'lags'; lags: Record<string, number[]> }
  | ({ t: 'counters' } & HostCounters)
  | { t: 'cut' }
  | { t: 'profile-start' }
  /**
   * The main thread's CPU (process.threadCpuUsage()) while profiling, µs, the wall time,
   * ms, and what the replication counters of this host's nodes (stats().mesh.replication)
   * grew by meanwhile.
   */
  | {
      t: 'profile-stop'
      threadCpuUs: number
      wallMs: number
      counters: Record<string, number>
    }
  | { t: 'close' }

/** Main thread of a host -> its WAN worker. */
export type WanCommand =
  | { t: 'add'; nodes: { region: string; listen: string }[] }
  | { t: 'cut'; region: string | undefined }
  | { t: 'stats' }
  | { t: 'close' }

/** WAN worker -> main thread of its host. */
export type WanReply =
  | { t: 'add'; routes: Routes }
  | { t: 'cut' }
  | { t: 'stats'; cpuUs: number; wanBytes: number }
  | { t: 'close' }
