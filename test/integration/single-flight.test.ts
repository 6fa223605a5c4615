import { afterEach, describe, expect, it } from 'vitest'
import { TestMesh } from '../helpers/mesh.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('single flight across nodes', () => {
  it("singleFlight: 'mesh': three concurrent fetches of a cold key in three regions call load exactly once", async () => {
    const nodes = [
      await mesh.start('us-east'),
      await mesh.start('eu-west'),
      await mesh.start('ap-south'),
    ]
    await mesh.ready()
    for (let round = 0; round < 3; round++) {
      let loads = 0
      const load = async () => {
        loads++
        await new Promise((r) => setTimeout(r, 150))
        return { round, loadedAt: Date.now() }
      }
      const results = await Promise.all(
        nodes.map((n) => n.fetch(`cold:${round}`, { load, singleFlight: 'mesh' })),
      )
      expect(loads).toBe(1)
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1)
    }
  })

  it('by default one load per region: three nodes of a region call load once, two regions at most twice', async () => {
    const eu = [
      await mesh.start('eu-west'),
      await mesh.start('eu-west'),
      await mesh.start('eu-west'),
    ]
    const us = [await mesh.start('us-east'), await mesh.start('us-east')]
    await mesh.ready()
    let loads = 0
    const load = async () => {
      loads++
      await new Promise((r) => setTimeout(r, 150))
      return { loaded: loads }
    }
    await Promise.all(eu.map((n) => n.fetch('cold:eu', { load })))
    expect(loads).toBe(1)
    loads = 0
    await Promise.all([...eu, ...us].map((n) => n.fetch('cold:both', { load })))
    expect(loads).toBeGreaterThanOrEqual(1)
    expect(loads).toBeLessThanOrEqual(2)
    // The lease owner is a same-region node: no lease request crossed regions.
  })
})
