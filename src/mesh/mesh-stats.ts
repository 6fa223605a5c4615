import type { ClockOffsets } from '../clock/clock-offsets.js'
import type { MeshCounters, PeerStats } from '../ports/mesh-options.js'
import type { RejectCounts } from '../replication/reject-codes.js'
import type { RelayRole } from '../topology/relay-plan.js'
import type { RankedPeer } from './peer-table.js'
import type { RelayCounters } from './relay.js'
import type { RelayLinkCounters } from './relay-link-limits.js'

/** Zeroed replication counters of a mesh node; `rejected` is the replicas' shared count. */
export function zeroCounters(rejected: RejectCounts): MeshCounters {
  return {
    batchesOut: 0,
    wanBytesOut: 0,
    recordsOut: 0,
    batchesHeld: 0,
    batchesDropped: 0,
    duplicates: 0,
    relayed: 0,
    bytesOut: 0,
    framesOut: 0,
    framesIn: 0,
    framesFailed: 0,
    batchesIn: 0,
    recordsIn: 0,
    recordsApplied: 0,
    rejected,
    lookups: 0,
    lookupHits: 0,
    directWritesIn: 0,
    signaturesChecked: 0,
    vouchedOut: 0,
    vouchedWithheld: 0,
    syncSessions: 0,
    syncInSync: 0,
    syncDeferred: 0,
    syncErrors: 0,
    syncPulled: 0,
    syncPushed: 0,
    syncBytesOut: 0,
    syncBytesIn: 0,
  }
}

/** Connected peers as `stats()` shows them (best first), and how many per region. */
export function peerStats(
  ranked: readonly RankedPeer[],
  offsets: ClockOffsets,
): { peers: PeerStats[]; peersByRegion: Record<string, number> } {
  const peersByRegion: Record<string, number> = {}
  for (const p of ranked) peersByRegion[p.region!] = (peersByRegion[p.region!] ?? 0) + 1
  const peers = ranked.map((p) => {
    const clockOffsetMs = offsets.offsetOf(p.id)
    const clockCorrectionMs = offsets.reportedCorrectionOf(p.id)
    return {
      id: p.id,
      region: p.region,
      rttMs: p.rtt,
      score: p.score,
      failures: p.failures,
      ...(clockOffsetMs === undefined
        ? {}
        : { clockOffsetMs, clockSkewed: offsets.peerSkewed(p.id) }),
      ...(clockCorrectionMs === undefined ? {} : { clockCorrectionMs }),
      ...(p.mismatched?.size ? { configMismatch: [...p.mismatched] } : {}),
    }
  })
  return { peers, peersByRegion }
}

/** The replication counters `stats()` shows: the node's own, the relay's and its links'. */
export function replicationStats(
  counters: MeshCounters,
  relay: RelayCounters,
  links: { readonly counters: RelayLinkCounters; readonly wanBytesOut: number },
  queued: { batches: number; items: number },
): MeshCounters & { queued: number; queuedItems: number } {
  const c = links.counters
  return {
    ...counters,
    wanBytesOut: links.wanBytesOut,
    batchesHeld: relay.held,
    batchesDropped: counters.batchesDropped + c.itemsDropped,
    vouchedWithheld: counters.vouchedWithheld + c.vouchedWithheld,
    duplicates: relay.duplicates,
    relayed: relay.relayed,
    bytesOut: c.bytesOut,
    framesOut: c.framesOut,
    framesIn: c.framesIn,
    framesFailed: c.framesFailed,
    rejected: { ...counters.rejected },
    queued: queued.batches,
    queuedItems: queued.items,
  }
}

/** This node's place in the relay plan as `stats()` shows it. */
export function relayRoleStats(role: RelayRole | undefined): {
  hub: string | undefined
  parent: string | undefined
  children: string[]
  peerHubs: string[]
} {
  return {
    hub: role?.hub,
    parent: role?.parent,
    children: [...(role?.children ?? [])],
    peerHubs: [...(role?.peerHubs ?? [])],
  }
}
