/**
 * Summarizes .cpuprofile files for docs/profiles/: self time by package (as
 * bench/profile-summary.ts counts it) and inclusive time of named activities (a sample
 * counts for an activity when a frame of that function is on its stack; async functions
 * count for the parts that run after an await too, which V8 shows on top of the resumed
 * function). Prints Markdown tables. Times are ms of CPU and % of the window's wall time
 * (a core), busy = not (idle).
 * Run: node --import tsx bench/profile/profile-groups.ts FILE.cpuprofile... [--top 20] [--json]
 */
import { readFileSync } from 'node:fs'
import { packageOf } from '../profile-summary.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

/** Activities by the function (name or name@file part) that marks them. */
export const ACTIVITIES: [string, RegExp][] = [
  ['gossipsub heartbeat', /^heartbeat@.*gossipsub/],
  ['gossipsub RPC in (decode+handle)', /^(pipePeerReadStream|handleReceivedRpc)@.*gossipsub/],
  ['gossipsub message handling', /^(handleReceivedMessage|validateReceivedMessage)@.*gossipsub/],
  ['gossipsub send (sendRpc/flush)', /^(sendRpc|sendRpcInBatch|flush|publish)@.*gossipsub/],
  ['gossipsub peer score', /@.*gossipsub\/dist\/src\/score\//],
  ['meshcache receiver (validate+apply)', /^(validate|onMessage)@.*mesh\/receiver/],
  ['meshcache admitRemote', /^admitRemote@/],
  ['meshcache publisher', /@.*mesh\/publisher/],
  ['meshcache ping round (pingAll)', /^pingAll@/],
  ['meshcache time exchange', /^(exchange|exchangeAll|respond)@.*time-sync/],
  ['meshcache anti-entropy', /@.*(mesh\/anti-entropy|sync\/)/],
  ['meshcache member gossip', /@.*mesh\/member-gossip/],
  ['meshcache membership/hello/redial', /@.*mesh\/(membership|hello)/],
  ['meshcache rpc (request/handle/pool)', /@.*mesh\/rpc\./],
  ['meshcache sweep', /^(sweepStep)@/],
  ['HTTP (fastify/light-my-request/http)', /@.*(fastify|find-my-way|avvio|node:_http|src\/http\/)/],
  ['pino logging', /@.*(pino|sonic-boom|thread-stream)/],
  ['libp2p incoming stream (negotiate)', /^onIncomingStream@/],
  ['libp2p newStream (outbound negotiate)', /^newStream@.*libp2p\/dist\/src\/connection/],
  ['multistream-select', /@.*@libp2p\/multistream-select/],
  ['identify', /@.*@libp2p\/identify/],
  ['peer-store', /@.*@libp2p\/peer-store/],
  ['Noise (encrypt/decrypt)', /@.*@chainsafe\/libp2p-noise/],
  ['yamux', /@.*@chainsafe\/libp2p-yamux/],
  ['TCP socket I/O', /^(onStreamRead|writeGeneric|writevGeneric|_writeGeneric|onWriteComplete)@/],
  ['msgpackr', /@.*msgpackr/],
  ['protobuf (protons)', /@.*protons-runtime/],
  ['multiaddr/multiformats', /@.*(@multiformats\/multiaddr|multiformats\/)/],
  ['timers (listOnTimeout)', /^listOnTimeout@/],
  ['GC', /^\(garbage collector\)@/],
  ['module loading (ESM/CJS)', /@node:internal\/modules\//],
]

export interface GroupSummary {
  file: string
  wallMs: number
  busyMs: number
  samples: number
  packages: { name: string; ms: number }[]
  activities: { name: string; ms: number }[]
}

export function groups(file: string): GroupSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id)
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const key = (n: ProfileNode) => `${n.callFrame.functionName}@${n.callFrame.url}`
  // Activities on each node's stack, computed once per node.
  const actsOf = new Map<number, Set<number>>()
  const stackActs = (id: number): Set<number> => {
    const have = actsOf.get(id)
    if (have) return have
    const n = byId.get(id)!
    const up = parent.get(id)
    const s = new Set(up === undefined ? [] : stackActs(up))
    const k = key(n)
    ACTIVITIES.forEach(([, re], i) => {
      if (re.test(k)) s.add(i)
    })
    actsOf.set(id, s)
    return s
  }
  const pk = new Map<string, number>()
  const act = new Array<number>(ACTIVITIES.length).fill(0)
  let wall = 0
  let busy = 0
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i + 1] ?? 0
    wall += us
    const n = byId.get(p.samples[i]!)!
    const pkg = packageOf(n.callFrame.url, n.callFrame.functionName)
    if (pkg === '(idle)') continue
    busy += us
    pk.set(pkg, (pk.get(pkg) ?? 0) + us)
    for (const a of stackActs(n.id)) act[a]! += us
  }
  return {
    file,
    wallMs: wall / 1000,
    busyMs: busy / 1000,
    samples: p.samples.length,
    packages: [...pk].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    activities: ACTIVITIES.map(([name], i) => ({ name, ms: act[i]! / 1000 })).sort(
      (a, b) => b.ms - a.ms,
    ),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'))
  const ti = process.argv.indexOf('--top')
  const top = ti >= 0 ? Number(process.argv[ti + 1]) : 20
  for (const f of files) {
    const g = groups(f)
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify(g))
      continue
    }
    const pct = (ms: number) => `${((100 * ms) / g.busyMs).toFixed(1)} %`
    console.log(
      `\n### ${f}\n\n${(g.wallMs / 1000).toFixed(1)} s profiled, ${g.busyMs.toFixed(0)} ms busy (${((100 * g.busyMs) / g.wallMs).toFixed(2)} % of a core, profiler included)\n`,
    )
    console.log('| package (self time) | ms | share of busy |\n|---|---:|---:|')
    for (const x of g.packages.slice(0, top))
      console.log(`| ${x.name} | ${x.ms.toFixed(0)} | ${pct(x.ms)} |`)
    console.log('\n| activity (inclusive) | ms | share of busy |\n|---|---:|---:|')
    for (const x of g.activities.filter((a) => a.ms > 0))
      console.log(`| ${x.name} | ${x.ms.toFixed(0)} | ${pct(x.ms)} |`)
  }
}
