import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { InvalidMessageError } from '../errors.js'
import { msgpack } from '../replication/value-codec.js'

/** Largest request or response frame of meshcache's request/response protocols, bytes. */
export const MAX_RPC_FRAME_BYTES = 4 * 1_048_576

/**
 * One request, one response over a fresh stream: msgpack in length-prefixed frames.
 * @throws on dial failure, timeout (`signal`), oversized or malformed response
 */
export async function request(
  node: Libp2p,
  peer: PeerId,
  protocol: string,
  body: unknown,
  timeoutMs: number,
  bytes?: { out: number; in: number },
): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await node.dialProtocol(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RPC_FRAME_BYTES })
    const frame = msgpack.pack(body)
    await lp.write(frame, { signal })
    const res = await lp.read({ signal })
    if (bytes) {
      bytes.out += frame.length
      bytes.in += res.byteLength
    }
    await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')))
    try {
      return msgpack.unpack(res.subarray())
    } catch (cause) {
      throw new InvalidMessageError(`malformed ${protocol} response`, { cause })
    }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** Handles one request: returns the response body, or throws to reset the stream. */
export type RequestHandler = (body: unknown, from: PeerId) => Promise<unknown> | unknown

/**
 * Registers a request/response protocol. Malformed requests reset the stream and are
 * counted by `onInvalid`; they never throw out of the handler.
 */
export async function handle(
  node: Libp2p,
  protocol: string,
  handler: RequestHandler,
  onInvalid: (from: PeerId, err: unknown) => void,
  timeoutMs = 10_000,
): Promise<void> {
  await node.handle(
    protocol,
    async (stream: Stream, connection) => {
      const signal = AbortSignal.timeout(timeoutMs)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_RPC_FRAME_BYTES })
        const req = await lp.read({ signal })
        let body: unknown
        try {
          body = msgpack.unpack(req.subarray())
        } catch (cause) {
          throw new InvalidMessageError(`malformed ${protocol} request`, { cause })
        }
        const res = await handler(body, connection.remotePeer)
        await lp.write(msgpack.pack(res), { signal })
        await stream.close({ signal })
      } catch (err) {
        onInvalid(connection.remotePeer, err)
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: 256, maxOutboundStreams: 256 },
  )
}
