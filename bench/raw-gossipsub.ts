/**
 * A plain libp2p gossipsub node for the anchors of bench:replication: TCP, Noise, Yamux,
 * identify and gossipsub with gossipsub's own defaults, except what meshcache's transport
 * also sets so the comparison is like for like: `StrictNoSign` with a SHA-256 message id
 * (meshcache signs its batches itself), flood publish, no emit to self, and a 1 MiB
 * message bound. No meshcache code on the path.
 */
import { hash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

export type RawNode = Libp2p<{ pubsub: GossipSub; identify: unknown }>

export const RAW_TOPIC = 'raw'

/** Header of an anchor message: send time (Date.now(), float64), sequence, writes carried. */
export const RAW_HEADER_BYTES = 16

export async function createRawGossipsub(host: string): Promise<RawNode> {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${host}/tcp/0`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (msg) => hash('sha256', msg.data, 'buffer') as unknown as Uint8Array,
        floodPublish: true,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        maxInboundDataLength: 1 << 20,
      }),
    },
  })
  return node as unknown as RawNode
}

/** An anchor message of `bytes` bytes standing for `writes` writes. */
export function rawMessage(seq: number, bytes: number, writes: number): Uint8Array {
  const b = new Uint8Array(Math.max(RAW_HEADER_BYTES, bytes))
  const v = new DataView(b.buffer)
  v.setFloat64(0, Date.now())
  v.setUint32(8, seq)
  v.setUint32(12, writes)
  return b
}

/** The send time and the writes an anchor message carries. */
export function readRawMessage(d: Uint8Array): { sentAt: number; writes: number } {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength)
  return { sentAt: v.getFloat64(0), writes: v.getUint32(12) }
}
