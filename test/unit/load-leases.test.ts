import { describe, expect, it } from 'vitest'
import { SystemClock } from '../../src/clock/clock.js'
import { LoadLeases } from '../../src/mesh/load-leases.js'
import type { Entry } from '../../src/store/entry.js'

const entry: Entry = {
  value: 1,
  version: { wall: 1, logical: 0, node: 'n' },
  expiresAt: 1e15,
  tombstone: false,
  size: 1,
}

describe('LoadLeases', () => {
  it('grants one holder per key; others wait for the value', async () => {
    const l = new LoadLeases(1_000, new SystemClock())
    expect(l.grantOrWait('k', 'a', 0)).toBe('lease')
    expect(l.grantOrWait('k', 'a', 10)).toBe('lease') // the holder asking again
    const waitB = l.grantOrWait('k', 'b', 10)
    const waitC = l.grantOrWait('k', 'c', 10)
    expect(waitB).toBeInstanceOf(Promise)
    l.settle('k', entry)
    expect(await waitB).toBe(entry)
    expect(await waitC).toBe(entry)
    expect(l.size).toBe(0)
    expect(l.grantOrWait('k', 'b', 20)).toBe('lease')
  })

  it('a waiter gives up when the lease ends, and an expired lease goes to the next asker', async () => {
    const l = new LoadLeases(30, new SystemClock())
    const t0 = Date.now()
    expect(l.grantOrWait('k', 'a', t0)).toBe('lease')
    expect(await l.grantOrWait('k', 'b', t0)).toBeUndefined()
    expect(l.grantOrWait('k', 'b', t0 + 31)).toBe('lease')
    expect(l.prune(t0 + 31)).toBe(0)
    expect(l.prune(t0 + 62)).toBe(1)
    expect(l.size).toBe(0)
  })

  it('leases of loads that wrote nothing are forgotten by later grants, with no prune call (a peerless node runs no upkeep)', () => {
    const l = new LoadLeases(1_000, new SystemClock())
    for (let i = 0; i < 50; i++) expect(l.grantOrWait(`k${i}`, 'self', i)).toBe('lease')
    expect(l.size).toBe(50)
    // Past their end, the next grant after a lease length forgets them.
    expect(l.grantOrWait('later', 'self', 2_100)).toBe('lease')
    expect(l.size).toBe(1)
  })
})
