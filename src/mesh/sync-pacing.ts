import type { Timer } from '../clock/clock.js'
import { MeshcacheError } from '../errors.js'

/**
 * When a periodic anti-entropy round waits: while this node moves writes at a high rate,
 * digest roots differ by the writes in flight, and a session then mostly fetches (and
 * answers for) what gossip is about to deliver, at the cost of a full descent and a scan of
 * every differing leaf on both ends (bench:replication: a round in a 200k-write burst
 * cost its receiver ~2.5 µs per write, 40 % more). A round due in such a flow waits in
 * steps, but never longer than `maxDeferMs` in all: gaps still repair under any load.
 */
export interface SyncPacing {
  /** Records received plus published per second at or above which a round waits. */
  busyRecordsPerSec: number
  /** Longest a due round waits for the flow to calm. */
  maxDeferMs: number
}

/** The rate of a growing count between two samples, per second. */
export class FlowGauge {
  private at = Number.NaN
  private count = 0

  /**
   * Records `count` (a running total) at monotonic `now`.
   * @returns its rate per second since the previous sample; 0 for the first one or when
   *   no time passed
   */
  sample(now: number, count: number): number {
    const dt = now - this.at
    const dc = count - this.count
    this.at = now
    this.count = count
    return dt > 0 && dc > 0 ? (dc * 1000) / dt : 0
  }
}

/**
 * True when a round due for `waitedMs` already waits again: the flow is at or above the
 * busy rate and the round has not yet waited `maxDeferMs`.
 */
export function deferRound(ratePerSec: number, waitedMs: number, pacing: SyncPacing): boolean {
  return ratePerSec >= pacing.busyRecordsPerSec && waitedMs < pacing.maxDeferMs
}

/**
 * How a node serves one peer's sync requests: `perPeer` at once (building the answer and
 * writing it), up to `maxWaiting` more waiting in arrival order, each at most `maxWaitMs`
 * (half the requester's 10 s deadline, so an answer still has time to travel); past
 * either bound a request is refused ({@link SyncBusyError}). An honest peer sends one
 * request at a time per keyspace and repairs at most 64 keyspaces at once (link control's
 * roots per message), so it waits, and is not refused; a peer with every stream of its
 * connection open (256) no longer makes this node build as many answers at once: two are
 * built, the rest wait (a request already read costs no more waiting) or are refused
 * (docs/decisions/sync-pacing.md, 2026-12-08).
 */
export const SYNC_SERVING = { perPeer: 2, maxWaiting: 64, maxWaitMs: 5_000 } as const

/** A peer's sync request refused: too many of its requests were being served or waiting. */
export class SyncBusyError extends MeshcacheError {
  static override readonly code = 'ERR_SYNC_BUSY'
}

interface PeerServing {
  busy: number
  waiting: { grant: () => void; timer: Timer }[]
}

/** The per-peer bound of {@link SYNC_SERVING}: slots taken before an answer is built, given back once it is written. */
export class ServeSlots {
  private readonly peers = new Map<string, PeerServing>()

  constructor(
    /** Timers of the node's clock (the wait bound). */
    private readonly after: (ms: number, fn: () => void) => Timer,
    private readonly limits: {
      perPeer: number
      maxWaiting: number
      maxWaitMs: number
    } = SYNC_SERVING,
  ) {}

  /**
   * A slot to serve one request of `peer`: at once while fewer than `perPeer` are served,
   * else when one is given back (in arrival order).
   * @returns the slot's release (idempotent): call it once the answer is written or failed
   * @throws SyncBusyError when `maxWaiting` requests of `peer` already wait, or after waiting `maxWaitMs`
   */
  acquire(peer: string): Promise<() => void> {
    let p = this.peers.get(peer)
    if (p === undefined) {
      p = { busy: 0, waiting: [] }
      this.peers.set(peer, p)
    }
    const state = p
    if (state.busy < this.limits.perPeer) {
      state.busy++
      return Promise.resolve(this.releaser(peer, state))
    }
    if (state.waiting.length >= this.limits.maxWaiting)
      return Promise.reject(
        new SyncBusyError(
          `sync request of ${peer} refused: ${state.busy} served and ${state.waiting.length} waiting`,
        ),
      )
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => resolve(this.releaser(peer, state)),
        timer: this.after(this.limits.maxWaitMs, () => {
          state.waiting.splice(state.waiting.indexOf(waiter), 1)
          reject(
            new SyncBusyError(
              `sync request of ${peer} refused after waiting ${this.limits.maxWaitMs} ms`,
            ),
          )
        }),
      }
      state.waiting.push(waiter)
    })
  }

  /** Requests of `peer` being served now. */
  served(peer: string): number {
    return this.peers.get(peer)?.busy ?? 0
  }

  /** Gives the slot to the first waiter, or frees it (a peer with none left is forgotten). */
  private releaser(peer: string, state: PeerServing): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      const next = state.waiting.shift()
      if (next !== undefined) {
        next.timer.cancel()
        next.grant()
        return
      }
      state.busy--
      if (state.busy === 0) this.peers.delete(peer)
    }
  }
}
