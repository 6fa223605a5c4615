import type { Duration } from '../duration.js'
import { parseDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import type { CacheOptions } from '../node/cache-options.js'
import { checkOptionNames } from '../option-names.js'
import type { LatencyMatrix, LinkSpec } from '../sim/latency-matrix.js'
import { TESTING_DEFAULTS } from './defaults.js'

/** Options of every node of a test mesh: `createCache` options, less what the mesh sets. */
export type TestCacheOptions = Omit<CacheOptions, 'region' | 'listen' | 'peers'>

/** Which node an options function is asked about: its region and its number in it (from 0). */
export interface TestNodePlace {
  /** The node's region. */
  region: string
  /** Its number among the nodes of that region, from 0. */
  index: number
}

/** Options of {@link createTestMesh}. */
export interface TestMeshOptions {
  /**
   * Nodes per region, e.g. `{ 'us-east': 2, 'eu-west': 1 }`; `caches` lists them in this
   * order. Region names follow `createCache`'s `region` rules.
   */
  regions: Record<string, number>
  /**
   * One-way latency between regions, ms: one number for every pair, or one per pair keyed
   * `'a|b'` (either order; every pair must be named), e.g.
   * `{ 'us-east|eu-west': 40, 'us-east|ap-south': 95, 'eu-west|ap-south': 60 }`.
   * @default 20
   */
  oneWayMs?: number | Record<string, number>
  /** One-way latency between two nodes of the same region, ms. @default 0 */
  localMs?: number
  /** Uniform extra delay in [0, jitterMs) on every link, ms; never reorders a stream. @default 0 */
  jitterMs?: number
  /**
   * `createCache` options of every node (keyspace defaults, `mesh` tuning, `dataDir`...),
   * or a function that returns them per node. `region`, `listen` and `peers` are the
   * mesh's to set. Mesh timers default to {@link TESTING_DEFAULTS}`.mesh`.
   */
  cacheOptions?: TestCacheOptions | ((node: TestNodePlace) => TestCacheOptions)
  /**
   * Longest wait for every node to be connected to every other.
   * @default '10s', or 2 s per node when more
   */
  startTimeout?: Duration
}

/** Names of {@link TestMeshOptions}: a misspelt one is an error, not a default. */
const TEST_MESH_OPTION_NAMES: ReadonlySet<string> = new Set([
  'regions',
  'oneWayMs',
  'localMs',
  'jitterMs',
  'cacheOptions',
  'startTimeout',
])

/** {@link TestMeshOptions} checked once: the latency matrix and the nodes to start. */
export interface ResolvedTestMesh {
  matrix: LatencyMatrix
  nodes: TestNodePlace[]
  startTimeoutMs: number
}

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`)

/** @throws InvalidOptionError unless `v` is a finite number >= 0 */
function ms(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new InvalidOptionError(`${name} must be a number of ms >= 0, got ${String(v)}`)
  return v
}

/**
 * Checks the options of {@link createTestMesh} before anything starts.
 * @throws InvalidOptionError naming the option and what it accepts
 */
export function resolveTestMeshOptions(options: TestMeshOptions): ResolvedTestMesh {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('createTestMesh options must be an object with `regions`')
  checkOptionNames(options, TEST_MESH_OPTION_NAMES, 'createTestMesh')
  const { regions } = options
  if (typeof regions !== 'object' || regions === null || Object.keys(regions).length === 0)
    throw new InvalidOptionError(
      "regions must name at least one region with its node count, e.g. { 'us-east': 2, 'eu-west': 1 }",
    )
  const names = Object.keys(regions)
  if (names.length > TESTING_DEFAULTS.maxRegions)
    throw new InvalidOptionError(
      `at most ${TESTING_DEFAULTS.maxRegions} regions, got ${names.length}`,
    )
  const nodes: TestNodePlace[] = []
  for (const region of names) {
    const count = regions[region]
    if (!Number.isInteger(count) || count! < 1 || count! > TESTING_DEFAULTS.maxNodesPerRegion)
      throw new InvalidOptionError(
        `regions['${region}'] must be a node count from 1 to ${TESTING_DEFAULTS.maxNodesPerRegion}, got ${String(count)}`,
      )
    for (let index = 0; index < count!; index++) nodes.push({ region, index })
  }
  const jitterMs = ms(options.jitterMs ?? TESTING_DEFAULTS.jitterMs, 'jitterMs')
  const link = (latencyMs: number): LinkSpec => ({ latencyMs, jitterMs, loss: 0 })
  const oneWay = options.oneWayMs ?? TESTING_DEFAULTS.oneWayMs
  const pairs: Record<string, LinkSpec> = {}
  if (typeof oneWay === 'number') {
    ms(oneWay, 'oneWayMs')
    for (const [i, a] of names.entries())
      for (const b of names.slice(i + 1)) pairs[pairKey(a, b)] = link(oneWay)
  } else if (typeof oneWay === 'object' && oneWay !== null) {
    for (const [key, value] of Object.entries(oneWay)) {
      const [a, b, rest] = key.split('|')
      if (!a || !b || rest !== undefined || a === b || !(a in regions) || !(b in regions))
        throw new InvalidOptionError(
          `oneWayMs key '${key}' must be two different regions of the mesh as 'a|b' (regions: ${names.join(', ')})`,
        )
      pairs[pairKey(a, b)] = link(ms(value, `oneWayMs['${key}']`))
    }
    for (const [i, a] of names.entries())
      for (const b of names.slice(i + 1))
        if (pairs[pairKey(a, b)] === undefined)
          throw new InvalidOptionError(`oneWayMs names no latency for '${a}|${b}'`)
  } else {
    throw new InvalidOptionError(
      `oneWayMs must be ms for every pair or an object per pair ('a|b': ms), got ${String(oneWay)}`,
    )
  }
  const startTimeoutMs =
    options.startTimeout === undefined
      ? Math.max(
          TESTING_DEFAULTS.startTimeoutMs,
          nodes.length * TESTING_DEFAULTS.startTimeoutPerNodeMs,
        )
      : parseDuration(options.startTimeout, 'startTimeout')
  return {
    matrix: {
      regions: names,
      intra: link(ms(options.localMs ?? TESTING_DEFAULTS.localMs, 'localMs')),
      pairs,
    },
    nodes,
    startTimeoutMs,
  }
}
