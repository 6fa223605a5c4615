/** What a node knows of one peer. */
export interface PeerInfo {
  id: string
  /** Region the peer announced; undefined until its hello arrives. */
  region: string | undefined
  /**
   * The region is the member's own word: its hello over its own (authenticated)
   * connection, or its signed announcement. False while it is only what another member
   * listed (the relay's trust rule counts only the member's own word: docs/security.md).
   */
  regionOwn?: boolean
  /** Multiaddrs the peer can be dialled on (with `/p2p/<id>`). */
  addrs: string[]
  /**
   * The member sent this node its hello over its own connection (Noise proved its id): a
   * node that exists, not only a name in announcements. Only such members' regions count
   * toward an `ack: 'quorum'`.
   */
  spokeDirectly?: boolean
  /** Round-trip time, ms: EWMA of pings; undefined before the first. */
  rtt: number | undefined
  /** Wall-clock ms of the last sign of life (ping, message, hello). */
  lastSeen: number
  /** Failed requests or pings since the last success. */
  failures: number
  connected: boolean
  /** Wall-clock ms when the current connection opened (links are pruned after a grace). */
  connectedAt?: number
  /** Wall-clock ms since when this link (of this node's plan) has not been connected. */
  missingSince?: number
  /** Wall-clock ms since when the connection has not been a link of this node's plan. */
  extraSince?: number
  /** Failed dials in a row (a bootstrap address backs off by it; the fewest are dialled first). */
  dialFailures?: number
  /** Monotonic ms before which such a peer is not dialled again (membership's back-off). */
  dialAfter?: number
  /** Keyspaces whose `maxTtl` differs on this peer: no replication with it for them. */
  mismatched?: Set<string>
  /** Keyspaces the peer has open (from its hello). */
  keyspaces?: Set<string>
  /**
   * The peer's last hello said it takes write batches without their origin's signature
   * (`vouch`, docs/decisions/vouched-batches.md): a node may pass it such batches.
   */
  takesVouched?: boolean
  /** ...and so does every member of its region it is connected to: a hub may strip them for it. */
  vouchesRegion?: boolean
  /** Members whose announcements this node passed to this peer (of another region) since it connected. */
  originsAnnounced?: Set<string>
  /** Wall-clock ms since the peer is disconnected or failing dials; undefined while it is fine. */
  downSince?: number
}

/** A peer as ordered for reads and acks: lower score is better. */
export interface RankedPeer extends PeerInfo {
  score: number
}

const RTT_ALPHA = 0.3
const UNKNOWN_RTT_MS = 250
const OTHER_REGION_PENALTY_MS = 1_000
const FAILURE_PENALTY_MS = 500
const DISCONNECTED_PENALTY_MS = 100_000

/**
 * The peer table: region, RTT, liveness and failures per peer, and the ranking used for
 * read-through and direct acks (same region first, then by RTT, failures and
 * unreachable peers last). Pure: time is passed in.
 */
export class PeerTable {
  private readonly peers = new Map<string, PeerInfo>()
  /** Members forgotten lately, and until when hearsay cannot bring them back. */
  private readonly forgotten = new Map<string, number>()
  private readonly localRegion: string
  /** Bumped whenever the member list (ids and regions) changes. */
  version = 0
  private digested: { version: number; value: string } | undefined

  /**
   * @param onChange - the member list changed (called at each change: debounce it)
   * @param maxMembers - most members heard of ({@link hasRoomFor}); a connecting one is
   *   always added
   */
  constructor(
    localRegion: string,
    private readonly onChange?: () => void,
    private readonly maxMembers = Number.POSITIVE_INFINITY,
  ) {
    this.localRegion = localRegion
  }

  private bump(): void {
    this.version++
    this.onChange?.()
  }

  /** The entry for `id`, created when unknown. */
  upsert(id: string, now: number): PeerInfo {
    let p = this.peers.get(id)
    if (p === undefined) {
      p = {
        id,
        region: undefined,
        addrs: [],
        rtt: undefined,
        lastSeen: now,
        failures: 0,
        connected: false,
      }
      this.peers.set(id, p)
      this.bump()
    }
    return p
  }

  /**
   * Sets a peer's region. `own`: the member said so itself (its hello, its signed
   * announcement), which replaces anything heard; else it is hearsay (another member's
   * list, a batch), kept only while nothing better is known.
   */
  setRegion(p: PeerInfo, region: string, own = false): void {
    if (own) p.regionOwn = true
    else if (p.region !== undefined) return
    if (p.region === region) return
    p.region = region
    this.bump()
  }

  /** The region `id` stated itself (undefined when unknown or only heard from others). */
  ownRegion(id: string): string | undefined {
    const p = this.peers.get(id)
    return p?.regionOwn === true ? p.region : undefined
  }

  /** Forgets a member (it left, or was not heard of for a long time). */
  /**
   * Forgets `id` (it left or crashed). Until `holdUntil` (wall-clock ms), other peers'
   * member lists cannot bring it back ({@link learn}): nodes forget at different times,
   * and each would otherwise teach the dead member back to the others.
   */
  remove(id: string, holdUntil = 0): void {
    if (this.peers.delete(id)) this.bump()
    if (holdUntil > 0) this.forgotten.set(id, holdUntil)
  }

  /**
   * A member another peer listed (hearsay): added unless it was forgotten lately. Direct
   * evidence (a connection, its own announcement, its writes) goes through {@link upsert}.
   * @returns the entry, or undefined when held off
   */
  learn(id: string, now: number): PeerInfo | undefined {
    const until = this.forgotten.get(id)
    if (until !== undefined) {
      if (until > now && !this.peers.has(id)) return undefined
      this.forgotten.delete(id)
    }
    if (!this.makeRoomFor(id)) return undefined
    return this.upsert(id, now)
  }

  get(id: string): PeerInfo | undefined {
    return this.peers.get(id)
  }

  /**
   * Whether `id` is known or may be added without a connection of its own (hearsay, a
   * relayed announcement). At `maxMembers` the member heard of least lately that is not
   * connected and never spoke to this node directly is forgotten to make room: a flood of
   * made-up members displaces itself, not the members this node has met.
   * @returns false when every member is connected or has spoken directly
   */
  makeRoomFor(id: string): boolean {
    if (this.peers.size < this.maxMembers || this.peers.has(id)) return true
    let oldest: PeerInfo | undefined
    for (const p of this.peers.values()) {
      if (p.connected || p.spokeDirectly === true) continue
      if (oldest === undefined || p.lastSeen < oldest.lastSeen) oldest = p
    }
    if (oldest === undefined) return false
    this.remove(oldest.id)
    return true
  }

  /** Records a measured round trip (ms). */
  recordRtt(id: string, rtt: number, now: number): void {
    const p = this.upsert(id, now)
    p.rtt = p.rtt === undefined ? rtt : p.rtt + RTT_ALPHA * (rtt - p.rtt)
    p.lastSeen = now
    p.failures = 0
  }

  recordFailure(id: string): void {
    const p = this.peers.get(id)
    if (p) p.failures++
  }

  /**
   * A digest of the member list (the members whose region is known, and `self`): equal
   * lists give equal digests; link control compares them to spread members (its count and
   * an XOR of the ids' hashes, so it is kept up to date as members come and go).
   */
  digest(self: string): string {
    if (this.digested?.version !== this.version) {
      let n = 1
      let x = idHash(self)
      for (const p of this.peers.values()) {
        if (p.region === undefined) continue
        n++
        x ^= idHash(p.id)
      }
      this.digested = { version: this.version, value: `${n}.${(x >>> 0).toString(36)}` }
    }
    return this.digested.value
  }

  /** Members known (this node not included). */
  get size(): number {
    return this.peers.size
  }

  all(): PeerInfo[] {
    return [...this.peers.values()]
  }

  /** Regions with at least one connected peer, this node's own excluded. */
  remoteRegions(): Set<string> {
    const out = new Set<string>()
    for (const p of this.peers.values()) {
      if (p.connected && p.region !== undefined && p.region !== this.localRegion) out.add(p.region)
    }
    return out
  }

  /** Score of a peer: an estimate of the ms a request to it costs (lower is better). */
  score(p: PeerInfo): number {
    let s = p.rtt ?? UNKNOWN_RTT_MS
    if (p.region !== this.localRegion) s += OTHER_REGION_PENALTY_MS
    s += p.failures * FAILURE_PENALTY_MS
    if (!p.connected) s += DISCONNECTED_PENALTY_MS
    return s
  }

  /** Peers (region known; `connected`: connected now) whose hello listed `keyspace`. */
  holders(keyspace: string, connected: boolean): number {
    let n = 0
    for (const p of this.peers.values())
      if (p.region !== undefined && p.keyspaces?.has(keyspace) && (!connected || p.connected)) n++
    return n
  }

  /** Connected peers that announced a region, best first. */
  ranked(): RankedPeer[] {
    return [...this.peers.values()]
      .filter((p) => p.connected && p.region !== undefined)
      .map((p) => ({ ...p, score: this.score(p) }))
      .sort((a, b) => a.score - b.score)
  }

  /** The best-scored connected peer of each region other than ours. */
  bestPerRemoteRegion(): Map<string, RankedPeer> {
    const out = new Map<string, RankedPeer>()
    for (const p of this.ranked()) {
      if (p.region !== this.localRegion && !out.has(p.region!)) out.set(p.region!, p)
    }
    return out
  }
}

/** FNV-1a over a string's UTF-16 code units, 32 bits. */
function idHash(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return h
}
