/**
 * What {@link LinkControl} remembers per link: liveness, the clock exchange in flight and
 * the last ones each way, and what the peer's roots and member digest last showed.
 * @module
 */

/** One link's control state (times are monotonic ms unless they say raw). */
export interface LinkState {
  /** Monotonic ms of the last frame heard from the peer (traffic is liveness). */
  heard: number
  /** Monotonic ms of the last clock sample with the peer. */
  sampled: number
  /** The ping in flight: its raw send time and monotonic send time. */
  pending: { t1: number; at: number } | undefined
  /** The clock correction this node last told the peer (ping or pong). */
  told: number
  /** Our last pong to the peer: its raw send time (the peer's next ping echoes it). */
  pongSent: number | undefined
  /** Our raw clock minus the monotonic one when that pong left. */
  pongStep: number
  /**
   * Our raw clock minus the monotonic one when this end last sampled the peer's clock (NaN
   * before): a step of our clock since makes that sample wrong, news to the link.
   */
  step: number
  /**
   * The peer's last pong to us: its raw send time and our raw receive time (echoed next),
   * and our raw clock minus the monotonic one then (a pong heard before our clock stepped
   * is not echoed: the peer's sample would mix our clock before and after the step).
   */
  pongHeard: { t3: number; t4: number; step: number } | undefined
  /** Monotonic ms of the last repair started because roots differed, per keyspace. */
  repaired: Map<string, number>
  /** Monotonic ms when the peer's roots last matched ours for every keyspace both hold. */
  inSync: number
  /** This node's writes moved (records in, out, pulled by sync) when that match was seen. */
  inSyncMoved: number
  /** Monotonic ms when the peer's roots and member digest last both matched ours. */
  settled: number
  /** Something changed (members, a link went down): ping at the next round, quiet or not. */
  news: boolean
  /** Monotonic ms of the last member-list exchange started because digests differed. */
  exchanged: number
  /** Monotonic ms this end last pinged back after a ping it could take no sample from. */
  echoless: number
}

/** A link's state before any exchange. */
export function newLinkState(): LinkState {
  return {
    heard: Number.NEGATIVE_INFINITY,
    sampled: Number.NEGATIVE_INFINITY,
    pending: undefined,
    told: 0,
    pongSent: undefined,
    pongStep: 0,
    step: Number.NaN,
    pongHeard: undefined,
    repaired: new Map(),
    inSync: Number.NEGATIVE_INFINITY,
    inSyncMoved: 0,
    settled: Number.NEGATIVE_INFINITY,
    news: false,
    exchanged: Number.NEGATIVE_INFINITY,
    echoless: Number.NEGATIVE_INFINITY,
  }
}
