import { logger } from '../log.js'
import type { MeshStats } from '../ports/mesh-options.js'
import type { MeshView } from '../ports/mesh-view.js'
import { MESH_VIEW_CONSTANTS } from './defaults.js'
import { announceEveryMs } from './member-gossip.js'
import type { MeshContext } from './mesh-context.js'
import { buildMeshView, type SummaryEntry, type ViewMember } from './mesh-view.js'
import {
  baselineOf,
  type NodeSummary,
  readSummary,
  type SummaryBaseline,
  summarize,
  writeSummary,
} from './node-summary.js'

const log = logger('meshcache:mesh')

/** What the board reads of its node (wired by `MeshNode`). */
export interface BoardParts {
  /** The node's stats now. */
  stats(): MeshStats
  /** True once the node caught up after its start. */
  ready(): boolean
  /** True when `id` is one of this node's planned links (link plan or relay tree). */
  isLink(id: string): boolean
  /** Publishes this node's member announcement now (it carries {@link MeshViewBoard.own}). */
  announce(): void
}

/**
 * The mesh view's state on one node: its own summary, which rides in each of its member
 * announcements (so summaries spread the way announcements do, one small item per member
 * per announce interval, and reading the view asks no peer anything), the last summary of
 * every member (bounded: `maxSummaries`, each checked by `readSummary`), and the view built
 * from them, served from cache for `viewCacheMs`. A change of this node's flags or relay
 * role is announced at once (at most every `newsMinIntervalMs`) rather than at the next
 * periodic announcement.
 */
export class MeshViewBoard {
  /** Members' last summaries, oldest arrival first. */
  private readonly summaries = new Map<string, SummaryEntry>()
  /** Cumulative figures every tick, oldest first: the recent window starts at one of them. */
  private readonly history: { at: number; baseline: SummaryBaseline }[] = []
  private cached: { at: number; view: MeshView } | undefined
  private sentKey = ''
  private sentAt = Number.NEGATIVE_INFINITY

  constructor(
    private readonly ctx: MeshContext,
    private readonly parts: BoardParts,
  ) {}

  /** This node's summary as it travels in its announcement (remembered as announced). */
  own(): unknown[] {
    const s = this.summarize(this.parts.stats())
    this.sentKey = newsKey(s)
    this.sentAt = this.ctx.clock.monotonic()
    return writeSummary(s)
  }

  /**
   * A member's announcement carried `raw`: kept when well-formed, else counted as malformed.
   * @returns true when the member's flags or relay role differ from its last summary's (news)
   */
  receive(id: string, raw: unknown): boolean {
    const summary = readSummary(raw)
    if (summary === undefined) {
      this.ctx.replicas.reject('malformed')
      log('malformed mesh summary from %s', id)
      return false
    }
    const before = this.summaries.get(id)
    const news = before === undefined || newsKey(before.summary) !== newsKey(summary)
    // Re-inserted: the map's order is arrival order, so the oldest goes first past the bound.
    this.summaries.delete(id)
    this.summaries.set(id, { summary, receivedAt: this.ctx.clock.now() })
    if (this.summaries.size > MESH_VIEW_CONSTANTS.maxSummaries) {
      const oldest = this.summaries.keys().next().value
      if (oldest !== undefined) this.summaries.delete(oldest)
    }
    return news
  }

  /**
   * Every ping interval: records where the recent window starts, and announces at once
   * when this node's flags or relay role changed since its last announcement.
   */
  tick(): void {
    const { ctx } = this
    const stats = this.parts.stats()
    const mono = ctx.clock.monotonic()
    this.history.push({ at: mono, baseline: baselineOf(stats) })
    // Keep the newest snapshot at least a window old (where the window starts) and the rest.
    const start = mono - MESH_VIEW_CONSTANTS.recentWindowMs
    while (this.history.length > 1 && this.history[1]!.at <= start) this.history.shift()
    if (this.history.length > MESH_VIEW_CONSTANTS.maxSnapshots) this.history.shift()
    if (ctx.isClosed()) return
    const key = newsKey(this.summarize(stats))
    if (key !== this.sentKey && mono - this.sentAt >= MESH_VIEW_CONSTANTS.newsMinIntervalMs)
      this.parts.announce()
  }

  /** The mesh as this node sees it (built at most once per `viewCacheMs`). */
  view(): MeshView {
    const { ctx } = this
    const mono = ctx.clock.monotonic()
    if (this.cached !== undefined && mono - this.cached.at < MESH_VIEW_CONSTANTS.viewCacheMs)
      return this.cached.view
    const stats = this.parts.stats()
    const now = ctx.clock.now()
    const offsets = new Map(stats.peers.map((p) => [p.id, p.clockOffsetMs]))
    const members: ViewMember[] = [{ id: ctx.self, region: ctx.region }]
    const known = new Set([ctx.self])
    for (const p of ctx.peers.all()) {
      if (p.region === undefined || p.id === ctx.self) continue
      known.add(p.id)
      const offset = offsets.get(p.id)
      members.push({
        id: p.id,
        region: p.region,
        ...(offset === undefined ? {} : { measuredOffsetMs: offset }),
      })
    }
    // Forgotten members' summaries go with them.
    for (const id of this.summaries.keys()) if (!known.has(id)) this.summaries.delete(id)
    const summaries = new Map(this.summaries)
    summaries.set(ctx.self, { summary: this.summarize(stats), receivedAt: now })
    const view = buildMeshView({
      self: ctx.self,
      region: ctx.region,
      now,
      recentWindowMs: MESH_VIEW_CONSTANTS.recentWindowMs,
      staleAfterMs: announceEveryMs(ctx) * MESH_VIEW_CONSTANTS.staleAfterAnnounces,
      members,
      summaries,
    })
    this.cached = { at: mono, view }
    return view
  }

  /** This node's summary from `stats`, its recent window starting at the oldest kept snapshot. */
  private summarize(stats: MeshStats): NodeSummary {
    const planned = new Set<string>()
    for (const p of this.ctx.peers.all())
      if (p.region !== undefined && p.id !== this.ctx.self && this.parts.isLink(p.id))
        planned.add(p.id)
    return summarize(stats, this.parts.ready(), planned, this.history[0]?.baseline)
  }
}

/** What makes news of a summary: its flags, its relay role, the regions it hears from. */
function newsKey(s: NodeSummary): string {
  return [
    s.ready,
    s.hub,
    s.parent,
    s.clockSkewed,
    s.refusingWrites,
    s.relay.dropped > 0,
    s.links.connected < s.links.planned,
    s.lag.map((l) => l.region).join(','),
  ].join('|')
}
