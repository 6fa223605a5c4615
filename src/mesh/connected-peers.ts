import type { MeshLibp2p } from './libp2p-node.js'

/**
 * The ids of the peers connected now, each once. libp2p's `getPeers()` rebuilds every peer
 * id from its string (a base58 decode and a new id to encode again): on the timers of a
 * node with 24 links that was an eighth of its idle CPU (issue 25).
 */
export function connectedPeerIds(node: MeshLibp2p): string[] {
  const ids = new Set<string>()
  for (const c of node.getConnections()) ids.add(c.remotePeer.toString())
  return [...ids]
}

/** True when no peer is connected. */
export function isAlone(node: MeshLibp2p): boolean {
  return node.getConnections().length === 0
}
