// One case of bench:idle, in a process of its own: sets the case up, lets it settle, then
// measures CPU time and RSS over a window of doing nothing, and prints one JSON line.
// Imports the built package (dist/), as an application would: no tsx in the process.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [, , kind, windowArg, host] = process.argv
const windowMs = Number(windowArg ?? 10_000)
const settleMs = Number(process.env.SETTLE_MS ?? 2_000)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const rss = () => {
  globalThis.gc?.()
  return process.memoryUsage().rss
}

const before = rss()
const open = []
let dir
if (kind === 'embedded' || kind === 'embedded-data' || kind === 'mesh-alone' || kind === 'pair') {
  const { createCache } = await import('../dist/src/index.js')
  if (kind === 'embedded') open.push(await createCache())
  if (kind === 'embedded-data') {
    dir = mkdtempSync(join(tmpdir(), 'meshcache-idle-'))
    const c = await createCache({ dataDir: dir })
    await c.set('k', { n: 1 }, { ttl: '1h' })
    open.push(c)
  }
  if (kind === 'mesh-alone') open.push(await createCache({ listen: [`/ip4/${host}/tcp/0`] }))
  if (kind === 'pair') {
    const a = await createCache({ region: 'a', listen: [`/ip4/${host}/tcp/0`] })
    const b = await createCache({
      region: 'b',
      listen: [`/ip4/${host.replace(/\.\d+$/, '.2')}/tcp/0`],
      peers: [a.addresses()[0]],
    })
    await b.waitForPeers(1)
    open.push(a, b)
  }
}
await sleep(settleMs)
const added = rss() - before
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await sleep(windowMs)
const cpu = process.cpuUsage(cpu0)
const elapsed = performance.now() - t0
for (const c of open) await c.close()
if (dir) rmSync(dir, { recursive: true, force: true })
console.log(
  JSON.stringify({
    kind,
    cpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / elapsed,
    rssAddedMB: added / 1e6,
    rssMB: process.memoryUsage().rss / 1e6,
  }),
)
process.exit(0)
