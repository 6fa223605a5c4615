import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidMessageError } from '../errors.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import type { PeerInfo, PeerTable } from './peer-table.js'

/**
 * The `/meshcache/hello/1` message: the sender's region, the members it knows, and the
 * `maxTtl` (ms) of each keyspace it has open (nodes must agree on it: it is how long
 * tombstones and index versions live).
 */
export interface HelloBody {
  region: string
  peers: [id: string, region: string | null, addrs: string[]][]
  ks?: [name: string, maxTtlMs: number][]
  /**
   * Whether the sender takes write batches without their origin's signature from a peer
   * whose word it takes for them (docs/decisions/vouched-batches.md): 1 when it does
   * (`verifyOrigins: 'relay'`), 2 when every member of its region it is connected to does
   * too (its own word, their hellos' 1 or 2). Absent: it does not (or an older version).
   */
  vouch?: 1 | 2
}

/** Most members, and addresses per member, a hello carries. */
const MAX_MEMBERS = 2_048
const MAX_ADDRS = 8

/** This node's hello: itself first, then every member it knows an address of. */
export function helloBody(
  self: string,
  region: string,
  addresses: string[],
  members: PeerInfo[],
  keyspaces: [name: string, maxTtlMs: number][] = [],
  vouch?: 1 | 2,
): HelloBody {
  const peers: HelloBody['peers'] = [[self, region, addresses.slice(0, MAX_ADDRS)]]
  for (const p of members) {
    if (p.addrs.length > 0) peers.push([p.id, p.region ?? null, p.addrs.slice(0, MAX_ADDRS)])
  }
  const body: HelloBody = {
    region,
    peers: peers.slice(0, MAX_MEMBERS),
    ks: keyspaces.slice(0, MAX_KEYSPACES),
  }
  if (vouch !== undefined) body.vouch = vouch
  return body
}

/** Most keyspace settings a hello carries. */
const MAX_KEYSPACES = 256

/**
 * The keyspaces whose `maxTtl` in a peer's hello differs from ours (`mine`: name ->
 * maxTtl ms of our open keyspaces). Malformed rows are ignored.
 */
export function keyspaceMismatches(body: unknown, mine: ReadonlyMap<string, number>): string[] {
  const rows = (body as HelloBody | null)?.ks
  if (!Array.isArray(rows)) return []
  const out: string[] = []
  for (const row of rows.slice(0, MAX_KEYSPACES)) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || !Number.isSafeInteger(row[1])) continue
    const ours = mine.get(row[0])
    if (ours !== undefined && ours !== row[1]) out.push(row[0])
  }
  return out
}

/** The keyspaces a peer's hello says it has open (malformed rows skipped). */
export function helloKeyspaces(body: unknown): Set<string> {
  const rows = (body as HelloBody | null)?.ks
  const out = new Set<string>()
  if (!Array.isArray(rows)) return out
  for (const row of rows.slice(0, MAX_KEYSPACES))
    if (Array.isArray(row) && typeof row[0] === 'string' && NAME_RE.test(row[0])) out.add(row[0])
  return out
}

/**
 * Merges a peer's hello into the peer table: the sender's region, and every member it
 * lists (valid peer ids, regions that are valid names, addresses that end in that
 * member's /p2p/ id). Malformed rows are skipped; a malformed message throws.
 * @throws InvalidMessageError when the message is not a hello
 */
export function mergeHello(
  table: PeerTable,
  body: unknown,
  from: string,
  self: string,
  now: number,
): void {
  const b = body as HelloBody
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.region !== 'string' ||
    !NAME_RE.test(b.region) ||
    !Array.isArray(b.peers)
  ) {
    throw new InvalidMessageError('hello: malformed')
  }
  const sender = table.upsert(from, now)
  // The sender's hello comes over its own connection (Noise proved its id): its own word.
  table.setRegion(sender, b.region, true)
  sender.lastSeen = now
  sender.connected = true
  sender.spokeDirectly = true
  sender.takesVouched = b.vouch === 1 || b.vouch === 2
  sender.vouchesRegion = b.vouch === 2
  for (const row of b.peers.slice(0, MAX_MEMBERS)) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || !Array.isArray(row[2])) continue
    const [id, region, addrs] = row as [string, unknown, unknown[]]
    if (id === self) continue
    // A member already in the table was checked when it came in: decoding its id again
    // (base58, per member, per hello) was the largest cost of merging hellos while 100
    // nodes formed (bench:scale's join profile).
    if (table.get(id) === undefined) {
      try {
        peerIdFromString(id)
      } catch {
        continue
      }
    }
    const p = table.learn(id, now)
    if (p === undefined) continue
    // Hearsay: kept until the member's own hello or announcement says otherwise.
    if (typeof region === 'string' && NAME_RE.test(region)) table.setRegion(p, region)
    addAddresses(p, addrs)
  }
}

/**
 * Adds the addresses a peer announced for member `p` (hello, member announcements): only
 * strings that parse and end in that member's own `/p2p/` id, at most {@link MAX_ADDRS}.
 */
export function addAddresses(p: PeerInfo, addrs: readonly unknown[]): void {
  for (const a of addrs.slice(0, MAX_ADDRS)) {
    if (p.addrs.length >= MAX_ADDRS) return
    if (
      typeof a === 'string' &&
      a.length < 256 &&
      a.endsWith(`/p2p/${p.id}`) &&
      !p.addrs.includes(a) &&
      parses(a)
    )
      p.addrs.push(a)
  }
}

/** True when `a` is a multiaddr this node can parse (a newer peer may announce transports we do not know). */
function parses(a: string): boolean {
  try {
    multiaddr(a)
    return true
  } catch {
    return false
  }
}
