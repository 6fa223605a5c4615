import { getNodeJson, type NodeAddress } from './node-fetch.js'

/**
 * `meshcache status`: a node's peers, lag and hit ratio, from its HTTP API, as a table.
 * @throws CliError (exit 1) when the node cannot be reached or answers an error
 */
export async function runStatus(
  at: NodeAddress,
  print: (line: string) => void = console.log,
): Promise<void> {
  const s = (await getNodeJson(at, '/status')) as {
    node: string
    region: string
    entries: number
    hitRatio: number
    mesh?: {
      peers: { id: string; region: string; rttMs?: number; score: number }[]
      lagByRegion: Record<string, { count: number; p50Ms: number; p99Ms: number }>
    }
  }
  print(
    `node ${s.node}  region ${s.region}  entries ${s.entries}  hit ratio ${(s.hitRatio * 100).toFixed(1)}%`,
  )
  print('\npeer                                                   region        rtt ms   score')
  for (const p of s.mesh?.peers ?? []) {
    print(
      `${p.id.padEnd(54)} ${String(p.region).padEnd(12)} ${String(p.rttMs?.toFixed(1) ?? '-').padStart(7)} ${p.score.toFixed(0).padStart(7)}`,
    )
  }
  print('\nreplication lag by origin region   writes    p50 ms   p99 ms')
  for (const [region, l] of Object.entries(s.mesh?.lagByRegion ?? {})) {
    print(
      `${region.padEnd(34)} ${String(l.count).padStart(6)} ${String(l.p50Ms).padStart(9)} ${String(l.p99Ms).padStart(8)}`,
    )
  }
}
