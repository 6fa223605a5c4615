import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ComponentLogger, Libp2p, Logger, PeerStore, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Clock } from '../clock/clock.js'
import { MESH_CONSTANTS } from './defaults.js'
import { INBOUND_DEFAULTS, InboundGate, type InboundGateOptions } from './inbound-gate.js'
import { keptSigningKey, noiseCrypto } from './noise-crypto.js'
import type { PeerGate } from './peer-gate.js'
import { privateNetwork } from './pnet-protector.js'
import { coalescingTcp } from './tcp-writes.js'
import { halfWindowUpdates } from './yamux-window.js'

/** A libp2p node as meshcache runs it (no libp2p services: docs/decisions/join-cost.md). */
export type MeshLibp2p = Libp2p<Record<string, unknown>>

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
  /** Bounds on inbound connections that have not authenticated (docs/decisions/outsider-flood.md). */
  inbound?: Omit<InboundGateOptions, 'clock'>
  /** The node's clock (the inbound gate's deadlines). @default the system clock */
  clock?: Clock
}

/** A libp2p logger that logs nothing, and its scopes (which are itself). */
const SILENT: Logger = Object.assign(() => undefined, {
  error: () => undefined,
  trace: () => undefined,
  enabled: false,
  newScope: () => SILENT,
})

/**
 * libp2p's logger: its own (weald, `DEBUG=libp2p:*`) when `DEBUG` names libp2p, else one
 * that does nothing. libp2p makes a logger per connection and per stream, and weald asks
 * `tty.isatty` for each: ~10 % of the CPU a stream costs to open, with nothing logged.
 */
export function libp2pLogger(debug = process.env.DEBUG): ComponentLogger | undefined {
  if (debug !== undefined && (debug.includes('libp2p') || debug.split(',').includes('*')))
    return undefined
  return { forComponent: () => SILENT }
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
 * Builds the libp2p stack: TCP, Noise, Yamux and identify. Replication runs on
 * meshcache's own relay protocol over long-lived streams (src/mesh/relay*.ts), not on
 * gossipsub: per message, gossipsub's protobuf framing, seen cache, scoring and
 * heartbeat cost more than the writes they carried, and its model (every subscriber gets
 * every message from its mesh) cannot send a batch across the WAN once per region
 * (docs/decisions/relay.md has the measurements).
 */
export async function createMeshLibp2p(options: MeshLibp2pOptions): Promise<MeshLibp2p> {
  halfWindowUpdates()
  // Unauthenticated inbound connections are bounded in number, per host and in time; with
  // a network key they authenticate when the protector sees the key proven, otherwise
  // when Noise proves the peer id (docs/decisions/outsider-flood.md).
  const inbound = new InboundGate({
    ...options.inbound,
    ...(options.clock ? { clock: options.clock } : {}),
  })
  const logger = libp2pLogger()
  const node = await createLibp2p({
    ...(logger ? { logger } : {}),
    // Signs each handshake's identity payload with one key object: noise-crypto.md.
    privateKey: keptSigningKey(options.privateKey ?? (await generateKeyPair('Ed25519'))),
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
    transports: [coalescingTcp(options.dialRewrite ? rewritingTcp(options.dialRewrite) : tcp())],
    // Key objects kept per key instead of parsed per use: docs/decisions/noise-crypto.md.
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    // No yamux keep-alive pings (one per connection every 30 s by default): link control
    // knows each link is alive from its traffic or its own ping, and TCP tells a peer gone.
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionManager: {
      // Every node of a region may dial us from one address (loopback, NAT): do not
      // rate-limit inbound connections per host.
      inboundConnectionThreshold: 1_000,
      // The inbound gate bounds unauthenticated connections first and pushes out the
      // oldest when full; libp2p's own cap, which refuses newcomers instead (300 idle
      // outsider connections kept honest nodes out: issue 23), sits above it.
      maxIncomingPendingConnections: inbound.maxTotal + INBOUND_DEFAULTS.upgradingHeadroom,
      inboundUpgradeTimeout: INBOUND_DEFAULTS.upgradeTimeoutMs,
      dialTimeout: MESH_CONSTANTS.connectTimeoutMs,
    },
    // libp2p's connection monitor opens a ping stream on every connection every 10 s and
    // aborts the connection when a ping fails (a 5 s timeout on a busy host): an abort
    // threw away queued batches after the write returned, a silent gap only anti-entropy
    // repaired. meshcache measures RTT, clocks and liveness itself with one control item
    // per quiet link on the relay stream (LinkControl) and TCP tells when a peer is gone,
    // so the monitor is off and the ping protocol is not served.
    connectionMonitor: { enabled: false },
    services: {},
  })
  recordProtocolsOnce(node)
  // Hosts that members connect from (or that we dialled) are preferred when the gate is full.
  node.addEventListener('connection:open', (evt) => inbound.know(evt.detail.remoteAddr))
  node.addEventListener('stop', () => inbound.stop())
  return node as unknown as MeshLibp2p
}

/**
 * libp2p writes the protocol of every stream it opens or accepts into the peer store, at
 * both ends (a lock, a record decoded and encoded again, an event): ~6 % of a stream's
 * CPU, for a list nothing in meshcache reads. The first stream of each protocol per
 * connected peer still writes it; later ones skip a write that would change nothing.
 */
function recordProtocolsOnce(node: Libp2p): void {
  const store = (node as unknown as { components: { peerStore: PeerStore } }).components.peerStore
  const merge = store.merge.bind(store)
  const recorded = new Map<string, Set<string>>()
  node.addEventListener('peer:disconnect', (evt) => recorded.delete(evt.detail.toString()))
  store.merge = (id, data, options) => {
    const protocols = data.protocols
    if (protocols === undefined || Object.keys(data).length !== 1 || id.equals(node.peerId))
      return merge(id, data, options)
    const key = id.toString()
    let seen = recorded.get(key)
    if (seen !== undefined && protocols.every((p) => seen!.has(p)))
      // Its only caller (a stream's negotiation) ignores the result.
      return Promise.resolve(undefined as unknown as Awaited<ReturnType<PeerStore['merge']>>)
    seen ??= new Set()
    recorded.set(key, seen)
    for (const p of protocols) seen.add(p)
    return merge(id, data, options)
  }
}

/**
 * libp2p 3.3: the address manager debounces a peer-store update by 1 s on every transport
 * close, which `stop()` emits, and never cancels it: the process would stay alive for that
 * second after a node's close. Call after `stop()`.
 */
export function cancelAddressDebounce(node: unknown): void {
  const internals = node as {
    components?: { addressManager?: { _updatePeerStoreAddresses?: { stop?: () => void } } }
  }
  internals.components?.addressManager?._updatePeerStoreAddresses?.stop?.()
}
