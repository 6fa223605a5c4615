import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '../log.js'
import { tableRewriter } from './wan-sim.js'

const log = logger('meshcache:sim')

/**
 * A dial rewriter fed by a JSON routes file (`{ "host:port": "/ip4/…/tcp/…" }`, what
 * `WanSim.routes(region)` returns), re-read whenever it changes: how a node in its own
 * process dials through a simulator that runs elsewhere.
 */
export function routesFileRewriter(file: string): {
  rewrite: (ma: Multiaddr) => Multiaddr
  stop: () => void
} {
  const routes = new Map<string, string>()
  const load = () => {
    try {
      const table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
      routes.clear()
      for (const [k, v] of Object.entries(table)) if (typeof v === 'string') routes.set(k, v)
    } catch (err) {
      log('cannot read routes file %s: %s', file, (err as Error).message)
    }
  }
  load()
  watchFile(file, { interval: 100 }, load)
  return { rewrite: tableRewriter(routes), stop: () => unwatchFile(file, load) }
}
