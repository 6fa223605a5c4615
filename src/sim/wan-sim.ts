import { connect, createServer, type Server, type Socket } from 'node:net'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { InvalidOptionError } from '../errors.js'
import { DelayPipe } from './delay-pipe.js'
import {
  DEFAULT_MATRIX,
  type LatencyMatrix,
  type LinkSpec,
  linkBetween,
  parseLinkSpec,
} from './latency-matrix.js'

interface Target {
  region: string
  host: string
  port: number
  /** Proxy address per source region. */
  proxies: Map<string, { server: Server; port: number }>
}

/**
 * A user-space WAN on loopback: every node listens on its own 127.0.R.N address; for
 * each node and each source region a proxy forwards TCP with the pair's latency, jitter
 * and loss, and blackholes traffic between partitioned regions (bytes stop, sockets stay
 * open). Dials are rewritten to the proxy of the dialler's region by {@link rewriterFor}.
 * The proxy connects on from an address of the source region (127.0.253.R, R the region's
 * place in the matrix), so a node sees its peers' connections come from as many hosts as
 * there are regions, as over a real WAN, not all from 127.0.0.1 (whose admission bound
 * per host would then throttle a whole fleet: docs/decisions/join-under-load.md).
 */
export class WanSim {
  readonly matrix: LatencyMatrix
  private readonly targets = new Map<string, Target>()
  private readonly cuts = new Set<string>()
  private readonly pipes = new Set<DelayPipe>()
  private readonly sockets = new Set<Socket>()
  private readonly proxyHost: string
  private readonly carried = new Map<string, number>()

  constructor(matrix: LatencyMatrix = DEFAULT_MATRIX, proxyHost = '127.0.254.1') {
    // A copy: setLink() changes this simulator's links, never the caller's matrix (or
    // DEFAULT_MATRIX, which every simulator shares).
    this.matrix = {
      regions: [...matrix.regions],
      intra: { ...matrix.intra },
      pairs: { ...matrix.pairs },
    }
    this.proxyHost = proxyHost
  }

  /** Registers a node listening on `addr` (a /ip4/.../tcp/... multiaddr) in `region`. */
  async addNode(region: string, addr: string | Multiaddr): Promise<void> {
    const { host, port } = hostPort(multiaddr(addr.toString()))
    const key = `${host}:${port}`
    if (this.targets.has(key)) return
    const target: Target = { region, host, port, proxies: new Map() }
    this.targets.set(key, target)
    const sources = new Set([...this.matrix.regions, region])
    for (const src of sources) {
      const server = createServer((client) => this.splice(client, src, target))
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, this.proxyHost, () => resolve())
      })
      const port = (server.address() as { port: number }).port
      target.proxies.set(src, { server, port })
    }
  }

  /**
   * The proxy routes of dialers in `region`: `host:port` of each simulated node -> the
   * proxy address that delays traffic from `region` to it. Nodes in other threads or
   * processes dial through these with {@link tableRewriter}.
   */
  routes(region: string): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [key, target] of this.targets) {
      const proxy = target.proxies.get(region)
      if (proxy) out[key] = `/ip4/${this.proxyHost}/tcp/${proxy.port}`
    }
    return out
  }

  /** A dial rewriter for nodes of `region`: addresses of simulated nodes go through their proxy. */
  rewriterFor(region: string): (ma: Multiaddr) => Multiaddr {
    return (ma) => {
      let hp: { host: string; port: number }
      try {
        hp = hostPort(ma)
      } catch {
        return ma
      }
      const target = this.targets.get(`${hp.host}:${hp.port}`)
      const proxy = target?.proxies.get(region)
      if (target === undefined || proxy === undefined) return ma
      const rest = ma.toString().replace(/^\/ip4\/[^/]+\/tcp\/\d+/, '')
      return multiaddr(`/ip4/${this.proxyHost}/tcp/${proxy.port}${rest}`)
    }
  }

  /** Cuts traffic between regions `a` and `b` (both ways). */
  partition(a: string, b: string): void {
    this.cuts.add(pair(a, b))
  }

  /** Cuts `region` off from every other region. */
  isolate(region: string): void {
    for (const other of this.matrix.regions) if (other !== region) this.partition(region, other)
  }

  /** Heals every cut (or the one between `a` and `b`); held bytes flow again. */
  heal(a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) this.cuts.delete(pair(a, b))
    else this.cuts.clear()
    for (const p of this.pipes) p.release()
  }

  /** Pairs cut now, as "a|b". */
  get partitions(): string[] {
    return [...this.cuts]
  }

  /**
   * Bytes the proxies delivered since the simulator started, per directed region pair
   * (`"from->to"`, both directions of every connection; a region to itself is the LAN).
   */
  bytesCarried(): Map<string, number> {
    return new Map(this.carried)
  }

  /** Bytes delivered between different regions (the WAN), both directions, since start. */
  get wanBytes(): number {
    let sum = 0
    for (const [k, v] of this.carried) {
      const [from, to] = k.split('->')
      if (from !== to) sum += v
    }
    return sum
  }

  /**
   * Changes the link between regions `a` and `b` (both directions; `a === b` sets the
   * link within every region). Bytes sent from now on take the new latency; bytes already
   * on their way keep theirs, and a stream never reorders.
   * @throws InvalidOptionError when a spec field is negative, or loss is above 1
   */
  setLink(a: string, b: string, spec: LinkSpec): void {
    const checked = parseLinkSpec(spec, `link ${a} <-> ${b}`)
    if (a === b) this.matrix.intra = checked
    else this.matrix.pairs[pair(a, b)] = checked
  }

  /** One-way latency between two regions, ms. */
  latency(a: string, b: string): number {
    return linkBetween(this.matrix, a, b).latencyMs
  }

  async close(): Promise<void> {
    for (const p of this.pipes) p.close()
    for (const s of this.sockets) s.destroy()
    await Promise.all(
      [...this.targets.values()].flatMap((t) =>
        [...t.proxies.values()].map((p) => new Promise((r) => p.server.close(() => r(undefined)))),
      ),
    )
    this.targets.clear()
  }

  /** The loopback address connections from `region` come from (127.0.0.1 for a region not in the matrix). */
  private sourceHost(region: string): string {
    const i = this.matrix.regions.indexOf(region)
    return i < 0 || i > 253 ? '127.0.0.1' : `127.0.253.${i + 1}`
  }

  private count(key: string, bytes: number): void {
    this.carried.set(key, (this.carried.get(key) ?? 0) + bytes)
  }

  private splice(client: Socket, srcRegion: string, target: Target): void {
    const link = {
      spec: () => linkBetween(this.matrix, srcRegion, target.region),
      blocked: () => this.cuts.has(pair(srcRegion, target.region)),
    }
    const upKey = `${srcRegion}->${target.region}`
    const downKey = `${target.region}->${srcRegion}`
    const upstream = connect({
      port: target.port,
      host: target.host,
      localAddress: this.sourceHost(srcRegion),
    })
    const up = new DelayPipe(upstream, { ...link, delivered: (n) => this.count(upKey, n) })
    const down = new DelayPipe(client, { ...link, delivered: (n) => this.count(downKey, n) })
    for (const s of [client, upstream]) this.sockets.add(s)
    this.pipes.add(up)
    this.pipes.add(down)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.on('data', (d) => up.push(d))
    upstream.on('data', (d) => down.push(d))
    const end = () => {
      up.close()
      down.close()
      this.pipes.delete(up)
      this.pipes.delete(down)
      client.destroy()
      upstream.destroy()
      this.sockets.delete(client)
      this.sockets.delete(upstream)
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  }
}

function pair(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

function hostPort(ma: Multiaddr): { host: string; port: number } {
  const c = ma.getComponents()
  const ip = c.find((x) => x.name === 'ip4')?.value
  const port = c.find((x) => x.name === 'tcp')?.value
  if (ip === undefined || port === undefined)
    throw new InvalidOptionError(`not a /ip4/.../tcp/... address: ${ma}`)
  return { host: ip, port: Number(port) }
}

/**
 * A dial rewriter from a routes table ({@link WanSim.routes}) that can be updated in
 * place: for nodes running outside the simulator's thread.
 */
export function tableRewriter(routes: Map<string, string>): (ma: Multiaddr) => Multiaddr {
  return (ma) => {
    const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)(.*)$/.exec(ma.toString())
    const via = m ? routes.get(`${m[1]}:${m[2]}`) : undefined
    return via === undefined || m === null ? ma : multiaddr(`${via}${m[3]}`)
  }
}
