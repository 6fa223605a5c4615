import { CliError, EXIT_CODES } from './failures.js'

/** How long `meshcache status` waits for the node. */
export const STATUS_TIMEOUT_MS = 5_000

/**
 * `meshcache status`: a node's peers, lag and hit ratio, from its HTTP API, as a table.
 * @throws CliError (exit 1) when the node cannot be reached or answers an error
 */
export async function runStatus(
  http: string,
  print: (line: string) => void = console.log,
): Promise<void> {
  const base = http.startsWith('http') ? http : `http://${http}`
  let res: Response
  try {
    res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) })
  } catch (err) {
    const inner = (err as { cause?: { code?: string; message?: string } }).cause
    const cause = inner?.code ?? inner?.message
    const why =
      cause === 'ECONNREFUSED'
        ? 'connection refused: is `meshcache node` running there?'
        : (err as Error).name === 'TimeoutError'
          ? `no answer within ${STATUS_TIMEOUT_MS} ms`
          : (cause ?? (err as Error).message)
    throw new CliError(`cannot reach the node at ${base}: ${why}`, EXIT_CODES.runtime, {
      cause: err,
    })
  }
  if (!res.ok) throw new CliError(`GET ${base}/status answered ${res.status}`, EXIT_CODES.runtime)
  const s = (await res.json()) as {
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
