import { afterEach, describe, expect, it } from 'vitest'
import { TestMesh } from '../helpers/mesh.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('mesh-wide single flight', () => {
  it('three concurrent fetches of a cold key on three nodes call load exactly once', async () => {
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
      const results = await Promise.all(nodes.map((n) => n.fetch(`cold:${round}`, { load })))
      expect(loads).toBe(1)
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1)
    }
  })
})
