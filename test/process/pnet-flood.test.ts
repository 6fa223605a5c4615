import { afterEach, describe, expect, it } from 'vitest'
import { runFlood } from '../../bench/flood-scenario.js'
import { killAll } from '../helpers/cli.js'

/**
 * Issue 23, item 4, scaled down from bench:flood: an outsider without the network key
 * streams random bytes into a private node's libp2p port over hundreds of connections,
 * then holds 300 idle connections open (reopening those cut) while an honest node joins.
 * Before the inbound gate, libp2p's 256 pending slots filled with the idle connections
 * and the honest node could not join until the outsider stopped.
 */
afterEach(() => killAll())

describe('an outsider without the network key (real node processes)', () => {
  it('cannot keep an honest node from joining, nor stall health checks and replication', async () => {
    const r = await runFlood({
      subnet: 74,
      sources: 4,
      stream: {
        slots: 300,
        perConnectionBytes: 50_000,
        totalBytes: 15_000_000,
        maxMs: 5_000,
        reopenMs: 100,
      },
      aftermathMs: 1_000,
      hold: { connections: 300, reopenMs: 100 },
      joinTimeoutMs: 8_000,
      settleMs: 0,
    })
    // The flood happened: the outsider connected and wrote (the node cut most of it).
    expect(r.stream.opened).toBeGreaterThan(100)
    expect(r.hold.opened).toBeGreaterThanOrEqual(300)
    // Target 5 s; measured 0.2-0.7 s with the gate, never (8 s timeout) without.
    expect(r.joinMs).toBeLessThan(5_000)
    // Targets 100 / 200 ms; bounds with room for a loaded 2-core machine.
    expect(r.health.p99).toBeLessThan(1_000)
    expect(r.replication.lost).toBe(0)
    expect(r.replication.p99).toBeLessThan(1_000)
  }, 60_000)
})
