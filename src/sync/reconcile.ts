import { compareVersions, type Version } from '../clock/version.js'
import { InvalidMessageError } from '../errors.js'
import { versionOnlyTuple } from '../replication/entry-tuple.js'
import { FANOUT } from './digest-tree.js'
import { hashKey } from './hash.js'
import {
  ByteBudget,
  DEFAULT_SYNC_BUDGET,
  entryBytes,
  type SyncBudget,
  stringBytes,
  summaryBytes,
  tupleBytes,
} from './sync-budget.js'
import type { SyncEntry, SyncRequest, SyncResponse, SyncSummary } from './sync-messages.js'
import type { IndexEntry, VersionIndex } from './version-index.js'

/** What anti-entropy needs of one keyspace replica. Implemented by the keyspace adapter. */
export interface SyncReplica {
  readonly index: VersionIndex
  /** Wall-clock ms. */
  now(): number
  /** The entry to send for `key`: its value when resident at the indexed version, else the version alone. */
  exportEntry(key: string, indexed: IndexEntry): SyncEntry
  /**
   * Bytes of the value {@link exportEntry} would send for `key` (0 for a tombstone or a
   * version alone), from what the store knows: nothing is encoded to tell. An upper bound
   * is fine (a message then stops a little early); the entry's real size is checked once
   * it is exported.
   */
  valueBytes(key: string, indexed: IndexEntry): number
  /** Applies entries from a peer by last-writer-wins. @returns how many changed this replica */
  importEntries(entries: SyncEntry[]): number
}

/** Outcome of one {@link reconcile} session. */
export interface SyncRoundResult {
  /** True when the roots matched: nothing to do. */
  equal: boolean
  roundTrips: number
  /** Leaves whose digests differed. */
  differingLeaves: number
  /** Entries received that changed this replica. */
  pulled: number
  /** Entries sent because the peer lacked them or held older versions. */
  pushed: number
  /**
   * A count or byte bound capped this session (the peer's answer, this side's push, the
   * leaves compared): run another session to continue.
   */
  more: boolean
}

/**
 * Most entries one response or push carries; more differences take more sessions. Bytes
 * are bounded too ({@link SyncBudget}).
 */
export const DEFAULT_MAX_ENTRIES_PER_ROUND = 5_000

/**
 * The responder side: answers one request from its replica's index. Stateless, so a
 * session needs no memory between round trips. A `diff` carries at most `maxEntries`
 * entries and as many wanted keys, and stops at `budget.maxBytes` (says `more`).
 * @throws InvalidMessageError for requests beyond this tree's depth
 */
export function respond(
  replica: SyncReplica,
  req: SyncRequest,
  maxEntries = DEFAULT_MAX_ENTRIES_PER_ROUND,
  budget: SyncBudget = DEFAULT_SYNC_BUDGET,
): SyncResponse {
  const tree = replica.index.tree
  switch (req.t) {
    case 'root': {
      const [hi, lo] = tree.digest(0, 0)
      if (hi === req.root[0] && lo === req.root[1]) return { t: 'equal' }
      return { t: 'digests', depth: tree.depth, digests: tree.packedChildren(0, [0]) }
    }
    case 'children': {
      if (req.level >= tree.depth)
        throw new InvalidMessageError(`sync: level ${req.level} is below this tree`)
      return {
        t: 'digests',
        depth: tree.depth,
        digests: tree.packedChildren(req.level, req.nodes),
      }
    }
    case 'leaves': {
      if (req.level > tree.depth)
        throw new InvalidMessageError(`sync: level ${req.level} is below this tree`)
      return diffLeaves(replica, req, maxEntries, budget)
    }
    case 'push':
      return { t: 'pushed', applied: replica.importEntries(req.entries) }
  }
}

/**
 * The `diff` answer to a `leaves` request: what this replica holds newer (entries) and
 * what it lacks or holds older (wanted keys) under the requested leaves. Keys are taken
 * from a random start in the scan, so entries the peer never accepts (a writer it does
 * not admit, a stamp past its drift bound) cannot fill every answer; the first item that
 * would pass the byte budget ends the answer (`more`).
 */
function diffLeaves(
  replica: SyncReplica,
  req: Extract<SyncRequest, { t: 'leaves' }>,
  maxEntries: number,
  limits: SyncBudget,
): SyncResponse {
  const theirs = new Map<string, Version>()
  for (const s of req.have)
    theirs.set(s[0], { wall: s[1], logical: s[2], node: req.origins[s[3]]! })
  const entries: SyncEntry[] = []
  const want: string[] = []
  const budget = new ByteBudget(limits.maxBytes)
  let more = false
  let full = false
  /** Adds a wanted key. @returns false when it does not fit the budget (the answer is full) */
  const wanted = (key: string): boolean => {
    if (want.length >= maxEntries) {
      more = true
      return true
    }
    const bytes = stringBytes(key)
    if (!budget.fits(bytes)) return false
    budget.add(bytes)
    want.push(key)
    return true
  }
  const mine = replica.index.keysUnder(req.level, new Set(req.nodes), replica.now())
  const start = Math.floor(Math.random() * mine.length)
  for (let i = 0; i < mine.length && !full; i++) {
    const [key, indexed] = mine[(start + i) % mine.length]!
    const s = theirs.get(key)
    theirs.delete(key)
    const cmp = s === undefined ? 1 : compareVersions(indexed.version, s)
    if (cmp > 0) {
      if (entries.length >= maxEntries) {
        more = true
        continue
      }
      const entry = exportWithin(replica, key, indexed, budget, limits)
      if (entry === undefined) full = true
      else entries.push(entry)
    } else if (cmp < 0) {
      full = !wanted(key)
    }
  }
  // Keys of theirs left are not held here, unless the scan stopped before reaching them.
  if (!full) {
    for (const key of theirs.keys()) {
      if (wanted(key)) continue
      full = true
      break
    }
  }
  return { t: 'diff', entries, want, more: more || full }
}

/**
 * The entry to send for `key` when it fits `budget`, counted in it; undefined when it does
 * not. Its size is estimated from the store first, so a value that cannot join the others
 * is not encoded; the encoded size decides. An entry over `limits.maxEntryBytes` goes as
 * its version alone.
 */
function exportWithin(
  replica: SyncReplica,
  key: string,
  indexed: IndexEntry,
  budget: ByteBudget,
  limits: SyncBudget,
): SyncEntry | undefined {
  const v = indexed.version
  const estimate = entryBytes(key, v.node, replica.valueBytes(key, indexed))
  if (!budget.fits(Math.min(estimate, limits.maxEntryBytes))) return undefined
  let entry = replica.exportEntry(key, indexed)
  let bytes = tupleBytes(entry)
  if (bytes > limits.maxEntryBytes) {
    entry = versionOnlyTuple(key, v, indexed.expiresAt)
    bytes = tupleBytes(entry)
  }
  if (!budget.fits(bytes)) return undefined
  budget.add(bytes)
  return entry
}

function expect<T extends SyncResponse['t']>(
  res: SyncResponse,
  t: T,
): Extract<SyncResponse, { t: T }> {
  if (res.t !== t) throw new InvalidMessageError(`sync: expected ${t}, got ${String(res.t)}`)
  return res as Extract<SyncResponse, { t: T }>
}

/**
 * The initiator side of one session: compare roots, descend only into differing
 * subtrees (all differing nodes of a level in one round trip), exchange the versions of
 * the differing leaves, pull what the peer has newer and push what it lacks.
 * Round trips: 1 when equal, depth + 1 or + 2 otherwise, whatever the number of differences.
 * The summaries sent and the push stay within `budget` (as the peer's answer does); what
 * a session leaves out is the next one's (`more`).
 */
export async function reconcile(
  replica: SyncReplica,
  keyspace: string,
  call: (req: SyncRequest) => Promise<SyncResponse>,
  maxEntries = DEFAULT_MAX_ENTRIES_PER_ROUND,
  budget: SyncBudget = DEFAULT_SYNC_BUDGET,
): Promise<SyncRoundResult> {
  const index = replica.index
  const tree = index.tree
  // Versions past retention leave the index in the keyspace's periodic sweep, not here: a
  // session between in-sync replicas must cost O(1), not a scan. Until both sides swept,
  // such keys are filtered out of leaf comparisons, so at worst a session moves nothing.
  const result: SyncRoundResult = {
    equal: false,
    roundTrips: 1,
    differingLeaves: 0,
    pulled: 0,
    pushed: 0,
    more: false,
  }
  const first = await call({ t: 'root', ks: keyspace, depth: tree.depth, root: tree.digest(0, 0) })
  if (first.t === 'equal' || first.t === 'unknown-keyspace') {
    result.equal = first.t === 'equal'
    return result
  }
  let res = expect(first, 'digests')
  const depth = Math.min(tree.depth, res.depth)
  let parents = [0]
  let level = 0
  let differing: number[] = []
  for (;;) {
    const packed = res.digests
    if (!(packed instanceof Uint8Array) || packed.length !== parents.length * FANOUT * 4) {
      throw new InvalidMessageError('sync: digest count mismatch')
    }
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength)
    differing = []
    for (let i = 0; i < parents.length; i++) {
      for (let c = 0; c < FANOUT; c++) {
        const idx = parents[i]! * FANOUT + c
        const remote = view.getUint32((i * FANOUT + c) * 4)
        if (tree.digest(level + 1, idx)[0] !== remote) differing.push(idx)
      }
    }
    level++
    if (differing.length === 0) return result // changed meanwhile; the next session sees it
    if (level === depth) break
    parents = differing
    result.roundTrips++
    res = expect(await call({ t: 'children', ks: keyspace, level, nodes: differing }), 'digests')
  }
  result.differingLeaves = differing.length
  if (differing.length > maxEntries) {
    // More differing leaves than a session moves entries (each holds one difference at
    // least): this session compares a window of them, from a random start so that leaves
    // that cannot converge never block the others, and the next session takes another.
    // Comparing them all sent the summaries of every key under them both ways, to move
    // maxEntries of them (bench:sync, 50k of 200k keys differing: ~all keys per session).
    differing = window(differing, maxEntries)
    result.more = true
  }
  let mine = index.keysUnder(level, new Set(differing), replica.now())
  const fitted = fitLeaves(mine, differing, level, budget.maxBytes)
  if (fitted !== undefined) {
    ;[differing, mine] = fitted
    result.more = true
  }
  const origins: string[] = []
  const originIndex = new Map<string, number>()
  const have: SyncSummary[] = mine.map(([k, e]) => {
    let o = originIndex.get(e.version.node)
    if (o === undefined) {
      o = origins.length
      origins.push(e.version.node)
      originIndex.set(e.version.node, o)
    }
    return [k, e.version.wall, e.version.logical, o]
  })
  result.roundTrips++
  const diff = expect(
    await call({ t: 'leaves', ks: keyspace, level, nodes: differing, origins, have }),
    'diff',
  )
  result.pulled = replica.importEntries(diff.entries)
  result.more ||= diff.more
  if (diff.want.length > 0) {
    const entries: SyncEntry[] = []
    const pushed = new ByteBudget(budget.maxBytes)
    const now = replica.now()
    // From a random start, as answers are: a push cut by the budget always starting at
    // the same keys would carry the same ones (say, entries the peer refuses) every time.
    const wanted = diff.want.slice(0, maxEntries)
    const start = Math.floor(Math.random() * wanted.length)
    for (let i = 0; i < wanted.length; i++) {
      const key = wanted[(start + i) % wanted.length]!
      const e = index.get(key)
      if (e === undefined || !index.retained(e, now)) continue
      const entry = exportWithin(replica, key, e, pushed, budget)
      if (entry === undefined) {
        result.more = true
        break
      }
      entries.push(entry)
    }
    if (entries.length > 0) {
      result.roundTrips++
      expect(await call({ t: 'push', ks: keyspace, entries }), 'pushed')
      result.pushed = entries.length
    }
  }
  return result
}

/**
 * When the summaries of `keys` (this replica's keys under `leaves`, at tree `level`) pass
 * `maxBytes`: a run of the leaves, from a random start, whose summaries fit (one leaf at
 * least; a leaf is compared whole or not at all, since the peer takes a key missing from
 * the summaries of a leaf for one this replica lacks), and the keys under them. Undefined
 * when everything fits. One key hash per key, only then.
 */
export function fitLeaves(
  keys: [string, IndexEntry][],
  leaves: number[],
  level: number,
  maxBytes: number,
): [leaves: number[], keys: [string, IndexEntry][]] | undefined {
  let total = 0
  for (const [key] of keys) total += summaryBytes(key)
  if (total <= maxBytes) return undefined
  const shift = 32 - 4 * level
  const leafOf = (key: string): number => (level === 0 ? 0 : hashKey(key) >>> shift)
  const perLeaf = new Map<number, number>()
  for (const [key] of keys) {
    const leaf = leafOf(key)
    perLeaf.set(leaf, (perLeaf.get(leaf) ?? 0) + summaryBytes(key))
  }
  const budget = new ByteBudget(maxBytes)
  const kept = new Set<number>()
  const start = Math.floor(Math.random() * leaves.length)
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[(start + i) % leaves.length]!
    const bytes = perLeaf.get(leaf) ?? 0
    if (!budget.fits(bytes)) break
    budget.add(bytes)
    kept.add(leaf)
  }
  return [leaves.filter((l) => kept.has(l)), keys.filter(([key]) => kept.has(leafOf(key)))]
}

/** `size` of `nodes` (ascending), consecutive from a random start, wrapping around; ascending. */
export function window(nodes: number[], size: number): number[] {
  if (size >= nodes.length) return [...nodes].sort((a, b) => a - b)
  const start = Math.floor(Math.random() * nodes.length)
  const kept = nodes.slice(start, start + size)
  if (kept.length < size) kept.push(...nodes.slice(0, size - kept.length))
  return kept.sort((a, b) => a - b)
}
