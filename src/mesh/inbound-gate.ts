/**
 * Admission of inbound connections that have not authenticated yet (issue 23, item 4):
 * an outsider without the network key must not cost a private node more than bounded
 * memory and time, nor keep honest peers from joining. Decision and figures:
 * docs/decisions/outsider-flood.md.
 *
 * A connection is *pending* from the moment libp2p accepts it until it authenticates:
 * with a network key, when its first decrypted bytes prove the key (the pnet protector
 * calls {@link InboundGate.authenticated}); without one, when Noise has proven the remote
 * peer id (`denyInboundEncryptedConnection`). Pending connections are bounded per host
 * and in all; a pending connection past its deadline is cut. When a bound is reached, a
 * newcomer takes the place of the oldest pending connection of the host that holds the
 * most (hosts never seen as members first) if that host holds more than the newcomer's
 * would, or if that connection is stale (pending longer than an honest handshake takes);
 * otherwise it is refused. So an outsider holding connections open keeps honest peers
 * from other hosts out for no time at all, and one reconnecting at once is refused
 * cheaply instead of churning: an honest handshake leaves the pending set one round trip
 * after it connected.
 */
import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { TimeoutError } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { type Clock, SystemClock, type Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { inboundHost } from './inbound-host.js'

const log = logger('meshcache:inbound')

/** Defaults of {@link InboundGateOptions}; times in ms. */
export const INBOUND_DEFAULTS = {
  maxPerHost: 16,
  maxTotal: 128,
  authDeadlineMs: 10_000,
  staleMs: 1_000,
  knownHosts: 1_024,
  /** libp2p's `inboundUpgradeTimeout`: pnet, Noise and the muxer in all. */
  upgradeTimeoutMs: 10_000,
  /**
   * libp2p's own cap on inbound upgrades (`maxIncomingPendingConnections`) is set this far
   * above `maxTotal`: the gate decides first, and key holders still in Noise have room.
   */
  upgradingHeadroom: 128,
} as const

/** Options of {@link InboundGate}. */
export interface InboundGateOptions {
  /** Pending connections one host (IPv4 address, IPv6 /64) may hold at once. @default 16 */
  maxPerHost?: number
  /** Pending connections in all. @default 128 */
  maxTotal?: number
  /** Longest time from accept to authentication, ms. @default 10_000 */
  authDeadlineMs?: number
  /**
   * A pending connection this old may be pushed out by any newcomer, ms: an honest peer
   * proves the key one round trip after connecting. @default 1_000
   */
  staleMs?: number
  /** Member hosts remembered (newest kept). @default 1_024 */
  knownHosts?: number
  /** The node's clock: admission times and deadlines are on its monotonic time. @default the system clock */
  clock?: Clock
}

/** Counters of an {@link InboundGate}; all but `pending` only grow. */
export interface InboundGateStats {
  /** Connections pending now. */
  pending: number
  admitted: number
  authenticated: number
  /** Pushed out by a newcomer (per-host or total bound). */
  evicted: number
  /** Cut at the authentication deadline. */
  timedOut: number
  /** Refused: its host held its share, or every pending connection was a member host's. */
  refused: number
  /** Closed by either side while pending. */
  closed: number
}

interface Pending {
  readonly conn: MultiaddrConnection
  readonly host: string
  readonly known: boolean
  readonly admittedAt: number
  readonly deadline: number
  readonly onClose: () => void
}

/** The error a cut pending connection is aborted with. */
class AdmissionError extends Error {
  override readonly name = 'InboundAdmissionError'
}

/** Bounds unauthenticated inbound connections; see the module comment. */
export class InboundGate {
  readonly #maxPerHost: number
  readonly #maxTotal: number
  readonly #deadlineMs: number
  readonly #staleMs: number
  readonly #knownCap: number
  readonly #clock: Clock
  /** Pending connections in admission order, so the first has the earliest deadline. */
  readonly #pending = new Map<MultiaddrConnection, Pending>()
  /** Pending connections per host, in admission order. */
  readonly #byHost = new Map<string, Set<Pending>>()
  /** Hosts of members seen, least recently seen first. */
  readonly #known = new Set<string>()
  #timer: Timer | undefined
  readonly #stats: Omit<InboundGateStats, 'pending'> = {
    admitted: 0,
    authenticated: 0,
    evicted: 0,
    timedOut: 0,
    refused: 0,
    closed: 0,
  }

  constructor(options: InboundGateOptions = {}) {
    this.#maxPerHost = options.maxPerHost ?? INBOUND_DEFAULTS.maxPerHost
    this.#maxTotal = options.maxTotal ?? INBOUND_DEFAULTS.maxTotal
    this.#deadlineMs = options.authDeadlineMs ?? INBOUND_DEFAULTS.authDeadlineMs
    this.#staleMs = options.staleMs ?? INBOUND_DEFAULTS.staleMs
    this.#knownCap = options.knownHosts ?? INBOUND_DEFAULTS.knownHosts
    this.#clock = options.clock ?? new SystemClock()
  }

  /** Most pending connections in all (what libp2p's own cap is sized from). */
  get maxTotal(): number {
    return this.#maxTotal
  }

  /** A snapshot of the counters. */
  stats(): InboundGateStats {
    return { pending: this.#pending.size, ...this.#stats }
  }

  /** Remembers the host of `addr` as a member's (an authenticated connection came from it). */
  know(addr: Multiaddr): void {
    const host = inboundHost(addr)
    this.#known.delete(host)
    this.#known.add(host)
    if (this.#known.size > this.#knownCap) this.#known.delete(this.#known.values().next().value!)
  }

  /**
   * Takes a new inbound connection into the pending set, pushing out another one when a
   * bound is reached and that is fair (see the module comment); false to refuse it.
   */
  admit(conn: MultiaddrConnection): boolean {
    const host = inboundHost(conn.remoteAddr)
    const known = this.#known.has(host)
    const now = this.#clock.monotonic()
    const verdict = this.#judge(host, known, now)
    if (verdict === 'refuse') {
      this.#stats.refused++
      log('refused %s: it holds its share, or the pending set is full', host)
      return false
    }
    if (verdict !== 'admit') this.#cut(verdict, 'evicted', 'too many unauthenticated connections')
    const entry: Pending = {
      conn,
      host,
      known,
      admittedAt: now,
      deadline: now + this.#deadlineMs,
      onClose: () => {
        if (this.#remove(entry)) this.#stats.closed++
      },
    }
    this.#pending.set(conn, entry)
    // Looked up again: a cut above may have emptied and dropped this host's set.
    const set = this.#byHost.get(host) ?? new Set<Pending>()
    this.#byHost.set(host, set)
    set.add(entry)
    conn.addEventListener('close', entry.onClose, { once: true })
    this.#stats.admitted++
    this.#arm()
    return true
  }

  /**
   * `conn` proved the key (or its peer id): it leaves the pending set, and its host is a
   * member's unless `member` is false (a peer the allowlist refuses). Idempotent.
   */
  authenticated(conn: MultiaddrConnection, member = true): void {
    const entry = this.#pending.get(conn)
    if (entry === undefined || !this.#remove(entry)) return
    this.#stats.authenticated++
    if (member) this.know(conn.remoteAddr)
  }

  /**
   * The libp2p connection gater: `base` (the peer gate) with admission on accept and
   * authentication once Noise has proven the peer id.
   */
  gater(base: ConnectionGater = {}): ConnectionGater {
    return {
      ...base,
      denyInboundConnection: async (conn) =>
        (await base.denyInboundConnection?.(conn)) === true || !this.admit(conn),
      denyInboundEncryptedConnection: (peer, conn) => {
        // A peer the base gate refuses (not on the allowlist) proved an id, not membership:
        // its host does not become a member host.
        const denied = base.denyInboundEncryptedConnection?.(peer, conn) ?? false
        const settle = (d: boolean) => {
          this.authenticated(conn, !d)
          return d
        }
        return typeof denied === 'boolean' ? settle(denied) : denied.then(settle)
      },
    }
  }

  /** Cuts every pending connection and stops the timer. */
  stop(): void {
    for (const entry of [...this.#pending.values()]) this.#cut(entry, 'closed', 'stopping')
    this.#timer?.cancel()
    this.#timer = undefined
  }

  /**
   * The connection to push out: the oldest of the host holding the most pending
   * connections (the older oldest on a tie), among non-member hosts first. A member
   * host's connection is pushed out only by another member host's.
   */
  #victim(newcomerKnown: boolean): Pending | undefined {
    let best: Pending | undefined
    let bestSize = 0
    for (const pass of newcomerKnown ? [false, true] : [false]) {
      for (const set of this.#byHost.values()) {
        const oldest = first(set)!
        if (oldest.known !== pass) continue
        if (set.size > bestSize || (set.size === bestSize && oldest.deadline < best!.deadline)) {
          best = oldest
          bestSize = set.size
        }
      }
      if (best !== undefined) return best
    }
    return undefined
  }

  /**
   * What a newcomer from `host` gets: a free slot, the slot of a pending connection to
   * push out, or a refusal. A connection is pushed out only when that is fair (its host
   * holds more than the newcomer's would) or when it is stale (pending longer than an
   * honest handshake takes): an outsider reconnecting at once then gains nothing, and
   * costs no churn.
   */
  #judge(host: string, known: boolean, now: number): 'admit' | 'refuse' | Pending {
    const own = this.#byHost.get(host)
    if (own !== undefined && own.size >= this.#maxPerHost) {
      const oldest = first(own)!
      return this.#stale(oldest, now) ? oldest : 'refuse'
    }
    if (this.#pending.size < this.#maxTotal) return 'admit'
    const victim = this.#victim(known)
    if (victim === undefined) return 'refuse'
    const victimHost = this.#byHost.get(victim.host)!.size
    return victimHost > (own?.size ?? 0) + 1 || this.#stale(victim, now) ? victim : 'refuse'
  }

  /** True when `entry` has been pending long enough that an honest handshake would be done. */
  #stale(entry: Pending, now: number): boolean {
    return now - entry.admittedAt >= this.#staleMs
  }

  /** Drops `entry` from the bookkeeping; false when it was not pending. */
  #remove(entry: Pending): boolean {
    if (this.#pending.get(entry.conn) !== entry) return false
    this.#pending.delete(entry.conn)
    entry.conn.removeEventListener('close', entry.onClose)
    const set = this.#byHost.get(entry.host)!
    set.delete(entry)
    if (set.size === 0) this.#byHost.delete(entry.host)
    return true
  }

  #cut(entry: Pending, counter: 'evicted' | 'timedOut' | 'closed', why: string): void {
    if (!this.#remove(entry)) return
    if (counter !== 'closed') this.#stats[counter]++
    log('cut %s: %s', entry.host, why)
    entry.conn.abort(
      counter === 'timedOut'
        ? new TimeoutError(`not authenticated within ${this.#deadlineMs} ms`)
        : new AdmissionError(why),
    )
  }

  /** One timer, for the earliest deadline (the first pending connection's). */
  #arm(): void {
    if (this.#timer !== undefined) return
    const oldest = this.#pending.values().next().value
    if (oldest === undefined) return
    this.#timer = this.#clock.after(oldest.deadline - this.#clock.monotonic(), () => {
      this.#timer = undefined
      const now = this.#clock.monotonic()
      for (const entry of [...this.#pending.values()]) {
        if (entry.deadline > now) break
        this.#cut(entry, 'timedOut', 'authentication deadline')
      }
      this.#arm()
    })
  }
}

function first<T>(set: Set<T>): T | undefined {
  return set.values().next().value
}
