// One case of bench:idle, in a process of its own: sets the case up, lets it settle, then
// measures CPU time and RSS over a window of doing nothing, and prints one JSON line.
// Imports the built package (dist/), as an application would: no tsx in the process.
import { fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [, , kind, windowArg, host] = process.argv
const windowMs = Number(windowArg ?? 10_000)
/** links24 (leaf) and links24-hub: 24 links, the node a leaf of its region's relay tree or its hub. */
const links24 = kind === 'links24' || kind === 'links24-hub'
/** links24: the joining's exchanges are over well before 45 s; it measures over 40 s at least (a settled link's clock sample). */
const settleMs = links24 ? 45_000 : 2_000
/** links24: every node links every other (10 regions), as a node of a 25-node fleet does. */
const FULL = { localPeers: 1_000_000, remotePeers: 1_000_000 }
const regionOf = (i) => `r${i % 10}`
/** CPU ticks (user + system) per thread name, from /proc (Linux). */
function threadTimes() {
  const out = {}
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12])
    }
  } catch {}
  return out
}
async function startProfiler() {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  return session
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const rss = () => {
  globalThis.gc?.()
  return process.memoryUsage().rss
}

const before = rss()
const open = []
let stopPeers = () => {}
let dir
if (
  ['embedded', 'embedded-data', 'mesh-alone', 'pair', 'peers', 'links24', 'links24-hub'].includes(
    kind,
  )
) {
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
  if (kind === 'peers') {
    // links24's other 24 nodes, in a process of their own, bootstrapping through the
    // measured node: the measured process holds that one node alone. The two other members
    // of its region get identities that make it the region's relay hub, or not (`role`).
    const [, , , , , address, measuredId, role] = process.argv
    // The measured process gone (done, or failed): close and clean up, whatever started.
    const started = []
    process.on('disconnect', async () => {
      try {
        for (const c of started) await c.close().catch(() => {})
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true })
        process.exit(0)
      }
    })
    if (!process.connected) process.exit(0)
    const base = host.replace(/\.\d+$/, '')
    const { RelayPlan } = await import('../dist/src/topology/relay-plan.js')
    const { generateKeyPair, privateKeyToProtobuf } = await import('@libp2p/crypto/keys')
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
    const sameRegion = [10, 20]
    let keys
    for (;;) {
      keys = await Promise.all(sameRegion.map(() => generateKeyPair('Ed25519')))
      const plan = new RelayPlan([
        { id: measuredId, region: regionOf(0) },
        ...keys.map((k) => ({ id: peerIdFromPrivateKey(k).toString(), region: regionOf(0) })),
      ])
      if ((plan.hubOf(regionOf(0)) === measuredId) === (role === 'hub')) break
    }
    dir = mkdtempSync(join(tmpdir(), 'meshcache-idle-peers-'))
    const dataDirOf = (i) => {
      const at = sameRegion.indexOf(i)
      if (at < 0) return {}
      const d = join(dir, `n${i}`)
      mkdirSync(d)
      writeFileSync(join(d, 'peer-key'), privateKeyToProtobuf(keys[at]))
      return { dataDir: d }
    }
    const seed = await createCache({
      region: regionOf(1),
      listen: [`/ip4/${base}.101/tcp/0`],
      peers: [address],
      mesh: FULL,
    })
    started.push(seed)
    await Promise.all(
      Array.from({ length: 23 }, async (_, i) => {
        const c = await createCache({
          region: regionOf(i + 2),
          listen: [`/ip4/${base}.${102 + i}/tcp/0`],
          peers: [seed.addresses()[0]],
          mesh: FULL,
          ...dataDirOf(i + 2),
        })
        started.push(c)
      }),
    )
    process.send({ started: started.length })
    await new Promise(() => {})
  }
  if (links24) {
    const c = await createCache({
      region: regionOf(0),
      listen: [`/ip4/${host}/tcp/0`],
      mesh: FULL,
    })
    const role = kind === 'links24-hub' ? 'hub' : 'leaf'
    const peers = fork(
      fileURLToPath(import.meta.url),
      ['peers', '0', host, c.addresses()[0], c.nodeId, role],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    )
    stopPeers = () => peers.disconnect()
    // The peers' process failing to start fails this case at once, not at the bench's timeout.
    await new Promise((resolve, reject) => {
      peers.once('message', resolve)
      peers.once('exit', (code) => reject(new Error(`the peers' process exited (${code})`)))
    })
    await c.waitForPeers(24, '60s')
    open.push(c)
  }
}
await sleep(settleMs)
const added = rss() - before
const counters = () => {
  const r = links24 ? open[0].stats().mesh?.replication : undefined
  return (
    r && {
      framesIn: r.framesIn,
      framesOut: r.framesOut,
      syncSessions: r.syncSessions,
      signaturesChecked: r.signaturesChecked,
    }
  )
}
const c0 = counters()
const threads0 = threadTimes()
// PROFILE=file: a CPU profile of the window (100 µs samples; the sampler's own CPU counts in cpuPercent).
const profiler = process.env.PROFILE ? await startProfiler() : undefined
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await sleep(windowMs)
const cpu = process.cpuUsage(cpu0)
const elapsed = performance.now() - t0
const threads1 = threadTimes()
if (profiler)
  writeFileSync(process.env.PROFILE, JSON.stringify((await profiler.post('Profiler.stop')).profile))
const links = links24 ? open[0].stats().mesh?.peers.length : undefined
// A region's hub passes every announcement on to its children and the other hubs: it sends more.
const hub = links24 ? open[0].admin.mesh.view().members.find((m) => m.self)?.hub : undefined
const c1 = counters()
const perSecond =
  c1 &&
  Object.fromEntries(
    Object.entries(c1).map(([k, v]) => [k, Number(((1000 * (v - c0[k])) / elapsed).toFixed(2))]),
  )
for (const c of open) await c.close()
stopPeers()
if (dir) rmSync(dir, { recursive: true, force: true })
console.log(
  JSON.stringify({
    kind,
    cpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / elapsed,
    rssAddedMB: added / 1e6,
    rssMB: process.memoryUsage().rss / 1e6,
    ...(links === undefined ? {} : { links, hub }),
    ...(perSecond === undefined ? {} : { perSecond }),
    userMs: cpu.user / 1000,
    systemMs: cpu.system / 1000,
    threadTicks: Object.fromEntries(
      Object.entries(threads1)
        .map(([k, v]) => [k, v - (threads0[k] ?? 0)])
        .filter(([, v]) => v > 0),
    ),
  }),
)
process.exit(0)
