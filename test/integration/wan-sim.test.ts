import { afterEach, describe, expect, it } from 'vitest'
import { meshOf } from '../helpers/mesh.js'
import { SimMesh } from '../helpers/sim.js'
import { waitFor } from '../helpers/wait.js'

const mesh = new SimMesh()
afterEach(() => mesh.closeAll())
const start = (region: string, n: number, peers: string[] = []) => mesh.start(region, n, peers)

describe('replication across the simulated WAN', () => {
  it("a node sees its peers' connections come from their region's address, not 127.0.0.1", async () => {
    const us = await start('us-east', 1)
    const eu = await start('eu-west', 1, [us.addresses()[0]!])
    await mesh.fullMesh()
    // eu-west is the matrix's second region: 127.0.253.2 (a per-host bound of the
    // inbound gate would otherwise hold a whole fleet's connections to one host's share).
    const inbound = meshOf(us)
      .node.getConnections()
      .filter((c) => c.direction === 'inbound')
    expect(inbound.length).toBeGreaterThan(0)
    for (const c of inbound) {
      expect(c.remotePeer.toString()).toBe(eu.nodeId)
      expect(c.remoteAddr.toString().split('/')[2]).toBe('127.0.253.2')
    }
    expect(mesh.sim.matrix.regions.indexOf('eu-west')).toBe(1)
  })

  it('a write reaches the other region in about one one-way latency', async () => {
    const us = await start('us-east', 1)
    const eu = await start('eu-west', 1, [us.addresses()[0]!])
    await waitFor(
      () =>
        meshOf(us).admin.subscribers('default') === 1 &&
        meshOf(eu).admin.subscribers('default') === 1,
      'both subscribed across the WAN',
    )
    const lags: number[] = []
    eu.on('change', (e) => lags.push(Date.now() - e.version.wall))
    for (let i = 0; i < 20; i++) {
      await us.set(`k${i}`, i)
      await waitFor(() => eu.has(`k${i}`), `k${i} replicated`)
    }
    lags.sort((a, b) => a - b)
    const median = lags[Math.floor(lags.length / 2)]!
    expect(median).toBeGreaterThanOrEqual(40) // never faster than the 40 ms one-way latency
    expect(median).toBeLessThan(40 + 40) // and about one hop, not a round trip
  })

  it('writes on both sides of a cut region converge after the heal', async () => {
    const us = await start('us-east', 1)
    const eu = await start('eu-west', 1, [us.addresses()[0]!])
    const ap = await start('ap-south', 1, [us.addresses()[0]!])
    await mesh.fullMesh()
    await waitFor(
      () => [us, eu, ap].every((n) => meshOf(n).admin.subscribers('default') === 2),
      'all subscribed',
    )
    mesh.sim.isolate('ap-south')
    await us.set('during-cut-us', 1)
    await ap.set('during-cut-ap', 2)
    await waitFor(() => eu.has('during-cut-us'), 'the connected side still replicates')
    expect(eu.has('during-cut-ap')).toBe(false)
    mesh.sim.heal()
    await waitFor(
      () => [us, eu, ap].every((n) => n.has('during-cut-us') && n.has('during-cut-ap')),
      'convergence after the heal',
      20_000,
    )
  })
})
