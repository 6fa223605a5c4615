/**
 * One idle case in this process, for docs/profiles/: `bare` (nothing), `import` (only
 * `import('meshcache')`), `cache` (createCache() without a mesh), `core` (the same through
 * dist/src/node/create-cache.js, not the package index), `mesh` (a mesh node with
 * no peers). Prints one JSON line: RSS before, after the import, after the cache started
 * and after the idle window; CPU over the idle window.
 * Run (the built package, as users load it: npm run build first):
 *   node [--import ./bench/profile/probe.mjs] bench/profile/idle-embedded.mjs CASE [IDLE_S] [LISTEN]
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

const kind = process.argv[2] ?? 'bare'
const idleS = Number(process.argv[3] ?? 25)
const listen = process.argv[4] ?? '/ip4/127.0.0.1/tcp/0'
const mib = (b) => +(b / 2 ** 20).toFixed(1)
const rss = () => mib(process.memoryUsage().rss)

const out = { kind, idleS, rssStart: rss() }
let cache
if (kind !== 'bare') {
  const t = performance.now()
  // `core`: the composition root alone, without the package index (which also exports
  // createNetworkKey and with it @libp2p/pnet).
  const { createCache } =
    kind === 'core'
      ? await import(new URL('../../dist/src/node/create-cache.js', import.meta.url).href)
      : await import('meshcache')
  out.importMs = +(performance.now() - t).toFixed(0)
  out.rssImported = rss()
  if (kind === 'cache' || kind === 'core') cache = await createCache()
  if (kind === 'mesh') cache = await createCache({ listen: [listen] })
  out.rssStarted = rss()
}
// Settle (start-up work, the first timers), then measure doing nothing.
await sleep(3_000)
const label = process.env.PROBE_LABEL ?? `idle-${kind}`
await globalThis.__probe?.start(label) // a probe window, when the probe is loaded
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await sleep(idleS * 1_000)
const cpu = process.cpuUsage(cpu0)
const ms = performance.now() - t0
await globalThis.__probe?.stop(label)
out.rssIdle = rss()
out.cpuPctOfCore = +((100 * (cpu.user + cpu.system)) / 1000 / ms).toFixed(3)
out.cpuMsPerS = +((cpu.user + cpu.system) / ms).toFixed(4)
await cache?.close()
console.log(JSON.stringify(out))
process.exit(0)
