import type { PeerId } from '@libp2p/interface'
import type { ClockOffsets } from '../clock/clock-offsets.js'
import { InvalidMessageError } from '../errors.js'
import { logger } from '../log.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import { request } from './rpc.js'
import { PROTOCOLS } from './topics.js'

const log = logger('meshcache:clock')

/**
 * Measures the peers' clocks: `/meshcache/time/1` carries the four timestamps of an
 * NTP-style exchange, read from the **raw** wall clock on both sides (never the corrected
 * one, so corrections cannot feed back). Run on every new connection and with every ping
 * round; the estimates, this node's correction and its write refusal live in
 * {@link ClockOffsets}. Each side also tells the other the correction it applies (the
 * request's `c`, the answer's third element), so that each knows what the other's stamps
 * read, and older nodes, which send and read neither, still interoperate.
 */
export class TimeSync {
  private skewedBefore = false
  private refusingBefore = false

  constructor(
    private readonly ctx: MeshContext,
    private readonly offsets: ClockOffsets,
    /** The host's raw wall clock. */
    private readonly rawNow: () => number = () => ctx.clock.hostNow(),
  ) {}

  /**
   * Answers a time request: when it arrived and when the answer leaves, on our raw clock,
   * and, to a requester that sent its own correction (`c`: a node that reads a third
   * element), the correction this node applies, so that it knows what our stamps read.
   */
  respond(body: unknown): [number, number] | [number, number, number] {
    const t2 = this.rawNow()
    if (typeof body !== 'object' || body === null || !Number.isFinite((body as { t?: unknown }).t))
      throw new InvalidMessageError('time: malformed')
    // Older nodes check for exactly two elements: they get two.
    if ((body as { c?: unknown }).c === undefined) return [t2, this.rawNow()]
    return [t2, this.rawNow(), this.offsets.correctionMs]
  }

  /** One exchange with `peer`; failures are only logged (the ping round counts them). */
  async exchange(peer: PeerId): Promise<void> {
    const { ctx } = this
    const t1 = this.rawNow()
    try {
      const res = await request(
        ctx.node,
        peer,
        PROTOCOLS.time,
        { t: t1, c: this.offsets.correctionMs },
        MESH_CONSTANTS.dialTimeoutMs,
        undefined,
        ctx.pool,
      )
      const t4 = this.rawNow()
      if (
        !Array.isArray(res) ||
        (res.length !== 2 && res.length !== 3) ||
        !res.every((x) => Number.isFinite(x))
      )
        throw new InvalidMessageError('time: malformed answer')
      // The third element (newer nodes): the peer's correction, what its stamps add to its raw clock.
      this.offsets.record(peer.toString(), { t1, t2: res[0], t3: res[1], t4 }, t4, res[2])
      this.report()
    } catch (err) {
      log('time exchange with %s failed: %s', peer, (err as Error).message)
    }
  }

  /**
   * Exchanges with every connected peer, and forgets the clocks of peers no longer
   * connected: the majority that corrects this node, or refuses its writes, is made of
   * the peers it can reach now (a node that left, or restarted with another clock, must
   * not count for the five minutes its samples would live).
   */
  async exchangeAll(): Promise<void> {
    const peers = this.ctx.node.getPeers()
    const connected = new Set(peers.map((p) => p.toString()))
    for (const id of this.offsets.measured()) if (!connected.has(id)) this.forget(id)
    await Promise.all(peers.map((p) => this.exchange(p)))
  }

  /** A peer left for good. */
  forget(peer: string): void {
    this.offsets.forget(peer, this.rawNow())
    this.report()
  }

  /** Logs when this node's clock becomes (or stops being) skewed or refused against the mesh. */
  private report(): void {
    const skewed = this.offsets.skewed
    const refusing = this.offsets.writeRefusal !== undefined
    if (skewed === this.skewedBefore && refusing === this.refusingBefore) return
    this.skewedBefore = skewed
    this.refusingBefore = refusing
    const { reason, correctionMs } = this.offsets.stats()
    if (skewed) log('clock skewed: %s', reason)
    else
      log(
        'this node clock is back within the threshold of the mesh (correction %d ms)',
        correctionMs,
      )
  }
}
