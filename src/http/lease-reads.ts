/**
 * A read with a lease request (`GET /v1/{ks}/{key}?lease=1`) on a miss: either this
 * caller gets the lease (it loads from its origin and PUTs with the token), or it waits
 * for the holder's value, or it is served a recently expired value (stale-while-revalidate
 * while the lease is held; stale-if-error when the wait ends without a value).
 * @module
 */
import type { LeaseTable } from './lease-table.js'
import type { LeaseParams } from './params.js'

/** What a lease read found. */
export type LeaseRead =
  /** A live value is held now: serve it. */
  | { kind: 'value' }
  /** A value that expired recently: serve it marked stale. */
  | { kind: 'stale'; value: unknown }
  /** This caller holds the lease: it should load the value and PUT it with the token. */
  | { kind: 'lease'; token: string }
  /** Nothing to serve, and the lease is held by another caller. */
  | { kind: 'miss' }

/** What a lease read needs to know about its key. */
export interface LeaseReadHost {
  readonly leases: LeaseTable
  /** True when a live value is held now. */
  live(): boolean
  /** The value that expired at most `windowMs` ago, if nothing newer is known. */
  stale(windowMs: number): unknown
  /** Wall clock, ms. */
  now(): number
}

/**
 * Runs the lease protocol for key `id` after a miss.
 * @param signal - aborts the wait (the client went away)
 */
export async function leaseRead(
  host: LeaseReadHost,
  id: string,
  params: LeaseParams,
  signal?: AbortSignal,
): Promise<LeaseRead> {
  const { leases } = host
  const deadline = host.now() + params.waitMs
  for (;;) {
    if (host.live()) return { kind: 'value' }
    const token = leases.acquire(id, params.leaseTtlMs)
    if (token !== undefined) return { kind: 'lease', token }
    if (params.staleWhileRevalidateMs !== undefined) {
      const value = host.stale(params.staleWhileRevalidateMs)
      if (value !== undefined) return { kind: 'stale', value }
    }
    const left = deadline - host.now()
    if (left <= 0) break
    const outcome = await leases.wait(id, left, signal)
    // A notification or the end of the lease: look again (the value, or a new lease).
    if (outcome === 'timeout' || outcome === 'full') break
  }
  if (host.live()) return { kind: 'value' }
  if (params.staleIfErrorMs !== undefined) {
    const value = host.stale(params.staleIfErrorMs)
    if (value !== undefined) return { kind: 'stale', value }
  }
  return { kind: 'miss' }
}
