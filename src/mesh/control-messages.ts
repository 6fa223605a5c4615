/**
 * The wire form of a link's control messages (src/mesh/link-control.ts decides when they
 * go): a ping `[0, t1, correction, roots, digest]` (+ `echo t3, t4` of the peer's last
 * pong), a pong `[1, t1, t2, t3, correction, roots, digest]`, msgpack arrays. Times are raw
 * wall-clock readings (ms), `correction` the sender's clock correction, `roots` its open
 * keyspaces' digest roots, `digest` its member-list digest. Fields the policy checks
 * against its own state (an echo, a pong's times) are returned as they came.
 * @module
 */
import { msgpack, unpackStrict } from '../replication/value-codec.js'

const PING = 0
const PONG = 1
/** Most keyspace roots one control message carries. */
export const MAX_ROOTS = 64

/** A keyspace's digest root as a control message carries it. */
export type Root = [keyspace: string, root: string]

/** A ping as read: `t1` is a finite number; the rest as sent. */
export interface PingMessage {
  type: 'ping'
  t1: number
  /** The sender's clock correction, when it sent a finite number. */
  correction: number | undefined
  roots: unknown
  digest: unknown
  /** The send time of this node's last pong to the sender, echoed (undefined: none). */
  echo: unknown
  /** When the sender heard that pong, on its raw clock. */
  t4: unknown
}

/** A pong as read: times as sent (checked against the ping they answer). */
export interface PongMessage {
  type: 'pong'
  t1: unknown
  t2: unknown
  t3: unknown
  /** The sender's clock correction, when it sent a finite number. */
  correction: number | undefined
  roots: unknown
  digest: unknown
}

const finite = (v: unknown): number | undefined => (Number.isFinite(v) ? (v as number) : undefined)

/** Reads a control item's body; undefined when it is not a ping or pong of a known shape. */
export function readControl(bytes: Uint8Array): PingMessage | PongMessage | undefined {
  let body: unknown
  try {
    body = unpackStrict(bytes)
  } catch {
    return undefined
  }
  if (!Array.isArray(body)) return undefined
  if (body[0] === PING && (body.length === 5 || body.length === 7) && Number.isFinite(body[1])) {
    const [, t1, correction, roots, digest, echo, t4] = body as unknown[]
    return {
      type: 'ping',
      t1: t1 as number,
      correction: finite(correction),
      roots,
      digest,
      echo,
      t4,
    }
  }
  if (body[0] === PONG && body.length === 7) {
    const [, t1, t2, t3, correction, roots, digest] = body as unknown[]
    return { type: 'pong', t1, t2, t3, correction: finite(correction), roots, digest }
  }
  return undefined
}

/** A ping's bytes; `echo` is the peer's last pong (its send time, and when it arrived here). */
export function pingBytes(
  t1: number,
  correction: number,
  roots: Root[],
  digest: string,
  echo: { t3: number; t4: number } | undefined,
): Uint8Array {
  const body: unknown[] = [PING, t1, correction, roots, digest]
  if (echo !== undefined) body.push(echo.t3, echo.t4)
  return msgpack.pack(body)
}

/** A pong's bytes: the ping's `t1`, when it arrived (`t2`), when the pong left (`t3`). */
export function pongBytes(
  t1: number,
  t2: number,
  t3: number,
  correction: number,
  roots: Root[],
  digest: string,
): Uint8Array {
  return msgpack.pack([PONG, t1, t2, t3, correction, roots, digest])
}

/** A digest root's text: its 32-bit lanes in hex. */
export function rootOf(lanes: ArrayLike<number>): string {
  let out = ''
  for (let i = 0; i < lanes.length; i++) out += (lanes[i]! >>> 0).toString(16).padStart(8, '0')
  return out
}
