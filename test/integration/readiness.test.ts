import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/node/create-cache.js'
import { TestMesh } from '../helpers/mesh.js'

const mesh = new TestMesh()
afterEach(() => mesh.closeAll())

describe('readiness after a (re)start (real libp2p nodes)', () => {
  it('a restarted node is ready only once it caught up: everything written while it was down is there', async () => {
    const a = await mesh.start('us-east', { mesh: { syncIntervalMs: 0 } })
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-ready-'))
    const b1 = await mesh.start('eu-west', { dataDir, mesh: { syncIntervalMs: 0 } })
    await mesh.ready()
    await b1.set('before', 1)
    await b1.close()
    for (let i = 0; i < 200; i++) await a.set(`while-down-${i}`, i)
    // Periodic anti-entropy is off: only the restart's catch-up can bring these.
    const b2 = await mesh.start('eu-west', { dataDir, mesh: { syncIntervalMs: 0 } })
    await b2.ready
    expect(b2.isReady).toBe(true)
    expect(b2.stats().ready).toBe(true)
    expect(b2.get('before')).toBe(1)
    for (let i = 0; i < 200; i++) expect(b2.get(`while-down-${i}`)).toBe(i)
  })

  it('an embedded cache and a fresh seed node are ready at once', async () => {
    const embedded = await createCache()
    expect(embedded.isReady).toBe(true)
    await embedded.ready
    await embedded.close()
    const seed = await mesh.start('us-east')
    await seed.ready
    expect(seed.stats().ready).toBe(true)
  })
})
