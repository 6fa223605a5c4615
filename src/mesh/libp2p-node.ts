import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { WIRE_LIMITS } from '../replication/limits.js'
import type { PeerGate } from './peer-gate.js'
import { privateNetwork } from './pnet-protector.js'

/** The services a meshcache node runs on libp2p. */
export interface MeshServices {
  pubsub: GossipSub
  ping: Ping
  identify: unknown
}

/** A libp2p node with meshcache's services. */
export type MeshLibp2p = Libp2p<MeshServices & Record<string, unknown>>

/** Options of {@link createMeshLibp2p}. */
export interface MeshLibp2pOptions {
  listen: string[]
  privateKey?: PrivateKey
  /** Who may connect (allowlist, run-time blocks). */
  gate?: PeerGate
  /** Rewrites every dialled address (the WAN simulator routes dials through its proxies). */
  dialRewrite?: (ma: Multiaddr) => Multiaddr
  /** Pre-shared key (libp2p pnet swarm key text): only nodes holding it can connect at all. */
  networkKey?: Uint8Array
}

/** TCP whose dials go through `rewrite` first. */
function rewritingTcp(rewrite: (ma: Multiaddr) => Multiaddr): ReturnType<typeof tcp> {
  const factory = tcp()
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    transport.dial = (ma, options) => dial(rewrite(ma), options)
    return transport
  }
}

/**
 * Builds the libp2p stack: TCP, Noise, Yamux, identify, ping and gossipsub with
 * StrictSign and flood publish (a writer's batch crosses the WAN once, straight to
 * every subscriber), and scoring tuned for nodes that may share one IP.
 */
export async function createMeshLibp2p(options: MeshLibp2pOptions): Promise<MeshLibp2p> {
  const node = await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen },
    ...(options.gate ? { connectionGater: options.gate.gater() } : {}),
    // Our pnet protector, not @libp2p/pnet's preSharedKey: docs/decisions/pnet.md.
    ...(options.networkKey
      ? { connectionProtector: privateNetwork({ psk: options.networkKey }) }
      : {}),
    transports: [options.dialRewrite ? rewritingTcp(options.dialRewrite) : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // Every node of a region may dial us from one address (loopback, NAT): do not
      // rate-limit inbound connections per host.
      inboundConnectionThreshold: 1_000,
      maxIncomingPendingConnections: 256,
      dialTimeout: 5_000,
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        floodPublish: true,
        // A lone node (or the first of a region) still accepts writes; they are counted as
        // unsent and anti-entropy repairs them later.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Messages carry many writes; the heartbeat-driven gossip is the backup path.
        maxInboundDataLength: WIRE_LIMITS.maxBatchBytes + 4_096,
        // Every write is flooded straight to every subscriber (floodPublish, full mesh of
        // connections), so mesh forwarding is only a backup path: a small D halves the
        // duplicate traffic each node decodes (measured: lag p50 17 -> 8 ms with 6 writers
        // on loopback; docs/architecture.md).
        // Deduplicate by (origin, sequence number) before the signature check: without
        // this every relayed copy of a message is verified again (Ed25519, ~0.1 ms) before
        // the seen-cache drops it. Only validated messages enter this cache, so a forged
        // copy cannot shadow the real one.
        fastMsgIdFn: (msg) =>
          `${Buffer.from(msg.from ?? []).toString('base64')}:${Buffer.from(msg.seqno ?? []).toString('hex')}`,
        D: 2,
        Dlo: 1,
        Dhi: 3,
        scoreParams: {
          // Many nodes on one IP is normal here (loopback, NAT, sidecars on one host).
          IPColocationFactorWeight: 0,
        },
      }),
    },
  })
  return node as unknown as MeshLibp2p
}
