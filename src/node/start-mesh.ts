import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Clock } from '../clock/clock.js'
import type { ClockOffsets } from '../clock/clock-offsets.js'
import { InvalidOptionError, ListenError } from '../errors.js'
import { createMeshLibp2p, type MeshLibp2p } from '../mesh/libp2p-node.js'
import { MeshNode } from '../mesh/mesh-node.js'
import { parseNetworkKey } from '../mesh/network-key.js'
import { PeerGate } from '../mesh/peer-gate.js'
import { loadOrCreateIdentity } from '../persist/identity.js'
import { nextIncarnation } from '../persist/incarnation.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import type { ResolvedMeshStart } from './cache-options.js'

/** A mesh node whose libp2p stack listens, before it is wired to the replicas and started. */
export interface PreparedMesh {
  /** The node's peer id: its id in versions. */
  readonly peerId: string
  /** Builds the mesh adapter over `replicas` and sets their admission policy. */
  attach(replicas: ReplicaRegistry, region: string, offsets: ClockOffsets): MeshNode
  /** Registers protocols, dials the bootstrap peers, starts the timers. */
  start(): Promise<void>
  /** Stops libp2p when building the rest failed. */
  abort(): Promise<void>
}

/** Checks that every entry is a peer id. @throws InvalidOptionError */
function checkPeerIds(ids: string[], option: string): void {
  for (const id of ids) {
    try {
      peerIdFromString(id)
    } catch {
      throw new InvalidOptionError(`${option}: '${id}' is not a libp2p peer id (12D3KooW...)`)
    }
  }
}

/**
 * Checks the mesh options that need libp2p to check (multiaddrs, peer ids, the network
 * key), loads or creates the identity in `dataDir`, and starts libp2p listening.
 * @param clock - the node's one clock, for libp2p's inbound gate and the mesh node
 * @throws InvalidOptionError for bad addresses, peer ids, keys or a listen address in use
 */
export async function prepareMesh(
  addrs: ResolvedMeshStart,
  dataDir: string | undefined,
  clock: Clock,
): Promise<PreparedMesh> {
  const { opts, limits } = addrs
  for (const addr of [...addrs.listen, ...addrs.peers]) {
    try {
      multiaddr(addr)
    } catch {
      throw new InvalidOptionError(`'${addr}' is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/7946)`)
    }
  }
  checkPeerIds(
    addrs.peers.map((a) => a.slice(a.lastIndexOf('/p2p/') + 5)),
    'peers',
  )
  if (addrs.allowPeers !== undefined) checkPeerIds(addrs.allowPeers, 'allowPeers')
  const networkKey = addrs.networkKey === undefined ? undefined : parseNetworkKey(addrs.networkKey)
  // The identity key signs every batch this node writes, so it is always made here.
  const privateKey =
    dataDir === undefined ? await generateKeyPair('Ed25519') : await loadOrCreateIdentity(dataDir)
  const gate = new PeerGate(addrs.allowPeers)
  let node: MeshLibp2p
  try {
    node = await createMeshLibp2p({
      listen: addrs.listen,
      gate,
      privateKey,
      clock,
      ...(networkKey ? { networkKey } : {}),
      ...(addrs.dialRewrite ? { dialRewrite: addrs.dialRewrite } : {}),
    })
  } catch (cause) {
    throw new ListenError(
      `cannot listen on ${addrs.listen.join(', ')}: ${listenFailure(cause as Error)}`,
      { cause },
    )
  }
  const peerId = node.peerId.toString()
  let mesh: MeshNode | undefined
  return {
    peerId,
    attach(replicas, region, offsets) {
      // Own writes are always admitted (a snapshot may hold them); others by the allowlist.
      replicas.admitOnly((n) => n === peerId || gate.admits(n))
      mesh = new MeshNode({
        node,
        replicas,
        region,
        clock,
        opts,
        limits,
        gate,
        privateKey,
        offsets,
        catchUp: dataDir !== undefined,
        incarnation: nextIncarnation(dataDir, clock.now()),
      })
      return mesh
    },
    start: () => mesh!.start(addrs.peers),
    abort: async () => {
      await node.stop()
    },
  }
}

/** The cause of a listen failure in one line: the system's words, without libp2p's advice. */
function listenFailure(err: Error): string {
  const sys = /\b(E[A-Z]+): ([^\n]*)/.exec(err.message)
  return sys ? `${sys[2]} (${sys[1]})` : (err.message.split('\n')[0] ?? 'failed')
}
