/**
 * What a receiving process pays per message at a low rate, by layer: each case sends
 * small messages at HZ per second from this process to a child process, and reports the
 * child's CPU per message above its idle rate. Cases: `tcp` (a plain socket, 300-byte
 * writes: the floor of a wake-up on this machine), `libp2p` (one libp2p stream over TCP,
 * Noise and Yamux as meshcache runs them, length-prefixed 300-byte frames), `mesh` (a
 * meshcache writer in another region making HZ writes per second; each leaves as its own
 * relay frame or shares one under the link's pacing, see `framesIn`).
 * Run: [HZ=40] [SECONDS=6] [CASES=tcp,libp2p,mesh] [PROFILE=dir] node --import tsx
 * bench/profile/frame-cost.ts
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createCache } from '../../src/node/create-cache.js'

const HZ = Number(process.env.HZ ?? 40)
const SECONDS = Number(process.env.SECONDS ?? 6)
/** A directory: the child's CPU profile over the window at HZ goes there (the profiler's cost is in the figures). */
const PROFILE = process.env.PROFILE
const PROTOCOL = '/frame-cost/1'
const HOST = '127.0.94.51'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const libp2pNode = (listen: string[]): Promise<Libp2p> =>
  createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })

/** The receiving side, in the child: counts messages, answers CPU windows over IPC. */
async function child(kind: string): Promise<void> {
  let n = 0
  let addr = ''
  if (kind === 'tcp') {
    const srv = net.createServer((s) => s.on('data', () => n++))
    await new Promise<void>((r) => srv.listen(0, HOST, r))
    addr = String((srv.address() as net.AddressInfo).port)
  } else if (kind === 'libp2p') {
    const node = await libp2pNode([`/ip4/${HOST}/tcp/0`])
    await node.handle(PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      for (;;) {
        await lp.read()
        n++
      }
    })
    addr = node.getMultiaddrs()[0]!.toString()
  } else {
    const cache = await createCache({ region: 'b', listen: [`/ip4/${HOST}/tcp/0`] })
    cache.on('change', () => n++)
    addr = cache.addresses()[0]!
  }
  let c0 = process.cpuUsage()
  let t0 = performance.now()
  let windows = 0
  const profiler = PROFILE === undefined ? undefined : new Session()
  profiler?.connect()
  process.on('message', async (m: string) => {
    if (m === 'start') {
      // The second window (at HZ) is profiled.
      if (profiler !== undefined && ++windows === 2) {
        await profiler.post('Profiler.enable')
        await profiler.post('Profiler.setSamplingInterval', { interval: 200 })
        await profiler.post('Profiler.start')
      }
      c0 = process.cpuUsage()
      t0 = performance.now()
      n = 0
    } else if (m === 'stop') {
      const c = process.cpuUsage(c0)
      if (profiler !== undefined && windows === 2) {
        const { profile } = await profiler.post('Profiler.stop')
        writeFileSync(join(PROFILE!, `frame-cost-${kind}.cpuprofile`), JSON.stringify(profile))
      }
      process.send!({ cpuUs: c.user + c.system, ms: performance.now() - t0, n })
    } else if (m === 'exit') process.exit(0)
  })
  process.send!({ addr })
}

interface Window {
  cpuUs: number
  ms: number
  n: number
}

/** The sending side, here: one case, an idle window then a window at HZ. */
async function run(kind: string): Promise<Record<string, unknown>> {
  const ch = fork(fileURLToPath(import.meta.url), ['child', kind], {
    execArgv: ['--import', 'tsx'],
  })
  const { addr } = await new Promise<{ addr: string }>((r) => ch.once('message', r as never))
  const ask = () =>
    new Promise<Window>((r) => {
      ch.once('message', r as never)
      ch.send('stop')
    })
  let send: () => void
  let close: () => Promise<void>
  const payload = new Uint8Array(300).fill(7)
  if (kind === 'tcp') {
    const s = net.connect(Number(addr), HOST)
    await new Promise((r) => s.once('connect', r))
    send = () => void s.write(payload)
    close = async () => void s.destroy()
  } else if (kind === 'libp2p') {
    const node = await libp2pNode(['/ip4/127.0.94.50/tcp/0'])
    const lp = lpStream(await node.dialProtocol(multiaddr(addr), PROTOCOL))
    send = () => void lp.write(payload)
    close = async () => {
      await node.stop()
    }
  } else {
    const w = await createCache({ region: 'a', listen: ['/ip4/127.0.94.50/tcp/0'], peers: [addr] })
    await w.waitForPeers(1)
    let i = 0
    send = () => void w.set(`k${i++}`, { id: i, name: 'Ada Lovelace', roles: ['admin'] })
    close = () => w.close()
  }
  await sleep(2_000)
  ch.send('start')
  await sleep(4_000)
  const idle = await ask()
  ch.send('start')
  const timer = setInterval(send, 1_000 / HZ)
  await sleep(SECONDS * 1_000)
  clearInterval(timer)
  await sleep(300)
  const busy = await ask()
  ch.send('exit')
  await close()
  const above = busy.cpuUs - (idle.cpuUs / idle.ms) * busy.ms
  return {
    case: kind,
    hz: HZ,
    received: busy.n,
    idlePercent: +(idle.cpuUs / idle.ms / 10).toFixed(3),
    busyPercent: +(busy.cpuUs / busy.ms / 10).toFixed(3),
    usPerMessage: +(above / busy.n).toFixed(1),
  }
}

if (process.argv[2] === 'child') await child(process.argv[3]!)
else {
  for (const kind of (process.env.CASES ?? 'tcp,libp2p,mesh').split(','))
    console.log(JSON.stringify(await run(kind)))
  process.exit(0)
}
