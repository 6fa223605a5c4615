import { hash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { WIRE_LIMITS } from '../replication/limits.js'
import { INBOUND_DEFAULTS, InboundGate, type InboundGateOptions } from './inbound-gate.js'
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
  /**
   * Gossipsub's application score of a peer: {@link REMOTE_REGION_SCORE} for peers of other
   * regions keeps the gossipsub mesh (which forwards) inside the region, while the
   * writer's flood publish still reaches every peer it is connected to.
   */
  appSpecificScore?: (peerId: string) => number
  /** Bounds on inbound connections that have not authenticated (docs/decisions/outsider-flood.md). */
  inbound?: InboundGateOptions
}

/**
 * Application score of a peer in another region: below 0, so gossipsub never grafts it
 * into its forwarding mesh, whatever it earns for first deliveries (at most +10 here);
 * above the gossip threshold (-30), so IHAVE gossip still crosses regions as a backup.
 */
export const REMOTE_REGION_SCORE = -15

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
 * Builds the libp2p stack: TCP, Noise, Yamux, identify, ping and gossipsub with flood
 * publish (a writer's batch crosses the WAN once, straight to every subscriber), and
 * scoring tuned for nodes that may share one IP.
 *
 * Gossipsub runs `StrictNoSign`: meshcache signs each batch itself (the origin's Ed25519
 * signature heads the message, verified with a cached key: docs/decisions/batch-signing.md),
 * so a message is identified by the SHA-256 of its bytes. Content addressing matters: the
 * seen-cache is filled before the topic validator runs, so an id a forger could copy
 * (origin and sequence number) would let a forged copy shadow the real message.
 */
export async function createMeshLibp2p(options: MeshLibp2pOptions): Promise<MeshLibp2p> {
  // Unauthenticated inbound connections are bounded in number, per host and in time; with
  // a network key they authenticate when the protector sees the key proven, otherwise
  // when Noise proves the peer id (docs/decisions/outsider-flood.md).
  const inbound = new InboundGate(options.inbound)
  const node = await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen },
    connectionGater: inbound.gater(options.gate?.gater()),
    // Our pnet protector, not @libp2p/pnet's preSharedKey: docs/decisions/pnet.md.
    ...(options.networkKey
      ? {
          connectionProtector: privateNetwork({
            psk: options.networkKey,
            onKeyProven: (conn) => inbound.authenticated(conn),
          }),
        }
      : {}),
    transports: [options.dialRewrite ? rewritingTcp(options.dialRewrite) : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // Every node of a region may dial us from one address (loopback, NAT): do not
      // rate-limit inbound connections per host.
      inboundConnectionThreshold: 1_000,
      // The inbound gate bounds unauthenticated connections first and pushes out the
      // oldest when full; libp2p's own cap, which refuses newcomers instead (300 idle
      // outsider connections kept honest nodes out: issue 23), sits above it.
      maxIncomingPendingConnections: inbound.maxTotal + INBOUND_DEFAULTS.upgradingHeadroom,
      inboundUpgradeTimeout: INBOUND_DEFAULTS.upgradeTimeoutMs,
      dialTimeout: 5_000,
    },
    // libp2p's connection monitor pings every connection every 10 s and aborts it when a
    // ping fails: on a busy host (a 5 s timeout) or when its ping collides with meshcache's
    // own RTT ping on the same protocol (one outbound ping stream per connection). An abort
    // throws away every queued gossip batch after publish() resolved, a silent gap that
    // only anti-entropy repaired (a 200k-write burst: 35k-188k writes behind). meshcache
    // measures RTT and failures itself (Membership.pingAll) and TCP tells when a peer is
    // gone, so the monitor is off.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (msg) => hash('sha256', msg.data, 'buffer') as unknown as Uint8Array,
        floodPublish: true,
        // A lone node (or the first of a region) still accepts writes; they are counted as
        // unsent and anti-entropy repairs them later.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Messages carry many writes; the heartbeat-driven gossip is the backup path. One
        // RPC may carry many batches (gossipsub answers an IWANT with every requested
        // message at once): past this the reader drops the peer, so it is well above one
        // batch (anti-entropy repairs what a dropped frame carried).
        maxInboundDataLength: 16 * WIRE_LIMITS.maxBatchBytes,
        // A writer floods each batch to every linked subscriber (floodPublish). The
        // forwarding mesh stays inside the region (appSpecificScore) and forwards only in
        // meshes larger than a full mesh (the receiver accepts a writer's own copy without
        // forwarding otherwise): D = 3 spreads a batch through a region of links in a few
        // hops, each ~1 ms.
        // Relayed copies are dropped by the seen-cache (message id = hash of the bytes)
        // before the validator, so a signature is verified once per message.
        D: 3,
        Dlo: 2,
        Dhi: 5,
        Dout: 1,
        scoreParams: {
          // Many nodes on one IP is normal here (loopback, NAT, sidecars on one host).
          IPColocationFactorWeight: 0,
          appSpecificScore: options.appSpecificScore ?? (() => 0),
          appSpecificWeight: 1,
        },
        scoreThresholds: {
          // Other regions' peers (REMOTE_REGION_SCORE) still exchange gossip.
          gossipThreshold: -30,
          publishThreshold: -50,
          graylistThreshold: -80,
        },
      }),
    },
  })
  // Hosts that members connect from (or that we dialled) are preferred when the gate is full.
  node.addEventListener('connection:open', (evt) => inbound.know(evt.detail.remoteAddr))
  node.addEventListener('stop', () => inbound.stop())
  return node as unknown as MeshLibp2p
}
