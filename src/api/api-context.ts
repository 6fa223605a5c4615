import type { Clock } from '../clock/clock.js'
import type { HybridClock } from '../clock/hlc.js'
import type { MeshPort } from '../ports/mesh-port.js'

/** What the keyspaces of one cache share. */
export interface ApiContext {
  /** Stamps this node's writes. */
  readonly hlc: HybridClock
  /** The node's one clock: wall time corrected to the mesh, timers. */
  readonly clock: Clock
  readonly region: string
  /** Wall-clock ms for reads: read once per synchronous turn (see read-clock.ts). */
  readonly readNow: () => number
  /** The mesh, when this cache is a node of one. */
  readonly mesh: MeshPort | undefined
  /** Set once the cache is closed: every call is refused. */
  closed: boolean
}
