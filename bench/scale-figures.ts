/**
 * Figures bench:scale computes from what its hosts report: lag over each region pair's
 * one-way latency, the bytes a write adds to a batch, and whether the nodes' relay plans
 * agree (one hub per region, no connected member left out as down).
 */
import { encodeBatch } from '../src/replication/batch-codec.js'
import type { EntryTuple } from '../src/replication/entry-tuple.js'
import { msgpack } from '../src/replication/value-codec.js'
import { SCALE_REGIONS, scaleLatency } from './scale-matrix.js'
import type { NodeState } from './scale-protocol.js'
import { pct } from './scale-report.js'

/** The value every bench:scale write carries. */
export const VALUE = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['a', 'b'] }

/** Bytes a write adds to a batch of `perBatch` writes of the bench's shape (msgpack codec). */
export function batchBytesPerWrite(perBatch: number): number {
  const k = Math.max(1, Math.round(perBatch))
  const value = msgpack.pack(VALUE)
  const origin = '12D3KooW'.padEnd(52, 'x')
  const now = Date.now()
  const records = Array.from(
    { length: k },
    (_, i) => [`many:42:${i}`, now, 0, origin, now + 600_000, 0, value] as EntryTuple,
  )
  const batch = {
    origin,
    region: 'us-east',
    keyspace: 'default',
    sentAt: now,
    incarnation: now,
    seq: 1,
    records,
  }
  return encodeBatch(batch).length / k
}

/** One-way latency between two regions of the scale matrix, ms (1 ms inside a region). */
export function oneWay(from: string, to: string): number {
  if (from === to) return 1
  return scaleLatency(SCALE_REGIONS.indexOf(from), SCALE_REGIONS.indexOf(to))
}

/** Lag percentiles of samples by "from->to" region pair, ms, raw and over the pair's one-way latency. */
export interface LagFigures {
  lagP50: number
  lagP99: number
  excessP99: number
  worstPair: string
  worstPairExcessP99: number
}

/** Lag figures of samples by "from->to" region pair, ms. */
export function lagFigures(byPair: Map<string, number[]>): LagFigures {
  const lags: number[] = []
  const excess: number[] = []
  let worstPair = ''
  let worstPairExcessP99 = Number.NaN
  for (const [k, xs] of byPair) {
    const [from, to] = k.split('->') as [string, string]
    const ow = oneWay(from, to)
    const ex = xs.map((x) => x - ow)
    for (const [i, x] of xs.entries()) {
      lags.push(x)
      excess.push(ex[i]!)
    }
    const p = pct(ex, 0.99)
    if (!(p <= worstPairExcessP99)) {
      worstPair = k
      worstPairExcessP99 = p
    }
  }
  return {
    lagP50: pct(lags, 0.5),
    lagP99: pct(lags, 0.99),
    excessP99: pct(excess, 0.99),
    worstPair,
    worstPairExcessP99,
  }
}

/** The index of the node with peer id `id` ("?" and the id's tail when unknown). */
function nameOf(states: Map<number, NodeState>, id: string): string {
  for (const [idx, s] of states) if (s.self === id) return String(idx)
  return `?${id.slice(-6)}`
}

/** How far the nodes' relay plans disagree, and who disagrees (for the log). */
export interface PlanAgreement {
  /** Regions whose members name different hubs. */
  hubSplits: number
  /** Connected members that nodes' plans leave out as down, summed over nodes. */
  downButConnected: number
  lines: string[]
}

/** Compares the nodes' own relay plans. */
export function planAgreement(states: Map<number, NodeState>): PlanAgreement {
  const lines: string[] = []
  const byRegion = new Map<string, Map<string, number[]>>()
  let downButConnected = 0
  for (const [idx, s] of states) {
    let views = byRegion.get(s.region)
    if (views === undefined) {
      views = new Map()
      byRegion.set(s.region, views)
    }
    const hub = s.hubId ?? 'none'
    views.set(hub, [...(views.get(hub) ?? []), idx])
    if (s.downButConnected.length === 0) continue
    downButConnected += s.downButConnected.length
    lines.push(
      `node ${idx} (${s.region}) leaves out connected node(s) ${s.downButConnected.map((id) => nameOf(states, id)).join(',')} as down`,
    )
  }
  let hubSplits = 0
  for (const [region, views] of byRegion) {
    if (views.size <= 1) continue
    hubSplits++
    const who = [...views].map(([hub, idxs]) => `node ${nameOf(states, hub)} by ${idxs.join(',')}`)
    lines.unshift(`hub of ${region} named differently: ${who.join('; ')}`)
  }
  return { hubSplits, downButConnected, lines }
}
