import type { Socket } from 'node:net'
import type { LinkSpec } from './latency-matrix.js'

/** Decides the delivery of each chunk: the link's state, read at send time. */
export interface LinkState {
  spec(): LinkSpec
  /** True while the link is cut: bytes wait, sockets stay open. */
  blocked(): boolean
  /** Called with the size of every chunk delivered (the simulator's byte counters). */
  delivered?(bytes: number): void
}

/**
 * One direction of a proxied TCP connection: delays every chunk by the link's one-way
 * latency plus jitter, never reordering (a TCP stream is ordered), turns a "loss" into a
 * retransmission delay, and holds bytes while the link is cut, releasing them on heal as
 * TCP's retransmissions would.
 */
export class DelayPipe {
  private readonly queue: { at: number; chunk: Buffer }[] = []
  private readonly held: Buffer[] = []
  private timer: NodeJS.Timeout | undefined
  private lastAt = 0
  private closed = false
  /** Bytes delivered so far. */
  bytes = 0

  constructor(
    private readonly to: Socket,
    private readonly link: LinkState,
  ) {}

  push(chunk: Buffer): void {
    if (this.closed) return
    if (this.link.blocked()) {
      this.held.push(chunk)
      return
    }
    // Bytes held by an earlier cut go first, whoever forgot to release them.
    if (this.held.length > 0) this.release()
    this.enqueue(chunk)
  }

  /** Releases bytes held during a cut (called on heal). */
  release(): void {
    if (this.link.blocked()) return
    for (const c of this.held.splice(0)) this.enqueue(c)
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.queue.length = 0
    this.held.length = 0
  }

  private enqueue(chunk: Buffer): void {
    const s = this.link.spec()
    let delay = s.latencyMs + Math.random() * s.jitterMs
    if (s.loss > 0 && Math.random() < s.loss) delay += 2 * s.latencyMs + 200 // retransmission after RTO
    const at = Math.max(this.lastAt, performance.now() + delay)
    this.lastAt = at
    this.queue.push({ at, chunk })
    if (this.timer === undefined) this.arm()
  }

  private arm(): void {
    const head = this.queue[0]
    if (head === undefined) {
      this.timer = undefined
      return
    }
    this.timer = setTimeout(() => this.deliver(), Math.max(0, head.at - performance.now()))
  }

  private deliver(): void {
    if (this.link.blocked()) {
      // The link went dark while these were on their way. They were sent before anything
      // pushed during the cut, so they go in front of it: a stream never reorders (a
      // reordered Noise stream fails its decryption and the connection dies).
      this.held.unshift(...this.queue.splice(0).map((q) => q.chunk))
      this.timer = undefined
      return
    }
    const now = performance.now()
    // Timers fire up to ~1 ms late; deliver everything due within half a ms together.
    while (this.queue.length > 0 && this.queue[0]!.at <= now + 0.5) {
      const { chunk } = this.queue.shift()!
      this.bytes += chunk.length
      this.link.delivered?.(chunk.length)
      if (!this.to.destroyed) this.to.write(chunk)
    }
    this.arm()
  }
}
