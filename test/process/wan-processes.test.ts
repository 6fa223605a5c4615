import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseVersion } from '../../src/clock/version.js'
import { WanSim } from '../../src/sim/wan-sim.js'
import { killAll, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

let sim: WanSim | undefined
const dirs: string[] = []
afterEach(async () => {
  await killAll()
  await sim?.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('node processes behind the simulated WAN', () => {
  it('a write between two node processes crosses the simulated 40 ms link', async () => {
    sim = new WanSim()
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wan-'))
    dirs.push(dir)
    const routes = (region: string) => join(dir, `${region}.json`)
    const publish = () => {
      for (const r of ['us-east', 'eu-west'])
        writeFileSync(routes(r), JSON.stringify(sim!.routes(r)))
    }
    publish()
    const us = await spawnNode([
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.1.31/tcp/0',
      '--http',
      '127.0.1.31:0',
      '--wan-routes',
      routes('us-east'),
    ])
    await sim.addNode('us-east', us.info.addresses[0]!)
    publish()
    await new Promise((r) => setImmediate(r))
    const eu = await spawnNode([
      '--region',
      'eu-west',
      '--listen',
      '/ip4/127.0.2.31/tcp/0',
      '--http',
      '127.0.2.31:0',
      '--wan-routes',
      routes('eu-west'),
      '--peer',
      us.info.addresses[0]!,
    ])
    await sim.addNode('eu-west', eu.info.addresses[0]!)
    publish()
    await waitFor(async () => {
      const s = (await (await fetch(`${eu.info.http}/status`)).json()) as {
        mesh: { peers: unknown[] }
      }
      return s.mesh.peers.length === 1
    }, 'connected through the proxy')
    await waitFor(
      async () =>
        (
          await fetch(`${us.info.http}/v1/default/warm`, {
            method: 'PUT',
            body: '1',
            headers: { 'content-type': 'application/json' },
          })
        ).ok,
      'warm-up write',
    )
    await waitFor(
      async () => (await fetch(`${eu.info.http}/v1/default/warm`)).ok,
      'warm-up replicated',
    )
    const res = await fetch(`${us.info.http}/v1/default/k`, {
      method: 'PUT',
      body: '{"v":1}',
      headers: { 'content-type': 'application/json' },
    })
    const wall = parseVersion(res.headers.get('x-version')!)!.wall
    let seenAt = 0
    await waitFor(async () => {
      const ok = (await fetch(`${eu.info.http}/v1/default/k`)).ok
      if (ok) seenAt = Date.now()
      return ok
    }, 'write replicated across the WAN')
    expect(seenAt - wall).toBeGreaterThanOrEqual(40)
  })
})
