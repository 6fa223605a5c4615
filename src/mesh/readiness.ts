import type { PeerId } from '@libp2p/interface'
import type { Timer } from '../clock/clock.js'
import type { AntiEntropy } from './anti-entropy.js'
import type { MeshContext } from './mesh-context.js'

/**
 * When a (re)started node is ready to serve: after one anti-entropy round with a peer of
 * every region it reaches, or once `timeoutMs` passed (a region that does not answer
 * must not keep the node out forever). A node with nothing to catch up (no bootstrap
 * peers and no data dir) is ready at once.
 */
export class Readiness {
  /** Resolves when the node is ready; never rejects. */
  readonly ready: Promise<void>
  private resolve: () => void = () => {}
  private readonly synced = new Set<string>()
  private readonly syncing = new Set<string>()
  private timer: Timer | undefined
  private done = false
  private sawPeer = false

  constructor(
    private readonly ctx: MeshContext,
    private readonly antiEntropy: AntiEntropy,
  ) {
    this.ready = new Promise((r) => {
      this.resolve = r
    })
  }

  /** True once ready. */
  get isReady(): boolean {
    return this.done
  }

  /** Starts waiting; `catchUp`: the node has peers to catch up from (bootstrap or data dir). */
  start(catchUp: boolean, timeoutMs: number): void {
    if (!catchUp) {
      this.finish()
      return
    }
    this.timer = this.ctx.clock.after(timeoutMs, () => this.finish())
  }

  /** A peer said hello: sync with it when its region is not caught up yet. */
  onPeer(peer: PeerId): void {
    if (this.done) return
    const region = this.ctx.peers.get(peer.toString())?.region
    if (region === undefined || this.synced.has(region) || this.syncing.has(region)) return
    this.sawPeer = true
    this.syncing.add(region)
    void this.antiEntropy
      .syncAll(peer)
      .then((moved) => {
        // syncAll swallows errors (counted); a failed session shows as syncErrors, not here.
        if (moved >= 0) this.synced.add(region)
      })
      .finally(() => {
        this.syncing.delete(region)
        this.check()
      })
  }

  stop(): void {
    this.timer?.cancel()
    this.finish()
  }

  private check(): void {
    if (this.done || !this.sawPeer) return
    const regions = new Set(this.ctx.peers.ranked().map((p) => p.region!))
    for (const r of regions) if (!this.synced.has(r)) return
    this.finish()
  }

  private finish(): void {
    if (this.done) return
    this.done = true
    this.timer?.cancel()
    this.resolve()
  }
}
