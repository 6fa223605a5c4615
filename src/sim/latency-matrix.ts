import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors.js'

/** One direction of a simulated link between two regions. */
export interface LinkSpec {
  /** One-way latency, ms. */
  latencyMs: number
  /** Uniform extra delay in [0, jitterMs), ms. */
  jitterMs: number
  /**
   * Probability that a chunk is "lost". A TCP stream cannot drop bytes, so a loss shows
   * as a retransmission: the chunk (and everything behind it) waits one more round trip.
   */
  loss: number
}

/** Latencies per region pair, symmetric; `intra` applies within a region. */
export interface LatencyMatrix {
  regions: string[]
  intra: LinkSpec
  /** Keyed `a|b` with a < b. */
  pairs: Record<string, LinkSpec>
}

/** The default WAN: three regions at realistic one-way latencies. */
export const DEFAULT_MATRIX: LatencyMatrix = {
  regions: ['us-east', 'eu-west', 'ap-south'],
  intra: { latencyMs: 1, jitterMs: 0.5, loss: 0 },
  pairs: {
    'eu-west|us-east': { latencyMs: 40, jitterMs: 2, loss: 0 },
    'ap-south|us-east': { latencyMs: 95, jitterMs: 4, loss: 0 },
    'ap-south|eu-west': { latencyMs: 60, jitterMs: 3, loss: 0 },
  },
}

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`)

/**
 * The link between two regions.
 * @throws InvalidOptionError when the matrix does not name the pair
 */
export function linkBetween(m: LatencyMatrix, a: string, b: string): LinkSpec {
  if (a === b) return m.intra
  const spec = m.pairs[pairKey(a, b)]
  if (spec === undefined)
    throw new InvalidOptionError(`latency matrix has no entry for ${a} <-> ${b}`)
  return spec
}

/**
 * Reads a matrix from JSON: `{ "intra": {"latencyMs":1}, "pairs": {"a|b": {"latencyMs":40, "jitterMs":2, "loss":0.001}} }`.
 * @throws InvalidOptionError naming what is wrong
 */
export function loadMatrix(file: string): LatencyMatrix {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (cause) {
    throw new InvalidOptionError(
      `cannot read latency matrix ${file}: ${(cause as Error).message}`,
      { cause },
    )
  }
  return parseMatrix(raw)
}

/**
 * Checks one link: `latencyMs` required, `jitterMs` and `loss` default to 0.
 * @throws InvalidOptionError naming `where` and what it accepts
 */
export function parseLinkSpec(v: unknown, where: string): LinkSpec {
  const o = v as Record<string, unknown>
  const num = (x: unknown, d: number) =>
    x === undefined ? d : typeof x === 'number' && x >= 0 ? x : Number.NaN
  const s = {
    latencyMs: num(o?.latencyMs, Number.NaN),
    jitterMs: num(o?.jitterMs, 0),
    loss: num(o?.loss, 0),
  }
  if (![s.latencyMs, s.jitterMs, s.loss].every(Number.isFinite) || s.loss > 1) {
    throw new InvalidOptionError(
      `${where}: needs latencyMs >= 0, optional jitterMs >= 0 and 0 <= loss <= 1`,
    )
  }
  return s
}

/** Validates a parsed matrix. @throws InvalidOptionError */
export function parseMatrix(raw: unknown): LatencyMatrix {
  const o = raw as Record<string, unknown>
  if (typeof o !== 'object' || o === null || typeof o.pairs !== 'object' || o.pairs === null) {
    throw new InvalidOptionError('latency matrix must be an object with "pairs"')
  }
  const pairs: Record<string, LinkSpec> = {}
  const regions = new Set<string>()
  for (const [k, v] of Object.entries(o.pairs as Record<string, unknown>)) {
    const [a, b] = k.split('|')
    if (!a || !b)
      throw new InvalidOptionError(`latency matrix pair "${k}" must look like "region-a|region-b"`)
    regions.add(a)
    regions.add(b)
    pairs[pairKey(a, b)] = parseLinkSpec(v, `pair ${k}`)
  }
  return {
    regions: [...regions],
    intra: o.intra === undefined ? DEFAULT_MATRIX.intra : parseLinkSpec(o.intra, 'intra'),
    pairs,
  }
}
