import type { Clock } from '../clock/clock.js'
import type { MeshCounters } from '../ports/mesh-options.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import type { WireLimits } from '../replication/limits.js'
import type { BatchSigner, OriginKeys } from './batch-signing.js'
import type { ResolvedMeshOptions } from './defaults.js'
import type { MeshLibp2p } from './libp2p-node.js'
import type { PeerGate } from './peer-gate.js'
import type { PeerTable } from './peer-table.js'
import type { StreamPool } from './rpc.js'
import type { StageTrace } from './stage-trace.js'

/** What the parts of a mesh node share: built once by `MeshNode`, passed to each part. */
export interface MeshContext {
  readonly node: MeshLibp2p
  /** The node's keyspace replicas: where remote entries are admitted. */
  readonly replicas: ReplicaRegistry
  readonly region: string
  /** This node's peer id. */
  readonly self: string
  /** The node's one clock: wall time corrected to the mesh, monotonic time, timers. */
  readonly clock: Clock
  readonly opts: ResolvedMeshOptions
  readonly limits: WireLimits
  readonly counters: MeshCounters
  readonly peers: PeerTable
  readonly gate: PeerGate
  /** Request streams negotiated ahead of use. */
  readonly pool: StreamPool
  /** Signs this node's batches (the origin's signature travels end-to-end). */
  readonly signer: BatchSigner
  /** Verifies other origins' batch signatures. */
  readonly originKeys: OriginKeys
  /** Per-stage durations of replication (`stats().mesh.stages`). */
  readonly trace: StageTrace
  /** True once the node started closing. */
  readonly isClosed: () => boolean
  /** This start's incarnation, when the composition root chose it (see `Relay`). */
  readonly incarnation?: number | undefined
}
