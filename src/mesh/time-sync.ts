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
 * round; the estimates and this node's correction live in {@link ClockOffsets}.
 */
export class TimeSync {
  private skewedBefore = false

  constructor(
    private readonly ctx: MeshContext,
    private readonly offsets: ClockOffsets,
    /** The host's raw wall clock. */
    private readonly rawNow: () => number = () => ctx.clock.hostNow(),
  ) {}

  /** Answers a time request: when it arrived and when the answer leaves, on our raw clock. */
  respond(body: unknown): [number, number] {
    const t2 = this.rawNow()
    if (typeof body !== 'object' || body === null || !Number.isFinite((body as { t?: unknown }).t))
      throw new InvalidMessageError('time: malformed')
    return [t2, this.rawNow()]
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
        { t: t1 },
        MESH_CONSTANTS.dialTimeoutMs,
        undefined,
        ctx.pool,
      )
      const t4 = this.rawNow()
      if (!Array.isArray(res) || res.length !== 2 || !res.every((x) => Number.isFinite(x)))
        throw new InvalidMessageError('time: malformed answer')
      this.offsets.record(peer.toString(), { t1, t2: res[0], t3: res[1], t4 }, t4)
      this.report()
    } catch (err) {
      log('time exchange with %s failed: %s', peer, (err as Error).message)
    }
  }

  /** Exchanges with every connected peer. */
  async exchangeAll(): Promise<void> {
    await Promise.all(this.ctx.node.getPeers().map((p) => this.exchange(p)))
  }

  /** A peer left for good. */
  forget(peer: string): void {
    this.offsets.forget(peer, this.rawNow())
  }

  /** Logs when this node's clock becomes (or stops being) skewed against the mesh. */
  private report(): void {
    const skewed = this.offsets.skewed
    if (skewed !== this.skewedBefore) {
      this.skewedBefore = skewed
      log(
        skewed
          ? 'this node clock is %d ms off the mesh median: corrected; fix its time source'
          : 'this node clock is back within the threshold of the mesh median (%d ms)',
        this.offsets.correctionMs,
      )
    }
  }
}
