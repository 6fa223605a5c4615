/**
 * Load leases of one node's HTTP API (the memcache lease pattern, Nishtala et al., NSDI
 * 2013): on a miss one caller gets a lease token and loads the value from its origin;
 * the others wait for that value instead of loading it too.
 *
 * Leases are per node: two sidecars may each grant one for the same key, so a key costs
 * at most one origin load per sidecar. They protect the origin, not correctness: a write
 * with a wrong or expired token is still applied.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { LEASE_DEFAULTS } from './http-defaults.js'

/** Options of a {@link LeaseTable}. */
export interface LeaseTableOptions {
  /** Most leases held at once; past it {@link LeaseTable.acquire} grants none. @default 100_000 */
  maxLeases?: number
  /**
   * Most bytes the held leases may take (see {@link leaseBytes}); past it
   * {@link LeaseTable.acquire} grants none. @default 32 MiB
   */
  maxBytes?: number
  /** Most callers waiting at once; past it {@link LeaseTable.wait} returns at once. @default 10_000 */
  maxWaiters?: number
  /** Wall clock, ms. @default Date.now */
  now?: () => number
  /** Told when the first caller starts waiting (true) and when the last one stops (false). */
  onWaiting?: (active: boolean) => void
}

/** Why {@link LeaseTable.wait} returned. */
export type WaitOutcome =
  /** {@link LeaseTable.notify} was called for the key (a write arrived). */
  | 'notified'
  /** The key's lease expired (or was released) without a notification. */
  | 'lease-ended'
  /** The wait's own time ran out, or the caller gave up (signal). */
  | 'timeout'
  /** Too many callers wait already: this one did not wait at all. */
  | 'full'

interface Lease {
  token: string
  expiresAt: number
}

/** Bytes of one held lease besides its id: map slot, lease object, token (~125 measured, Node 24). */
const LEASE_OVERHEAD_BYTES = 128

/**
 * What one held lease of key id `id` costs in memory, as the table counts it: its id at two
 * bytes per UTF-16 code unit (the upper bound) and {@link LEASE_OVERHEAD_BYTES}.
 */
export function leaseBytes(id: string): number {
  return LEASE_OVERHEAD_BYTES + 2 * id.length
}

interface Waiter {
  wake: (outcome: WaitOutcome) => void
}

/** Leases and waiters by key id (any string; the API uses keyspace + NUL + key). */
export class LeaseTable {
  readonly #leases = new Map<string, Lease>()
  readonly #waiters = new Map<string, Set<Waiter>>()
  readonly #maxLeases: number
  readonly #maxBytes: number
  readonly #maxWaiters: number
  readonly #now: () => number
  readonly #onWaiting: ((active: boolean) => void) | undefined
  #waiting = 0
  #bytes = 0
  /** No lease expires before this time (ms): a prune before it would free nothing. */
  #pruneAt = 0

  constructor(options: LeaseTableOptions = {}) {
    this.#maxLeases = options.maxLeases ?? LEASE_DEFAULTS.maxLeases
    this.#maxBytes = options.maxBytes ?? LEASE_DEFAULTS.maxLeaseBytes
    this.#maxWaiters = options.maxWaiters ?? LEASE_DEFAULTS.maxWaiters
    this.#now = options.now ?? Date.now
    this.#onWaiting = options.onWaiting
  }

  /** Leases held now (expired ones not yet pruned included). */
  get size(): number {
    return this.#leases.size
  }

  /** Bytes the held leases take now, as {@link leaseBytes} counts them. */
  get bytes(): number {
    return this.#bytes
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiting
  }

  /**
   * Grants the lease of `id` when nobody holds a live one.
   * @param ttlMs - how long the holder has to write the value
   * @returns the new token, or undefined when the lease is held (or the table is full:
   *   by count or by bytes)
   */
  acquire(id: string, ttlMs: number): string | undefined {
    const now = this.#now()
    const held = this.#leases.get(id)
    if (held !== undefined && held.expiresAt > now) return undefined
    if (held === undefined && this.#full(id)) {
      this.#prune(now)
      if (this.#full(id)) return undefined
    }
    const token = randomBytes(12).toString('base64url')
    if (held === undefined) this.#bytes += leaseBytes(id)
    this.#leases.set(id, { token, expiresAt: now + ttlMs })
    this.#pruneAt = Math.min(this.#pruneAt, now + ttlMs)
    return token
  }

  /** True when a live lease of `id` is held. */
  held(id: string): boolean {
    const lease = this.#leases.get(id)
    return lease !== undefined && lease.expiresAt > this.#now()
  }

  /**
   * Ends the lease of `id` when `token` is its live token.
   * @returns `'ok'`, or `'expired'` when the token is wrong, expired or unknown
   */
  release(id: string, token: string): 'ok' | 'expired' {
    const lease = this.#leases.get(id)
    if (lease === undefined || lease.token !== token) return 'expired'
    this.#forget(id)
    if (lease.expiresAt <= this.#now()) return 'expired'
    this.#wakeAll(id, 'lease-ended')
    return 'ok'
  }

  /**
   * Waits until {@link notify} is called for `id`, its lease ends, `ms` pass or `signal`
   * aborts, whichever comes first.
   */
  wait(id: string, ms: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.#waiting >= this.#maxWaiters) return Promise.resolve('full')
    if (ms <= 0 || signal?.aborted) return Promise.resolve('timeout')
    const lease = this.#leases.get(id)
    const now = this.#now()
    const leaseLeft = lease === undefined ? Number.POSITIVE_INFINITY : lease.expiresAt - now
    return new Promise<WaitOutcome>((resolve) => {
      let set = this.#waiters.get(id)
      if (set === undefined) {
        set = new Set()
        this.#waiters.set(id, set)
      }
      const waiters = set
      const waiter: Waiter = {
        wake: (outcome) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          waiters.delete(waiter)
          if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id)
          if (--this.#waiting === 0) this.#onWaiting?.(false)
          resolve(outcome)
        },
      }
      const onAbort = () => waiter.wake('timeout')
      const timer = setTimeout(
        () => waiter.wake(leaseLeft <= ms ? 'lease-ended' : 'timeout'),
        Math.max(0, Math.min(ms, leaseLeft)),
      )
      signal?.addEventListener('abort', onAbort, { once: true })
      waiters.add(waiter)
      if (this.#waiting++ === 0) this.#onWaiting?.(true)
    })
  }

  /** Wakes every caller waiting on `id` (a value or delete of the key arrived). */
  notify(id: string): void {
    this.#wakeAll(id, 'notified')
  }

  /** Wakes every waiter and forgets every lease (the server is closing). */
  clear(): void {
    for (const id of [...this.#waiters.keys()]) this.#wakeAll(id, 'timeout')
    this.#leases.clear()
    this.#bytes = 0
  }

  #full(id: string): boolean {
    return this.#leases.size >= this.#maxLeases || this.#bytes + leaseBytes(id) > this.#maxBytes
  }

  #forget(id: string): void {
    if (this.#leases.delete(id)) this.#bytes -= leaseBytes(id)
  }

  #wakeAll(id: string, outcome: WaitOutcome): void {
    const set = this.#waiters.get(id)
    if (set === undefined) return
    for (const w of [...set]) w.wake(outcome)
  }

  /**
   * Forgets expired leases. A full table of live leases is scanned at most once per
   * expiry of its earliest lease, not on every refused acquire.
   */
  #prune(now: number): void {
    if (now < this.#pruneAt) return
    let earliest = Number.POSITIVE_INFINITY
    for (const [id, lease] of this.#leases) {
      if (lease.expiresAt <= now) this.#forget(id)
      else earliest = Math.min(earliest, lease.expiresAt)
    }
    this.#pruneAt = earliest
  }
}
