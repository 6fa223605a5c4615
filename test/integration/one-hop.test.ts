import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { meshOf } from '../helpers/mesh.js'
import { SimMesh } from '../helpers/sim.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new SimMesh()
afterEach(() => mesh.closeAll())

/**
 * Issue 12: a write reaches every other node in about one hop (the pair's one-way latency
 * plus batching and processing), also with every node writing. Six real nodes in this one
 * thread behind the simulated WAN (default matrix: 40 / 60 / 95 ms between regions, 1 ms
 * within), each writing WRITES writes at RATE writes/s.
 *
 * Asserted: the median lag of every region pair is at most one way + MARGIN_MS, measured
 * after a warm-up phase. It used to sit at one way + 45..60 ms at 100 writes/s per node in
 * one thread.
 *
 * Busy machines: the six nodes and the simulator need ~0.6 of a core here. When other
 * processes leave this thread much less than it asks for, its event loop saturates and
 * the lag measures the backlog, not the code (seen on a 2-core VM at load 10-14: 0.2-0.5
 * of a core, medians one way + 22..890 ms; at 0.64 of a core, after the warm-up, + 28..38).
 * So the same run measures the CPU share the thread got while busy (CPU time / event-loop
 * active time): a phase where it got less than MIN_CPU_SHARE is run again (the mesh stays
 * up), and when every phase was starved the lag bound is not checked (every write must
 * still arrive) and the test says so. A regression that costs CPU does not lower that
 * share (a machine with a free core still gives the thread what it asks), so it still
 * fails the bound.
 */
const RATE = 100
const WRITES = 300
const MARGIN_MS = 40
const MIN_CPU_SHARE = 0.8
/** Writes per node before the first measured phase (connections, JIT and clocks settle). */
const WARM_UP_WRITES = 100
/** No new phase starts after this long (ms since the test started). */
const PHASES_UNTIL_MS = 10_000
const MAX_PHASES = 3

interface PairMedian {
  oneWay: number
  median: number
}

describe('one hop under load', () => {
  it('six writers: median lag per region pair stays within one way + the margin', async () => {
    const testStart = Date.now()
    const regions = mesh.sim.matrix.regions
    const nodes: { cache: Cache<unknown>; region: string }[] = []
    for (const region of regions) {
      for (const n of [1, 2]) {
        const peers = nodes[0] ? [nodes[0].cache.addresses()[0]!] : []
        nodes.push({ cache: await mesh.start(region, n, peers), region })
      }
    }
    await waitFor(
      () => nodes.every((n) => meshOf(n.cache).readyPeers('default') === nodes.length - 1),
      'six nodes connected, each able to send its writes to the five others',
      15_000,
    )

    let lags = new Map<string, number[]>()
    let received = nodes.map(() => 0)
    for (const [i, { cache, region }] of nodes.entries()) {
      cache.on('change', (e) => {
        if (e.origin !== 'remote') return
        received[i]!++
        const k = `${e.region} -> ${region}`
        const xs = lags.get(k) ?? []
        if (xs.length === 0) lags.set(k, xs)
        xs.push(Date.now() - e.version.wall)
      })
    }

    /** One phase: every node writes RATE writes/s (one timer loop) until `writes` each. */
    const phase = async (p: number, writes = WRITES) => {
      lags = new Map()
      received = nodes.map(() => 0)
      const elu0 = performance.eventLoopUtilization()
      const cpu0 = process.cpuUsage()
      const start = Date.now()
      let written = 0
      while (written < writes) {
        const due = Math.min(writes, Math.floor(((Date.now() - start) / 1000) * RATE))
        for (; written < due; written++)
          for (const [i, { cache }] of nodes.entries())
            void cache.set(`p${p}:n${i}:${written}`, { i, written })
        await new Promise((r) => setTimeout(r, 5))
      }
      const expected = writes * (nodes.length - 1)
      await waitFor(
        () => received.every((n) => n >= expected),
        `every node received the ${expected} writes of the five others`,
        15_000,
      )
      const elu = performance.eventLoopUtilization(elu0)
      const cpu = process.cpuUsage(cpu0)
      const cpuShare = (cpu.user + cpu.system) / 1000 / Math.max(1, elu.active)
      const medians = new Map<string, PairMedian>()
      for (const [pair, xs] of lags) {
        const [from, , to] = pair.split(' ')
        xs.sort((a, b) => a - b)
        medians.set(pair, {
          oneWay: mesh.sim.latency(from!, to!),
          median: xs[Math.floor(xs.length / 2)]!,
        })
      }
      console.log(
        `one-hop phase ${p}: ${Date.now() - start} ms, event loop ${(elu.utilization * 100).toFixed(0)}% busy, CPU share while busy ${cpuShare.toFixed(2)}; median over one way: ${[
          ...medians,
        ]
          .sort()
          .map(([pair, m]) => `${pair} +${m.median - m.oneWay}`)
          .join(', ')}`,
      )
      return { medians, cpuShare }
    }

    await phase(0, WARM_UP_WRITES)
    let result = await phase(1)
    for (let p = 2; p <= MAX_PHASES; p++) {
      if (result.cpuShare >= MIN_CPU_SHARE || Date.now() - testStart > PHASES_UNTIL_MS) break
      result = await phase(p)
    }
    expect(result.medians.size).toBe(regions.length * regions.length)
    for (const [pair, m] of result.medians)
      expect(m.median, `${pair}: never faster than the one-way latency`).toBeGreaterThanOrEqual(
        m.oneWay,
      )
    if (result.cpuShare < MIN_CPU_SHARE) {
      console.warn(
        `one-hop: the machine left this thread ${result.cpuShare.toFixed(2)} of a core while busy (< ${MIN_CPU_SHARE}) in every phase: the lag bound was not checked`,
      )
      return
    }
    for (const [pair, m] of result.medians)
      expect(
        m.median,
        `${pair}: median within one way (${m.oneWay} ms) + ${MARGIN_MS} ms`,
      ).toBeLessThanOrEqual(m.oneWay + MARGIN_MS)
  }, 60_000) // the waits above are bounded (15 s each); a starved machine can take ~25 s
})
