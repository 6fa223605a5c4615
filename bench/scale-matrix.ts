/**
 * The WAN of bench:scale: ten regions round the globe, one-way latency growing with the
 * distance round a circle (35 ms between neighbours, 115 ms across), and where each node
 * of a run listens.
 */
import type { LatencyMatrix } from '../src/sim/latency-matrix.js'

/** Ten regions, in the order they sit round the circle. */
export const SCALE_REGIONS = [
  'us-east',
  'us-west',
  'ap-northeast',
  'ap-east',
  'ap-south',
  'me-south',
  'eu-central',
  'af-south',
  'sa-east',
  'eu-west',
]

/** One-way latency between regions `i` and `j` (indexes in {@link SCALE_REGIONS}), ms. */
export function scaleLatency(i: number, j: number): number {
  const n = SCALE_REGIONS.length
  const d = Math.min(Math.abs(i - j), n - Math.abs(i - j))
  return 15 + 20 * d
}

/** The latency matrix of the ten regions: 1 ms inside a region, 2 ms jitter across. */
export function scaleMatrix(): LatencyMatrix {
  const pairs: LatencyMatrix['pairs'] = {}
  for (let i = 0; i < SCALE_REGIONS.length; i++) {
    for (let j = i + 1; j < SCALE_REGIONS.length; j++) {
      const a = SCALE_REGIONS[i]!
      const b = SCALE_REGIONS[j]!
      pairs[a < b ? `${a}|${b}` : `${b}|${a}`] = {
        latencyMs: scaleLatency(i, j),
        jitterMs: 2,
        loss: 0,
      }
    }
  }
  return { regions: [...SCALE_REGIONS], intra: { latencyMs: 1, jitterMs: 0.5, loss: 0 }, pairs }
}

/** Region and listen address of node `idx` of a run: regions round-robin, 127.0.R.(10 + k). */
export function nodePlace(idx: number, port: number): { region: string; listen: string } {
  const r = idx % SCALE_REGIONS.length
  const k = Math.floor(idx / SCALE_REGIONS.length)
  return { region: SCALE_REGIONS[r]!, listen: `/ip4/127.0.${r + 1}.${10 + k}/tcp/${port}` }
}
