/**
 * The simulated WAN of one bench:scale host, in a worker thread of that host: a
 * {@link WanSim} holding the inbound proxies of the host's own nodes (every connection
 * dialled to one of them passes through here, delayed both ways). So the simulator's work
 * is spread over the hosts like the nodes', runs on its own event loop (node work does
 * not delay its bytes), and its CPU is this thread's, measured apart from the nodes'.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { WanSim } from '../src/sim/wan-sim.js'
import { SCALE_REGIONS, scaleMatrix } from './scale-matrix.js'
import type { Routes, WanCommand, WanReply } from './scale-protocol.js'

const port = parentPort!
const sim = new WanSim(scaleMatrix(), (workerData as { proxyHost: string }).proxyHost)
const reply = (m: WanReply) => port.postMessage(m)

port.on('message', async (m: WanCommand) => {
  switch (m.t) {
    case 'add': {
      for (const n of m.nodes) await sim.addNode(n.region, n.listen)
      const routes: Routes = {}
      for (const r of SCALE_REGIONS) routes[r] = sim.routes(r)
      reply({ t: 'add', routes })
      return
    }
    case 'cut':
      if (m.region === undefined) sim.heal()
      else sim.isolate(m.region)
      reply({ t: 'cut' })
      return
    case 'stats': {
      const cpu = process.threadCpuUsage()
      reply({ t: 'stats', cpuUs: cpu.user + cpu.system, wanBytes: sim.wanBytes })
      return
    }
    case 'close':
      await sim.close()
      reply({ t: 'close' })
      return
  }
})
