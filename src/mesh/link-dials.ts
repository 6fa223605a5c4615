import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '../log.js'
import {
  bootstrapBackoffMs,
  type ExtraConnection,
  extraConnection,
  pickDials,
} from './connection-rules.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { Links } from './links.js'
import type { MeshContext } from './mesh-context.js'
import type { PeerInfo } from './peer-table.js'

const log = logger('meshcache:mesh')

/**
 * Membership's dials and hang-ups: at most `dialsInFlight` dials at once (the fewest
 * failures first), a bootstrap peer's back-off, and who closes a connection that is not a
 * link (connection-rules.ts holds the rules; docs/decisions/join-under-load.md).
 */
export class LinkDials {
  private readonly ctx: MeshContext
  private readonly links: Links
  private readonly dialingNow = new Set<string>()
  /** The last {@link dialSome} left peers waiting for a slot. */
  private waiting = false
  /** Called when a slot frees while peers wait (the owner's next pass). */
  private readonly slotFreed: () => void

  constructor(ctx: MeshContext, links: Links, slotFreed: () => void) {
    this.ctx = ctx
    this.links = links
    this.slotFreed = slotFreed
  }

  get inFlight(): number {
    return this.dialingNow.size
  }

  dialing(id: string): boolean {
    return this.dialingNow.has(id)
  }

  /** Dials as many of `wanted` (none of them in flight) as the window has room for. */
  dialSome(wanted: PeerInfo[]): void {
    const picked = pickDials(wanted, MESH_CONSTANTS.dialsInFlight - this.dialingNow.size)
    this.waiting = picked.length < wanted.length
    for (const p of picked) this.dial(p)
  }

  /** A connection that is not a link: still in its grace, to close, or the dialler's to close. */
  extra(p: PeerInfo, now: number): ExtraConnection {
    return extraConnection(
      now - Math.max(p.connectedAt ?? now, p.extraSince ?? now),
      this.ctx.opts.linkGraceMs,
      MESH_CONSTANTS.inboundGraceFactor,
      () =>
        this.ctx.node
          .getConnections(peerIdFromString(p.id))
          .some((c) => c.direction === 'outbound'),
    )
  }

  hangUp(id: string): void {
    log('closing the connection to %s: not a link', id)
    this.ctx.node
      .hangUp(peerIdFromString(id), {
        signal: AbortSignal.timeout(MESH_CONSTANTS.hangUpTimeoutMs),
      })
      .catch((err: Error) => log('hang up on %s failed: %s', id, err.message))
  }

  private dial(p: PeerInfo): void {
    const { ctx } = this
    let addrs: ReturnType<typeof multiaddr>[]
    try {
      addrs = p.addrs.map((a) => multiaddr(a))
    } catch (err) {
      // Addresses come from peers: one we cannot parse must not stop the loop.
      log('cannot dial %s: %s', p.id, (err as Error).message)
      return
    }
    this.dialingNow.add(p.id)
    ctx.node
      .dial(addrs, { signal: AbortSignal.timeout(MESH_CONSTANTS.connectTimeoutMs) })
      .then(() => {
        p.connected = true
        p.downSince = undefined
        p.dialFailures = 0
        p.dialAfter = undefined
      })
      .catch((err: Error) => {
        p.failures++
        p.dialFailures = (p.dialFailures ?? 0) + 1
        // A bootstrap peer, or a member taken for down that is no link, waits before the
        // next dial; links keep the redial pace (a partition heals as soon as it lifts).
        if (p.region === undefined || !this.links.isLink(p.id)) {
          const { redialIntervalMs } = ctx.opts
          const wait = bootstrapBackoffMs(
            p.dialFailures,
            redialIntervalMs,
            MESH_CONSTANTS.bootstrapBackoffMaxMs,
            Math.random(),
          )
          p.dialAfter = ctx.clock.monotonic() + wait
        }
        // Another path (the peer dialing us) may have connected meanwhile: not down.
        p.connected = ctx.node.getConnections(peerIdFromString(p.id)).length > 0
        if (!p.connected) p.downSince ??= ctx.clock.now()
        log('dial %s failed: %s', p.id, err.message)
      })
      .finally(() => {
        this.dialingNow.delete(p.id)
        // A slot is free for a dial the last pass left waiting: not a whole interval later.
        if (this.waiting) this.slotFreed()
      })
  }
}
