/**
 * The lease table is bounded by bytes as well as by count: leases on long keys used to
 * fill 100,000 slots (~75 MB per 5,000 leases of 15,000-character keys) until the node
 * ran out of memory. And a table full of live leases is not rescanned on every miss.
 */
import { describe, expect, it } from 'vitest'
import { LEASE_DEFAULTS } from '../../src/http/http-defaults.js'
import { LeaseTable, leaseBytes } from '../../src/http/lease-table.js'

describe('LeaseTable bounds', () => {
  it('grants no lease past maxBytes, and counts bytes back on release, expiry and clear', () => {
    let now = 0
    const long = 'k'.repeat(1_000)
    const t = new LeaseTable({ maxBytes: 3 * leaseBytes(long), now: () => now })
    const a = t.acquire(long, 10)!
    expect(t.acquire(`${long}b`, 10)).toBeDefined()
    expect(t.bytes).toBe(leaseBytes(long) + leaseBytes(`${long}b`))
    expect(t.acquire(`c${long}`, 10)).toBeUndefined() // 3 x 1,001 characters do not fit
    expect(t.acquire('short', 10)).toBeDefined() // a short key still fits
    expect(t.size).toBe(3)
    expect(t.release(long, a)).toBe('ok')
    expect(t.bytes).toBe(leaseBytes(`${long}b`) + leaseBytes('short'))
    now = 11 // every lease expired: the next full acquire prunes them
    expect(t.acquire(`c${long}`, 10)).toBeDefined()
    expect(t.acquire(`d${long}`, 10)).toBeDefined()
    expect(t.size).toBe(2)
    expect(t.bytes).toBe(2 * leaseBytes(`c${long}`))
    t.clear()
    expect(t.bytes).toBe(0)
  })

  it('re-granting an expired lease of the same key counts its bytes once', () => {
    let now = 0
    const t = new LeaseTable({ now: () => now })
    t.acquire('k', 10)
    now = 20
    expect(t.acquire('k', 10)).toBeDefined()
    expect(t.bytes).toBe(leaseBytes('k'))
  })

  it('defaults: 100,000 leases and 32 MiB; 15,000 leases of 1,024-character keys fit', () => {
    expect(LEASE_DEFAULTS.maxLeaseBytes).toBe(32 * 1024 * 1024)
    const t = new LeaseTable()
    const key = 'k'.repeat(1_024)
    let granted = 0
    while (t.acquire(`${granted}:${key}`, 60_000) !== undefined) granted++
    expect(granted).toBeGreaterThanOrEqual(15_000)
    expect(granted).toBeLessThan(17_000)
    expect(t.bytes).toBeLessThanOrEqual(LEASE_DEFAULTS.maxLeaseBytes)
  })

  it('a full table of live leases is pruned once per earliest expiry, not on every miss', () => {
    let now = 0
    let reads = 0
    const t = new LeaseTable({ maxLeases: 1_000, now: () => now })
    for (let i = 0; i < 1_000; i++) t.acquire(`k${i}`, 1_000 + i)
    // Count the scans: each one iterates the table's map of 1,000 leases.
    const iterate = Map.prototype[Symbol.iterator]
    Map.prototype[Symbol.iterator] = function (this: Map<unknown, unknown>) {
      if (this.size === 1_000) reads++
      return iterate.call(this)
    }
    try {
      for (let i = 0; i < 100; i++) expect(t.acquire(`new${i}`, 10)).toBeUndefined()
      expect(reads).toBe(1)
      now = 1_000 // the earliest lease expired: one more scan frees it
      expect(t.acquire('new', 10)).toBeDefined()
      expect(reads).toBe(2)
    } finally {
      Map.prototype[Symbol.iterator] = iterate
    }
  })
})
