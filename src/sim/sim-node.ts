import type { Cache } from '../api/cache.js'
import type { CacheOptions } from '../node/cache-options.js'
import { type NodeHooks, startNode } from '../node/create-cache.js'
import type { WanSim } from './wan-sim.js'

/**
 * Starts a mesh node behind the simulated WAN: it listens on 127.0.R.N (R the region's
 * index in the matrix, N the node's number) and dials through the simulator's proxies.
 */
export async function startSimNode(
  sim: WanSim,
  region: string,
  n: number,
  options: CacheOptions = {},
  hooks: NodeHooks = {},
): Promise<Cache<unknown>> {
  const r = sim.matrix.regions.indexOf(region) + 1
  if (r === 0) throw new Error(`region ${region} is not in the latency matrix`)
  const cache = await startNode(
    {
      region,
      listen: [`/ip4/127.0.${r}.${n}/tcp/0`],
      ...options,
      mesh: { ...options.mesh, dialRewrite: sim.rewriterFor(region) },
    },
    hooks,
  )
  await sim.addNode(region, cache.addresses()[0]!)
  return cache
}
