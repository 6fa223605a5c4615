import type { LinkStats } from '../ports/mesh-options.js'
import { LinkPlan, type NodeLinks } from '../topology/link-plan.js'
import { ringHash } from '../topology/ring-hash.js'
import type { MeshContext } from './mesh-context.js'

/**
 * Which members this node keeps connections to: the pure {@link LinkPlan} (up to
 * `localPeers` same-region links and about `remotePeers` links into each other region,
 * symmetric, the same on every node for the same member list) over the members this node
 * knows. The plan is rebuilt when the member list changes; membership redials only links
 * and hangs up on other connections after a grace period.
 */
export class Links {
  private readonly ctx: MeshContext
  private plan: LinkPlan | undefined
  private planKey = ''
  private version = -1
  private mine: NodeLinks | undefined
  private readonly relayNeighbors: () => ReadonlySet<string>

  /** @param relayNeighbors - the members this node exchanges relay frames with (also links) */
  constructor(ctx: MeshContext, relayNeighbors: () => ReadonlySet<string> = () => new Set()) {
    this.ctx = ctx
    this.relayNeighbors = relayNeighbors
  }

  /** This node's links under the current member list (undefined before any peer's region is known). */
  current(): NodeLinks | undefined {
    this.refresh()
    return this.mine
  }

  /** True when the plan is a full mesh (or not built yet): every known member is a link. */
  get fullMesh(): boolean {
    this.refresh()
    return this.plan?.fullMesh ?? true
  }

  /**
   * True when `id` is one of this node's links (every member is, in a full mesh): a link
   * of the plan, or a neighbor of the relay tree (the region's hub, the other hubs).
   */
  isLink(id: string): boolean {
    const links = this.current()
    return (
      links === undefined ||
      this.plan!.fullMesh ||
      links.all.has(id) ||
      this.relayNeighbors().has(id)
    )
  }

  /** What `stats()` shows of the links (the relay part is filled by the node). */
  summary(): Omit<LinkStats, 'relay'> {
    const links = this.current()
    return {
      fullMesh: this.fullMesh,
      members: this.plan?.size ?? 1,
      local: links?.local ?? [],
      remote: Object.fromEntries(links?.remote ?? []),
    }
  }

  /** Rebuilds the plan when the member list (ids and regions) changed. */
  private refresh(): void {
    const { ctx } = this
    if (ctx.peers.version === this.version) return
    this.version = ctx.peers.version
    const members = [{ id: ctx.self, region: ctx.region }]
    let h = ringHash(`${ctx.self}\u0000${ctx.region}`)
    for (const p of ctx.peers.all()) {
      if (p.region === undefined || p.id === ctx.self) continue
      members.push({ id: p.id, region: p.region })
      h = (h ^ ringHash(`${p.id}\u0000${p.region}`)) >>> 0
    }
    const key = `${members.length}:${h}`
    if (key === this.planKey && this.plan !== undefined) return
    this.planKey = key
    this.plan = new LinkPlan(members, {
      localPeers: ctx.opts.localPeers,
      remotePeers: ctx.opts.remotePeers,
    })
    this.mine = this.plan.linksOf(ctx.self)
  }
}
