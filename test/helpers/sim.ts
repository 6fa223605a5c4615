import type { Cache } from '../../src/api/cache.js'
import { startSimNode } from '../../src/sim/sim-node.js'
import { WanSim } from '../../src/sim/wan-sim.js'
import { meshOf } from './mesh.js'
import { waitFor } from './wait.js'

/** Nodes behind a fresh simulated WAN; {@link SimMesh.closeAll} in afterEach stops all. */
export class SimMesh {
  sim = new WanSim()
  readonly nodes: Cache<unknown>[] = []

  /** Starts a node of `region` on 127.0.R.n behind the WAN, bootstrapped from `peers`. */
  async start(region: string, n: number, peers: string[] = []): Promise<Cache<unknown>> {
    const c = await startSimNode(this.sim, region, n, { peers })
    this.nodes.push(c)
    return c
  }

  /** Waits until every node is connected to every other (the hello exchange done). */
  async fullMesh(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      () => this.nodes.every((n) => meshOf(n).peers.ranked().length === this.nodes.length - 1),
      `${this.nodes.length} nodes fully connected over the WAN`,
      timeoutMs,
    )
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.nodes.splice(0).map((n) => n.close()))
    await this.sim.close()
    this.sim = new WanSim()
  }
}
