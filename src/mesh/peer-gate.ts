import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * Who may connect: an optional allowlist of peer ids, and a run-time block list used to
 * cut peers off (partitions in tests, demo and operations). Checked on dial and on every
 * inbound connection once the peer's identity is proven by Noise.
 */
export class PeerGate {
  private readonly blocked = new Set<string>()
  private readonly allow: ReadonlySet<string> | undefined

  constructor(allowPeers?: Iterable<string>) {
    this.allow = allowPeers === undefined ? undefined : new Set(allowPeers)
  }

  /** True when `peer` may not connect. */
  denies(peer: PeerId | string): boolean {
    const id = peer.toString()
    return this.blocked.has(id) || (this.allow !== undefined && !this.allow.has(id))
  }

  /** True when `peer` is a member by the allowlist (everyone without one); blocks do not matter. */
  admits(peer: string): boolean {
    return this.allow === undefined || this.allow.has(peer)
  }

  block(ids: Iterable<string>): void {
    for (const id of ids) this.blocked.add(id)
  }

  unblock(ids?: Iterable<string>): void {
    if (ids === undefined) this.blocked.clear()
    else for (const id of ids) this.blocked.delete(id)
  }

  /** Peer ids blocked now. */
  get blockedPeers(): string[] {
    return [...this.blocked]
  }

  /** The libp2p connection gater backed by this gate. */
  gater(): ConnectionGater {
    const deny = (peer: PeerId) => this.denies(peer)
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    }
  }
}
