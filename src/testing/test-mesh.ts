import type { Cache } from '../api/cache.js'
import { DEFAULT_KEYSPACE } from '../api/defaults.js'
import { type Clock, SystemClock } from '../clock/clock.js'
import type { Duration } from '../duration.js'
import { parseDuration } from '../duration.js'
import { InvalidOptionError, TimeoutError } from '../errors.js'
import type { CacheOptions } from '../node/cache-options.js'
import { checkOptionNames } from '../option-names.js'
import { linkBetween, parseLinkSpec } from '../sim/latency-matrix.js'
import { startSimNode } from '../sim/sim-node.js'
import { WanSim } from '../sim/wan-sim.js'
import { TESTING_DEFAULTS } from './defaults.js'
import { cutPairs, type PartitionOptions } from './partition-plan.js'
import { SkewedClock } from './skewed-clock.js'
import {
  type ResolvedTestMesh,
  resolveTestMeshOptions,
  type TestCacheOptions,
  type TestMeshOptions,
} from './test-mesh-options.js'

/** Names of {@link LinkOptions} and {@link ConvergedOptions}: a typo is an error. */
const LINK_OPTION_NAMES: ReadonlySet<string> = new Set(['jitterMs', 'loss'])
const CONVERGED_OPTION_NAMES: ReadonlySet<string> = new Set(['keyspace', 'timeout'])

/** Options of {@link TestMesh.setLatency}. */
export interface LinkOptions {
  /** Uniform extra delay in [0, jitterMs), ms. @default the mesh's `jitterMs` */
  jitterMs?: number
  /**
   * Probability that a chunk is "lost": TCP cannot drop bytes, so the chunk and what
   * follows it wait one more round trip plus 200 ms, as a retransmission would. @default 0
   */
  loss?: number
}

/** Options of {@link TestMesh.converged}. */
export interface ConvergedOptions {
  /** The keyspace whose replicas must agree. @default 'default' */
  keyspace?: string
  /** Longest wait. @default '10s' */
  timeout?: Duration
}

/**
 * Real meshcache nodes in this process, behind a simulated WAN: what
 * {@link createTestMesh} returns. Close it in `finally` (or `afterEach`, or with
 * `await using`); `close()` leaves no socket or timer behind.
 */
export interface TestMesh<V = unknown> {
  /** Every node, in the order of `regions` (all nodes of the first region first). */
  readonly caches: readonly Cache<V>[]
  /** The regions, in the order given. */
  readonly regions: readonly string[]
  /**
   * The nodes of one region.
   * @throws InvalidOptionError when the mesh has no such region
   */
  region(name: string): readonly Cache<V>[]
  /**
   * Cuts the listed regions off from every other region (or from `options.from`): bytes
   * between them stop, in both directions, and connections stay open, as on a link that
   * went dark; inside each side traffic goes on. With `dropConnections` the connections
   * across the cut are closed too, as after an outage long enough for TCP to give up.
   * Cuts add up until {@link heal}.
   * @throws InvalidOptionError for a region the mesh does not have, or a cut that cuts nothing
   */
  partition(regions: string | readonly string[], options?: PartitionOptions): Promise<void>
  /**
   * Lifts every cut: held bytes flow (as TCP retransmissions would deliver them), dropped
   * connections are redialled. Resolves once every node is connected to every other again.
   * @throws TimeoutError when the links do not come back within 10 s
   */
  heal(): Promise<void>
  /**
   * Sets the one-way latency between regions `a` and `b` from now on (both directions;
   * bytes already on their way keep theirs).
   * @throws InvalidOptionError for an unknown region, `a === b`, or a negative figure
   */
  setLatency(a: string, b: string, oneWayMs: number, options?: LinkOptions): void
  /**
   * Makes `cache`'s host clock run `ms` ahead of real time (negative: behind; 0 restores
   * it), as on a host whose time source is off. The node stamps its writes with it at
   * once; the mesh measures it against the peers' clocks (every second in a test mesh)
   * and corrects it to their median, flagging it in `stats().mesh.clock` when more than
   * 1 s off. Timers are not affected.
   * @throws InvalidOptionError when `cache` is not a node of this mesh, or `ms` is not a whole number
   */
  skewClock(cache: Cache<V>, ms: number): void
  /**
   * Resolves once every node holds the same versions of `keyspace` (equal anti-entropy
   * digests): everything written anywhere reached everyone.
   * @throws TimeoutError when they still differ after the timeout
   */
  converged(options?: ConvergedOptions): Promise<void>
  /** Closes every node and the simulated WAN; idempotent. Nothing of the mesh keeps the process alive after it. */
  close(): Promise<void>
  /** Same as {@link close}, for `await using mesh = await createTestMesh(...)`. */
  [Symbol.asyncDispose](): Promise<void>
}

class SimulatedMesh<V> implements TestMesh<V> {
  readonly caches: Cache<V>[] = []
  readonly regions: readonly string[]
  private readonly clocks = new Map<Cache<V>, SkewedClock>()
  private readonly blocked = new Set<Cache<V>>()
  private closing: Promise<void> | undefined

  constructor(
    private readonly sim: WanSim,
    private readonly plan: ResolvedTestMesh,
    private readonly clock: Clock,
  ) {
    this.regions = plan.matrix.regions
  }

  region(name: string): readonly Cache<V>[] {
    this.checkRegion(name)
    return this.caches.filter((c) => c.region === name)
  }

  async partition(
    regions: string | readonly string[],
    options: PartitionOptions = {},
  ): Promise<void> {
    const pairs = cutPairs(this.regions, regions, options)
    if (options.dropConnections === true) {
      // Closed (and refused until the heal) while the link still carries the goodbyes:
      // across a dark link each hang-up would wait for its timeout.
      const cut = (x: Cache<V>, y: Cache<V>) =>
        pairs.some(
          ([a, b]) => (x.region === a && y.region === b) || (x.region === b && y.region === a),
        )
      await Promise.all(
        this.caches.map((c) => {
          const others = this.caches.filter((o) => cut(c, o)).map((o) => o.nodeId)
          if (others.length === 0) return undefined
          this.blocked.add(c)
          return c.admin.mesh!.block(others)
        }),
      )
    }
    for (const [a, b] of pairs) this.sim.partition(a, b)
  }

  async heal(): Promise<void> {
    this.sim.heal()
    for (const c of this.blocked) c.admin.mesh!.unblock()
    this.blocked.clear()
    await this.connected(TESTING_DEFAULTS.settleTimeoutMs)
  }

  setLatency(a: string, b: string, oneWayMs: number, options: LinkOptions = {}): void {
    checkOptionNames(options, LINK_OPTION_NAMES, 'setLatency')
    this.checkRegion(a)
    this.checkRegion(b)
    if (a === b)
      throw new InvalidOptionError(
        `setLatency needs two different regions, got '${a}' twice (the latency inside a region is localMs)`,
      )
    const spec = parseLinkSpec(
      {
        latencyMs: oneWayMs,
        jitterMs: options.jitterMs ?? this.plan.matrix.intra.jitterMs,
        loss: options.loss ?? 0,
      },
      `setLatency('${a}', '${b}')`,
    )
    this.sim.setLink(a, b, spec)
  }

  skewClock(cache: Cache<V>, ms: number): void {
    const clock = this.clocks.get(cache)
    if (!this.caches.includes(cache))
      throw new InvalidOptionError('skewClock: that cache is not a node of this test mesh')
    // Whole ms, as a host clock reads: a fractional one would stamp writes peers refuse.
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms))
      throw new InvalidOptionError(`skewClock: ms must be a whole number of ms, got ${String(ms)}`)
    clock!.skewMs = ms
  }

  async converged(options: ConvergedOptions = {}): Promise<void> {
    checkOptionNames(options, CONVERGED_OPTION_NAMES, 'converged')
    const keyspace = options.keyspace ?? DEFAULT_KEYSPACE
    const ms =
      options.timeout === undefined
        ? TESTING_DEFAULTS.settleTimeoutMs
        : parseDuration(options.timeout, 'timeout')
    const agree = () => new Set(this.caches.map((c) => c.admin.digest(keyspace))).size <= 1
    await poll(this.clock, agree, ms, () => {
      const roots = this.caches.map((c) => `${c.region}:${c.admin.digest(keyspace) ?? '-'}`)
      return `replicas of '${keyspace}' still differ after ${ms} ms (digest roots ${roots.join(' ')})`
    })
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** Starts the nodes one after the other, each bootstrapped from those before it. */
  async start(cacheOptions: TestMeshOptions['cacheOptions']): Promise<void> {
    const largestRegion = Math.max(
      ...this.regions.map((r) => this.plan.nodes.filter((n) => n.region === r).length),
    )
    for (const place of this.plan.nodes) {
      const own: TestCacheOptions =
        typeof cacheOptions === 'function' ? cacheOptions(place) : (cacheOptions ?? {})
      for (const name of ['region', 'listen', 'peers'] as const)
        if (name in own)
          throw new InvalidOptionError(`cacheOptions.${name} is set by the test mesh; leave it out`)
      const clock = new SkewedClock(this.clock)
      const options: CacheOptions = {
        ...own,
        peers: this.caches.map((c) => c.addresses()[0]!),
        mesh: {
          ...TESTING_DEFAULTS.mesh,
          // Every node links every other, whatever the sizes: tests see one topology (a
          // region is a clique, and each node links every node of the other regions).
          localPeers: Math.max(1, largestRegion - 1),
          remotePeers: largestRegion,
          ...own.mesh,
        },
      }
      const cache = (await startSimNode(this.sim, place.region, place.index + 1, options, {
        hostNow: clock.now,
      })) as Cache<V>
      this.caches.push(cache)
      this.clocks.set(cache, clock)
    }
    await this.connected(this.plan.startTimeoutMs)
    // The links take their latencies only now (see createTestMesh).
    const { matrix } = this.plan
    for (const [i, a] of this.regions.entries()) {
      this.sim.setLink(a, a, matrix.intra)
      for (const b of this.regions.slice(i + 1)) this.sim.setLink(a, b, linkBetween(matrix, a, b))
    }
  }

  /** Resolves once every node is connected to every other and can send it writes. */
  private async connected(timeoutMs: number): Promise<void> {
    const others = this.caches.length - 1
    if (others === 0) return
    await Promise.all(this.caches.map((c) => c.waitForPeers(others, timeoutMs)))
  }

  private checkRegion(name: string): void {
    if (!this.regions.includes(name))
      throw new InvalidOptionError(
        `the test mesh has no region '${name}' (regions: ${this.regions.join(', ')})`,
      )
  }

  private async shutdown(): Promise<void> {
    // Held bytes are released first: a node closing across a cut would wait for its
    // goodbyes until its stop timeout.
    this.sim.heal()
    const results = await Promise.allSettled(this.caches.map((c) => c.close()))
    await this.sim.close()
    // libp2p's queues debounce their last events by 1 ms and sockets finish closing on
    // the next turn: a moment lets them go, so that nothing of the mesh is left once
    // close() resolves.
    await this.clock.sleep(TESTING_DEFAULTS.closeSettleMs)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  }
}

/** Polls `cond` every few ms until it holds. @throws TimeoutError with `why()` after `ms` */
async function poll(
  clock: Clock,
  cond: () => boolean,
  ms: number,
  why: () => string,
): Promise<void> {
  const deadline = clock.monotonic() + ms
  while (!cond()) {
    if (clock.monotonic() > deadline) throw new TimeoutError(why())
    await clock.sleep(TESTING_DEFAULTS.pollMs)
  }
}

/**
 * Starts real meshcache nodes in this process (real libp2p, real TCP sockets, each node
 * on its own 127.0.R.N loopback address) behind a simulated WAN that delays, holds and
 * releases their bytes, and resolves once every node is connected to every other.
 *
 * ```ts
 * const mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: 40 })
 * try {
 *   const [us1, , eu] = mesh.caches
 *   await mesh.partition('eu-west')
 *   await us1.set('k', 1) // eu-west does not see it...
 *   await mesh.heal()
 *   await mesh.converged() // ...until the heal
 * } finally {
 *   await mesh.close()
 * }
 * ```
 * @throws InvalidOptionError for invalid options (nothing is started);
 *   TimeoutError when the mesh does not form within `startTimeout` (what started is closed)
 */
export async function createTestMesh<V = unknown>(options: TestMeshOptions): Promise<TestMesh<V>> {
  const plan = resolveTestMeshOptions(options)
  // The mesh forms over instant links: a connection costs about eight one-way trips
  // (TCP, multistream, Noise, yamux, identify, hello, subscriptions) that no test wants
  // to wait for. The latencies apply once every node is connected to every other.
  const instant = { latencyMs: 0, jitterMs: 0, loss: 0 }
  const forming = {
    regions: plan.matrix.regions,
    intra: instant,
    pairs: Object.fromEntries(Object.keys(plan.matrix.pairs).map((k) => [k, instant])),
  }
  // The harness's clock: the nodes' host clocks are read through it (skewed at will), and
  // its waits keep the process alive, as a test runner awaiting them expects.
  const mesh = new SimulatedMesh<V>(new WanSim(forming), plan, new SystemClock({ keepAlive: true }))
  try {
    await mesh.start(options.cacheOptions)
  } catch (err) {
    await mesh.close().catch(() => undefined)
    throw err
  }
  return mesh
}
