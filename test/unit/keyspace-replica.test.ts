import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import { compareVersions, type Version } from '../../src/clock/version.js'
import type { KeyspaceOptions } from '../../src/replica/keyspace-options.js'
import type {
  AdmitOutcome,
  ChangeSource,
  KeyspaceReplica,
  ReplicaListener,
} from '../../src/replica/keyspace-replica.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import {
  isRejectCode,
  REJECT_CODES,
  type RejectCode,
  rejectCounts,
} from '../../src/replication/reject-codes.js'
import { decodeValue, encodeValue, hasTags } from '../../src/replication/value-codec.js'
import { type Entry, entrySize } from '../../src/store/entry.js'
import { wallClock } from '../helpers/clock.js'

const NOW = 1_700_000_000_000
const MAX_DRIFT = 60_000
const LATER = NOW + 600_000

interface Change {
  keyspace: string
  key: string
  entry: Entry
  source: ChangeSource
  region: string
}

/** A listener that records everything it hears. */
function recorder() {
  const changes: Change[] = []
  const expires: string[] = []
  const evicts: string[] = []
  const listener: ReplicaListener = {
    wants: () => true,
    change: (keyspace, key, entry, source, region) =>
      changes.push({ keyspace, key, entry, source, region }),
    expire: (_ks, key) => expires.push(key),
    evict: (_ks, key) => evicts.push(key),
  }
  return { listener, changes, expires, evicts }
}

/**
 * One replica 'ks' on node A, whose wall clock and HLC physical time are both `time.t`
 * (the test moves it).
 */
function setup(options: KeyspaceOptions = {}, listening = true) {
  const time = { t: NOW }
  const hlc = new HybridClock({ node: 'A', maxDrift: MAX_DRIFT, physical: () => time.t })
  const registry = new ReplicaRegistry({ hlc, clock: wallClock(() => time.t), defaults: {} })
  const events = recorder()
  if (listening) registry.listen(events.listener)
  const replica = registry.open<unknown>('ks', options)
  return { time, clock: hlc, registry, replica, events }
}

interface At {
  logical?: number
  node?: string
  expiresAt?: number
}

function valueTuple(key: string, wall: number, value: unknown, at: At = {}): EntryTuple {
  const { logical = 0, node = 'B', expiresAt = LATER } = at
  return [key, wall, logical, node, expiresAt, 0, encodeValue(key, value)]
}
function tombTuple(key: string, wall: number, at: At = {}): EntryTuple {
  const { logical = 0, node = 'B', expiresAt = LATER } = at
  return [key, wall, logical, node, expiresAt, 1, null]
}
function versionTuple(key: string, wall: number, at: At = {}): EntryTuple {
  const { logical = 0, node = 'B', expiresAt = LATER } = at
  return [key, wall, logical, node, expiresAt, 2, null]
}
const versionOf = (t: EntryTuple): Version => ({ wall: t[1], logical: t[2], node: t[3] })

/** Everything observable about a replica, to assert that nothing changed. */
function snapshot(replica: KeyspaceReplica<unknown>) {
  return {
    index: [...replica.index.iterate()].map(([k, e]) => [
      k,
      { ...e.version },
      e.expiresAt,
      e.tombstone,
    ]),
    store: [...replica.store.entries()].map(([k, e]) => [
      k,
      e.value,
      { ...e.version },
      e.expiresAt,
      e.tombstone,
    ]),
    digest: replica.index.tree.digest(0, 0),
    counters: { ...replica.counters },
  }
}

describe('KeyspaceReplica: values received as bytes (no change listener)', () => {
  it('a received value that expired, then written locally, reads the local value', () => {
    const { time, clock, replica } = setup({}, false)
    expect(
      replica.admitRemote(valueTuple('k', NOW - 100, 'remote', { expiresAt: NOW + 50 }), 'eu'),
    ).toBe('applied')
    time.t = NOW + 100
    // The expired value leaves residency (its bytes are released) on this read.
    expect(replica.readValue('k', time.t)).toBeUndefined()
    const entry = {
      value: 'local',
      version: clock.now(),
      expiresAt: time.t + 60_000,
      tombstone: false,
      size: entrySize('k', 8),
    }
    replica.writeLocal('k', entry, time.t)
    expect(replica.readValue('k', time.t)).toBe('local')
    expect(replica.peek('k', time.t)?.value).toBe('local')
    // A newer value received as bytes over the local one reads back decoded.
    time.t += 1
    const later = valueTuple('k', time.t, 'remote-2', { node: 'Z' })
    expect(replica.admitRemote(later, 'eu')).toBe('applied')
    expect(replica.readValue('k', time.t)).toBe('remote-2')
  })
})

describe('KeyspaceReplica.admitRemote: last-writer-wins outcomes', () => {
  it('applies a newer value: readable, indexed, counted, and announced as remote from the given region', () => {
    const { replica, events } = setup()
    const t1 = valueTuple('k', NOW - 200, { n: 1 })
    expect(replica.admitRemote(t1, 'eu')).toBe('applied')
    expect(replica.peek('k', NOW)?.value).toEqual({ n: 1 })
    expect(replica.read('k', NOW)?.value).toEqual({ n: 1 })
    expect(replica.index.get('k')?.version).toEqual(versionOf(t1))
    expect(replica.index.get('k')?.tombstone).toBe(false)
    expect(replica.counters.remoteApplied).toBe(1)
    expect(events.changes).toHaveLength(1)
    expect(events.changes[0]).toMatchObject({ keyspace: 'ks', key: 'k', source: 'remote' })
    expect(events.changes[0]?.region).toBe('eu')
    expect(events.changes[0]?.entry.value).toEqual({ n: 1 })
    expect(events.changes[0]?.entry.version).toEqual(versionOf(t1))

    // A newer one replaces it.
    const t2 = valueTuple('k', NOW - 100, { n: 2 }, { node: 'C' })
    expect(replica.admitRemote(t2, 'us')).toBe('applied')
    expect(replica.peek('k', NOW)?.value).toEqual({ n: 2 })
    expect(replica.index.get('k')?.version).toEqual(versionOf(t2))
    expect(replica.counters.remoteApplied).toBe(2)
    expect(events.changes.map((c) => c.region)).toEqual(['eu', 'us'])
  })

  it('reports stale for an older version and for the version already held, and changes nothing', () => {
    const { replica, events } = setup()
    const current = valueTuple('k', NOW - 100, 'current', { logical: 1, node: 'B' })
    expect(replica.admitRemote(current, 'eu')).toBe('applied')
    const before = snapshot(replica)

    const outcomes = [
      replica.admitRemote(valueTuple('k', NOW - 200, 'older wall'), 'eu'),
      replica.admitRemote(valueTuple('k', NOW - 100, 'older logical', { logical: 0 }), 'eu'),
      // Same wall and logical: the node id breaks the tie ('A' < 'B').
      replica.admitRemote(
        valueTuple('k', NOW - 100, 'older node', { logical: 1, node: 'A' }),
        'eu',
      ),
      replica.admitRemote(current, 'eu'),
      replica.admitRemote(tombTuple('k', NOW - 150), 'eu'),
    ]
    expect(outcomes).toEqual(['stale', 'stale', 'stale', 'stale', 'stale'])
    expect(replica.counters.remoteStale).toBe(5)
    expect(replica.peek('k', NOW)?.value).toBe('current')
    const after = snapshot(replica)
    expect(after.counters.remoteStale).toBe(5)
    expect({ ...after, counters: { ...after.counters, remoteStale: 0 } }).toEqual(before)
    expect(events.changes).toHaveLength(1)
  })

  it('lets a newer tombstone beat an older value, and an older value arriving later is stale', () => {
    const { replica, events } = setup()
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'v1'), 'eu')).toBe('applied')
    const del = tombTuple('k', NOW - 200)
    expect(replica.admitRemote(del, 'us')).toBe('applied')
    expect(replica.peek('k', NOW)).toBeUndefined()
    expect(replica.read('k', NOW)).toBeUndefined()
    expect(replica.store.peek('k')?.tombstone).toBe(true)
    expect(replica.index.get('k')).toMatchObject({ version: versionOf(del), tombstone: true })
    expect(events.changes[1]).toMatchObject({ key: 'k', source: 'remote', region: 'us' })
    expect(events.changes[1]?.entry.tombstone).toBe(true)

    // The delete shadows an older write that arrives late (e.g. a healed partition).
    expect(replica.admitRemote(valueTuple('k', NOW - 250, 'late'), 'eu')).toBe('stale')
    expect(replica.peek('k', NOW)).toBeUndefined()
    expect(replica.index.get('k')?.version).toEqual(versionOf(del))

    // And the tombstone first, then the older value: same end state.
    const other = setup().replica
    expect(other.admitRemote(del, 'us')).toBe('applied')
    expect(other.admitRemote(valueTuple('k', NOW - 300, 'v1'), 'eu')).toBe('stale')
    expect(other.peek('k', NOW)).toBeUndefined()

    // A newer value beats the tombstone.
    expect(replica.admitRemote(valueTuple('k', NOW - 100, 'again'), 'eu')).toBe('applied')
    expect(replica.peek('k', NOW)?.value).toBe('again')
  })

  it('reports expired for a newer entry already expired: drops the older copy, remembers the version', () => {
    const { replica, events } = setup()
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'old'), 'eu')).toBe('applied')
    // expiresAt === now counts as expired.
    const gone = valueTuple('k', NOW - 100, 'new but expired', { expiresAt: NOW })
    expect(replica.admitRemote(gone, 'eu')).toBe('expired')
    expect(replica.store.peek('k')).toBeUndefined()
    expect(replica.peek('k', NOW)).toBeUndefined()
    expect(replica.index.get('k')?.version).toEqual(versionOf(gone))
    expect(replica.counters.remoteApplied).toBe(1)
    expect(events.changes).toHaveLength(1)

    // An older write with a longer TTL arriving later must not come back.
    expect(replica.admitRemote(valueTuple('k', NOW - 200, 'resurrected'), 'eu')).toBe('stale')
    expect(replica.peek('k', NOW)).toBeUndefined()
    expect(replica.store.size).toBe(0)

    // An expired entry on an empty slot is remembered too.
    const fresh = setup().replica
    expect(fresh.admitRemote(tombTuple('t', NOW - 100, { expiresAt: NOW - 1 }), 'eu')).toBe(
      'expired',
    )
    expect(fresh.store.size).toBe(0)
    expect(fresh.index.get('t')?.version.wall).toBe(NOW - 100)
    expect(fresh.admitRemote(valueTuple('t', NOW - 200, 'older'), 'eu')).toBe('stale')
  })

  it('reports too-large for an entry larger than maxBytes and holds nothing of it', () => {
    const small = encodeValue('k', 'fits')
    const maxBytes = entrySize('k', small.length)
    const { replica, events } = setup({ maxBytes })
    // Exactly maxBytes fits.
    expect(replica.admitRemote(['k', NOW - 100, 0, 'B', LATER, 0, small], 'eu')).toBe('applied')
    const big = valueTuple('big', NOW - 100, 'x'.repeat(maxBytes))
    expect(replica.admitRemote(big, 'eu')).toBe('too-large')
    expect(replica.store.peek('big')).toBeUndefined()
    expect(replica.peek('big', NOW)).toBeUndefined()
    expect(replica.counters.remoteApplied).toBe(1)
    expect(events.changes.map((c) => c.key)).toEqual(['k'])
    expect(replica.peek('k', NOW)?.value).toBe('fits')
    expect(replica.store.bytes).toBeLessThanOrEqual(maxBytes)
  })

  it('a newer too-large entry drops the older value, so replicas agree whatever the arrival order', () => {
    const oldValue = valueTuple('k', NOW - 200, 'small')
    const newBig = valueTuple('k', NOW - 100, 'x'.repeat(1_000))
    const a = setup({ maxBytes: 500 }).replica
    expect(a.admitRemote(oldValue, 'eu')).toBe('applied')
    expect(a.admitRemote(newBig, 'eu')).toBe('too-large')
    const b = setup({ maxBytes: 500 }).replica
    expect(b.admitRemote(newBig, 'eu')).toBe('too-large')
    expect(b.admitRemote(oldValue, 'eu')).toBe('stale')
    // Both know the newer version...
    expect(a.index.get('k')?.version).toEqual(versionOf(newBig))
    expect(b.index.get('k')?.version).toEqual(versionOf(newBig))
    // ...so neither may serve the older value, whatever the order of arrival.
    expect(b.peek('k', NOW)).toBeUndefined()
    expect(a.peek('k', NOW)).toBeUndefined()
  })

  it('a version-only tuple drops an older held value for good and is remembered', () => {
    const { replica, events } = setup()
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'old'), 'eu')).toBe('applied')
    const vo = versionTuple('k', NOW - 100, { node: 'C' })
    expect(replica.admitRemote(vo, 'eu')).toBe('applied')
    expect(replica.store.peek('k')).toBeUndefined()
    expect(replica.peek('k', NOW)).toBeUndefined()
    expect(replica.read('k', NOW)).toBeUndefined()
    expect(replica.liveTuple('k', NOW)).toBeUndefined()
    expect(replica.index.get('k')).toMatchObject({ version: versionOf(vo), tombstone: false })
    expect(events.changes).toHaveLength(1)

    // The old value never comes back.
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'old'), 'eu')).toBe('stale')
    expect(replica.admitRemote(valueTuple('k', NOW - 200, 'between'), 'eu')).toBe('stale')
    expect(replica.peek('k', NOW)).toBeUndefined()

    // The same version alone again, or an older one alone: stale.
    const staleBefore = replica.counters.remoteStale
    expect(replica.admitRemote(vo, 'eu')).toBe('stale')
    expect(replica.admitRemote(versionTuple('k', NOW - 150), 'eu')).toBe('stale')
    expect(replica.counters.remoteStale).toBe(staleBefore + 2)
    expect(replica.index.get('k')?.version).toEqual(versionOf(vo))

    // The value of that very version (read-through) fills the slot.
    const full = valueTuple('k', NOW - 100, 'the value', { node: 'C' })
    expect(replica.admitRemote(full, 'eu')).toBe('applied')
    expect(replica.peek('k', NOW)?.value).toBe('the value')

    // A version-only tuple for a key never seen is remembered as well.
    expect(replica.admitRemote(versionTuple('n', NOW - 100), 'eu')).toBe('applied')
    expect(replica.index.get('n')?.version.wall).toBe(NOW - 100)
    expect(replica.admitRemote(valueTuple('n', NOW - 200, 'older'), 'eu')).toBe('stale')
    expect(replica.peek('n', NOW)).toBeUndefined()
  })

  it('refills a slot evicted at the indexed version (read-through), but never with an older one', () => {
    const { replica, events } = setup({ maxEntries: 1 })
    const k1 = valueTuple('k1', NOW - 100, 'one')
    expect(replica.admitRemote(k1, 'eu')).toBe('applied')
    expect(replica.admitRemote(valueTuple('k2', NOW - 100, 'two'), 'eu')).toBe('applied')
    expect(events.evicts).toEqual(['k1'])
    expect(replica.store.peek('k1')).toBeUndefined()
    expect(replica.index.get('k1')?.version).toEqual(versionOf(k1))

    expect(replica.admitRemote(valueTuple('k1', NOW - 200, 'older'), 'eu')).toBe('stale')
    expect(replica.store.peek('k1')).toBeUndefined()
    // The same version again (a fresh tuple, as from a peer) refills the slot.
    expect(replica.admitRemote(valueTuple('k1', NOW - 100, 'one'), 'eu')).toBe('applied')
    expect(replica.peek('k1', NOW)?.value).toBe('one')
    expect(replica.index.get('k1')?.version).toEqual(versionOf(k1))
    expect(replica.counters.remoteApplied).toBe(3)
  })

  it('a slot refilled at the indexed version is exported with its value', () => {
    const { replica } = setup({ maxEntries: 1 })
    expect(replica.admitRemote(valueTuple('k1', NOW - 100, 'one'), 'eu')).toBe('applied')
    expect(replica.admitRemote(valueTuple('k2', NOW - 100, 'two'), 'eu')).toBe('applied')
    expect(replica.admitRemote(valueTuple('k1', NOW - 100, 'one'), 'eu')).toBe('applied')
    expect(replica.peek('k1', NOW)?.value).toBe('one')
    // What a consistent read of a peer, or anti-entropy, gets of this key:
    const newest = replica.newestTuple('k1', NOW)
    expect(newest?.[5]).toBe(0)
    expect(decodeValue(newest![6]!)).toBe('one')
  })

  it('a value refilled at the indexed version and then expired is offered by staleValue', () => {
    const { time, replica } = setup({ maxEntries: 1 })
    const k1 = valueTuple('k1', NOW - 100, 'one', { expiresAt: NOW + 1_000 })
    expect(replica.admitRemote(k1, 'eu')).toBe('applied')
    expect(replica.admitRemote(valueTuple('k2', NOW - 100, 'two'), 'eu')).toBe('applied')
    expect(replica.admitRemote([...k1] as EntryTuple, 'eu')).toBe('applied')
    time.t = NOW + 1_500
    expect(replica.read('k1', time.t)).toBeUndefined()
    // Nothing newer than 'one' is known: it may be served stale.
    expect(replica.staleValue('k1', 10_000, time.t)).toBe('one')
  })
})

describe('KeyspaceReplica.admitRemote: refusals', () => {
  function expectOnlyRejected(counts: Record<RejectCode, number>, code: RejectCode, n: number) {
    expect(counts).toEqual({ ...rejectCounts(), [code]: n })
  }

  it('refuses a writer the admission policy does not admit: not-allowed, counted once, nothing changes', () => {
    const { registry, replica, clock, events } = setup()
    registry.admitOnly((n) => n !== 'X')
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'ok'), 'eu')).toBe('applied')
    const before = snapshot(replica)
    const clockBefore = clock.peek()
    const fromX = valueTuple('k', NOW - 100, 'evil', { node: 'X' })
    expect(replica.admitRemote(fromX, 'eu')).toBe('not-allowed')
    expectOnlyRejected(registry.rejected, 'not-allowed', 1)
    expect(snapshot(replica)).toEqual(before)
    expect(clock.peek()).toEqual(clockBefore)
    expect(replica.peek('k', NOW)?.value).toBe('ok')
    expect(events.changes).toHaveLength(1)
    // Tombstones and version-only tuples of that writer are refused too.
    expect(replica.admitRemote(tombTuple('k', NOW - 100, { node: 'X' }), 'eu')).toBe('not-allowed')
    expect(replica.admitRemote(versionTuple('k', NOW - 100, { node: 'X' }), 'eu')).toBe(
      'not-allowed',
    )
    expectOnlyRejected(registry.rejected, 'not-allowed', 3)
    expect(snapshot(replica)).toEqual(before)
  })

  it('refuses a stamp further ahead of physical time than maxDrift: clock-drift, counted once, nothing changes', () => {
    const { time, registry, replica, clock } = setup()
    const before = snapshot(replica)
    const clockBefore = clock.peek()
    const ahead = valueTuple('k', NOW + MAX_DRIFT + 1, 'future')
    expect(replica.admitRemote(ahead, 'eu')).toBe('clock-drift')
    expectOnlyRejected(registry.rejected, 'clock-drift', 1)
    expect(snapshot(replica)).toEqual(before)
    expect(clock.peek()).toEqual(clockBefore)
    expect(replica.index.get('k')).toBeUndefined()
    // Exactly maxDrift ahead is accepted.
    expect(replica.admitRemote(valueTuple('j', NOW + MAX_DRIFT, 'edge'), 'eu')).toBe('applied')
    // The bound follows the clock's physical time.
    time.t = NOW + 1
    expect(replica.admitRemote(ahead, 'eu')).toBe('applied')
    expect(replica.peek('k', time.t)?.value).toBe('future')
    expectOnlyRejected(registry.rejected, 'clock-drift', 1)
  })

  it('refuses a value whose bytes are not msgpack when a listener is handed it: bad-value, counted once, nothing changes', () => {
    const truncatedMap = Uint8Array.of(0x85)
    const neverUsed = Uint8Array.of(0xc1)
    const { registry, replica, events, clock } = setup()
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'good'), 'eu')).toBe('applied')
    const before = snapshot(replica)
    const clockBefore = clock.peek()
    expect(replica.admitRemote(['k', NOW - 100, 0, 'B', LATER, 0, truncatedMap], 'eu')).toBe(
      'bad-value',
    )
    expectOnlyRejected(registry.rejected, 'bad-value', 1)
    expect(replica.admitRemote(['n', NOW + 30_000, 0, 'B', LATER, 0, neverUsed], 'eu')).toBe(
      'bad-value',
    )
    expectOnlyRejected(registry.rejected, 'bad-value', 2)
    expect(snapshot(replica)).toEqual(before)
    expect(clock.peek()).toEqual(clockBefore)
    expect(replica.peek('k', NOW)?.value).toBe('good')
    expect(replica.index.get('n')).toBeUndefined()
    expect(events.changes).toHaveLength(1)
  })

  it('a value whose bytes are not msgpack stands as a version, reads as a miss and counts bad-value once', () => {
    const truncatedMap = Uint8Array.of(0x85)
    const neverUsed = Uint8Array.of(0xc1)
    expect(() => decodeValue(truncatedMap)).toThrow()
    expect(() => decodeValue(neverUsed)).toThrow()
    const { registry, replica } = setup({}, false)
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'good'), 'eu')).toBe('applied')
    // Nobody listens: values are decoded on first read, and bad bytes refused then.
    const bad: EntryTuple = ['k', NOW - 100, 0, 'B', LATER, 0, truncatedMap]
    expect(replica.admitRemote(bad, 'eu')).toBe('applied')
    expect(replica.admitRemote(['n', NOW - 100, 0, 'B', LATER, 0, neverUsed], 'eu')).toBe('applied')
    expect(replica.readValue('k', NOW)).toBeUndefined()
    expectOnlyRejected(registry.rejected, 'bad-value', 1)
    expect(replica.peek('n', NOW)).toBeUndefined()
    expectOnlyRejected(registry.rejected, 'bad-value', 2)
    // The version stays (it shadows the older value everywhere alike); the value is gone.
    expect(replica.index.get('k')?.version).toEqual({ wall: NOW - 100, logical: 0, node: 'B' })
    expect(replica.readValue('k', NOW)).toBeUndefined()
    expect(replica.admitRemote(valueTuple('k', NOW - 300, 'good'), 'eu')).toBe('stale')
    expectOnlyRejected(registry.rejected, 'bad-value', 2)
  })

  it('a reserved key carrying a value is refused as bad-value and does not advance the clock', () => {
    const { clock, replica } = setup()
    const clockBefore = clock.peek()
    const bad: EntryTuple = ['\u0000clear', NOW + 30_000, 5, 'B', LATER, 0, Uint8Array.of(0xc0)]
    expect(replica.admitRemote(bad, 'eu')).toBe('bad-value')
    expect(clock.peek()).toEqual(clockBefore)
  })

  it('a value nobody has read is kept as its bytes: read once it decodes, stays the same object, and exports the bytes received', () => {
    const { replica } = setup({}, false)
    const value = { deep: [1, 'two', null], at: new Date(0) }
    const t = valueTuple('k', NOW - 100, value)
    expect(replica.admitRemote(t, 'eu')).toBe('applied')
    const s = replica.table.slotOf('k')
    expect(replica.table.isEncoded(s)).toBe(true)
    // Not decoded for anti-entropy or snapshots: the bytes go out as they came.
    expect(replica.exportEntry('k', replica.index.get('k')!, NOW)[6]).toEqual(t[6])
    const first = replica.readValue('k', NOW)
    expect(first).toEqual(value)
    expect(replica.table.isEncoded(s)).toBe(false)
    expect(replica.readValue('k', NOW)).toBe(first)
    expect(replica.table.encoded.bytes).toBe(0)
  })

  it('bytes that do not decode are dropped quietly when walked by a clear or an export of entries', () => {
    const { registry, replica } = setup({}, false)
    expect(replica.admitRemote(['k', NOW - 100, 0, 'B', LATER, 0, Uint8Array.of(0x85)], 'eu')).toBe(
      'applied',
    )
    expect([...replica.store.entries()]).toEqual([])
    expectOnlyRejected(registry.rejected, 'bad-value', 1)
    expect(replica.admitRemote(['n', NOW - 100, 0, 'B', LATER, 0, Uint8Array.of(0xc1)], 'eu')).toBe(
      'applied',
    )
    const clear: EntryTuple = ['\u0000clear', NOW - 50, 0, 'B', LATER, 1, null]
    expect(replica.admitRemote(clear, 'eu')).toBe('applied')
    expect(replica.readValue('n', NOW)).toBeUndefined()
  })

  it('a value with tags is decoded on receipt: bad tags are refused at once', () => {
    const { clock, replica } = setup({}, false)
    const clockBefore = clock.peek()
    // The tagged-value header (fixext 1, type 0x54) followed by tags that are not strings.
    const bytes = Uint8Array.from([0xd4, 0x54, 0x00, 0x92, 0x91, 0x01, 0xa1, 0x76])
    expect(hasTags(bytes)).toBe(true)
    expect(replica.admitRemote(['k', NOW + 30_000, 5, 'B', LATER, 0, bytes], 'eu')).toBe(
      'bad-value',
    )
    expect(clock.peek()).toEqual(clockBefore)
  })

  it('only produces reject codes that the registry counts', () => {
    for (const code of ['not-allowed', 'clock-drift', 'bad-value'] as const) {
      expect(REJECT_CODES).toContain(code)
      expect(isRejectCode(code)).toBe(true)
    }
    for (const outcome of ['applied', 'stale', 'expired', 'too-large']) {
      expect(isRejectCode(outcome)).toBe(false)
    }
  })
})

describe('KeyspaceReplica: exporting entries', () => {
  it('exports a held value as kind 0 whose bytes decode to the value', () => {
    const { replica } = setup()
    const t = valueTuple('k', NOW - 100, { deep: [1, 'two', null] }, { logical: 3, node: 'C' })
    replica.admitRemote(t, 'eu')
    const indexed = replica.index.get('k')!
    for (const out of [
      replica.exportEntry('k', indexed, NOW),
      replica.newestTuple('k', NOW),
      replica.liveTuple('k', NOW),
    ]) {
      expect(out?.slice(0, 6)).toEqual(['k', NOW - 100, 3, 'C', LATER, 0])
      expect(decodeValue(out![6]!)).toEqual({ deep: [1, 'two', null] })
    }
  })

  it('exports a tombstone as kind 1; it is not live', () => {
    const { replica } = setup()
    replica.admitRemote(valueTuple('k', NOW - 200, 'v'), 'eu')
    replica.admitRemote(tombTuple('k', NOW - 100), 'eu')
    expect(replica.newestTuple('k', NOW)).toEqual(['k', NOW - 100, 0, 'B', LATER, 1, null])
    expect(replica.exportEntry('k', replica.index.get('k')!, NOW)[5]).toBe(1)
    expect(replica.liveTuple('k', NOW)).toBeUndefined()
  })

  it('exports an evicted value as its version alone (kind 2)', () => {
    const { replica } = setup({ maxEntries: 1 })
    replica.admitRemote(valueTuple('k1', NOW - 100, 'one', { logical: 2 }), 'eu')
    replica.admitRemote(valueTuple('k2', NOW - 100, 'two'), 'eu')
    expect(replica.store.peek('k1')).toBeUndefined()
    expect(replica.newestTuple('k1', NOW)).toEqual(['k1', NOW - 100, 2, 'B', LATER, 2, null])
    expect(replica.liveTuple('k1', NOW)).toBeUndefined()
  })

  it('exports an expired value still within retention as kind 2, and nothing once retention ended', () => {
    const { time, replica } = setup({ maxTtl: '1h' })
    replica.admitRemote(valueTuple('k', NOW - 100, 'v', { expiresAt: NOW + 1_000 }), 'eu')
    time.t = NOW + 1_000
    // Expired but still held in the store (not swept).
    expect(replica.store.peek('k')).toBeDefined()
    expect(replica.newestTuple('k', time.t)).toEqual(['k', NOW - 100, 0, 'B', NOW + 1_000, 2, null])
    expect(replica.liveTuple('k', time.t)).toBeUndefined()
    expect(replica.newestTuple('k', NOW - 100 + 3_600_000 - 1)?.[5]).toBe(2)
    expect(replica.newestTuple('k', NOW - 100 + 3_600_000)).toBeUndefined()
    expect(replica.newestTuple('unknown', NOW)).toBeUndefined()
  })
})

describe('KeyspaceReplica.syncView', () => {
  it('imports through admitRemote, counting applied and expired entries, refusing what admitRemote refuses', () => {
    const { registry, replica, events } = setup()
    registry.admitOnly((n) => n !== 'X')
    replica.admitRemote(valueTuple('held', NOW - 100, 'old'), 'eu')
    const view = replica.syncView('ap')
    expect(view.index).toBe(replica.index)
    expect(view.now()).toBe(NOW)
    const changed = view.importEntries([
      valueTuple('a', NOW - 50, 'A'), // applied
      valueTuple('held', NOW - 50, 'new'), // applied
      valueTuple('b', NOW - 50, 'B', { expiresAt: NOW - 1 }), // expired
      valueTuple('held', NOW - 200, 'older'), // stale
      valueTuple('x', NOW - 50, 'X', { node: 'X' }), // not-allowed
      valueTuple('c', NOW + MAX_DRIFT + 5, 'C'), // clock-drift
      versionTuple('d', NOW - 50), // applied (version alone)
    ])
    expect(changed).toBe(4)
    expect(registry.rejected['not-allowed']).toBe(1)
    expect(registry.rejected['clock-drift']).toBe(1)
    expect(replica.index.get('x')).toBeUndefined()
    expect(replica.index.get('c')).toBeUndefined()
    expect(replica.index.get('b')?.version.wall).toBe(NOW - 50)
    expect(replica.peek('held', NOW)?.value).toBe('new')
    expect(replica.counters.remoteStale).toBe(1)
    // Changes made through the view carry the view's region.
    expect(events.changes.slice(1).map((c) => [c.key, c.region])).toEqual([
      ['a', 'ap'],
      ['held', 'ap'],
    ])
    // Exports use the replica's clock.
    const out = view.exportEntry('a', replica.index.get('a')!)
    expect(out[5]).toBe(0)
    expect(decodeValue(out[6]!)).toBe('A')
  })
})

describe('KeyspaceReplica.sweepStep', () => {
  it('walks at most budget keys per step, resumes where it stopped, drops expired entries with expire events', () => {
    const { time, replica, events } = setup()
    for (let i = 0; i < 5; i++) {
      replica.admitRemote(valueTuple(`k${i}`, NOW - 100, i, { expiresAt: NOW + 1_000 }), 'eu')
    }
    replica.admitRemote(valueTuple('live', NOW - 100, 'L'), 'eu')
    replica.admitRemote(tombTuple('del', NOW - 100, { expiresAt: NOW + 1_000 }), 'eu')
    time.t = NOW + 1_000
    expect(replica.sweepStep(2, time.t)).toBe(2)
    expect(events.expires).toEqual(['k0', 'k1'])
    expect(replica.store.size).toBe(5)
    expect(replica.sweepStep(2, time.t)).toBe(2)
    expect(events.expires).toEqual(['k0', 'k1', 'k2', 'k3'])
    // The end of the index ends the pass, even with budget left.
    expect(replica.sweepStep(100, time.t)).toBe(3)
    // Expired tombstones go silently; live entries stay.
    expect(events.expires).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'])
    expect(replica.counters.expirations).toBe(5)
    expect([...replica.store.entries()].map(([k]) => k)).toEqual(['live'])
    expect(replica.store.tombstones).toBe(0)
    // Versions within retention are still remembered, so an older write stays out.
    expect(replica.index.size).toBe(7)
    expect(replica.admitRemote(valueTuple('k0', NOW - 200, 'older'), 'eu')).toBe('stale')
    // Swept values are kept for stale-while-revalidate.
    expect(replica.staleValue('k3', 10_000, time.t)).toBe(3)
    // The next step starts a new pass.
    expect(replica.sweepStep(100, time.t)).toBe(7)
  })

  it('forgets index versions once version.wall + maxTtl has passed', () => {
    const { time, replica, events } = setup({ maxTtl: '1h' })
    const retain = 3_600_000
    replica.admitRemote(valueTuple('old', NOW - 100, 'o', { expiresAt: NOW + 1_000 }), 'eu')
    replica.admitRemote(tombTuple('gone', NOW - 100, { expiresAt: NOW - 100 + retain }), 'eu')
    replica.admitRemote(valueTuple('new', NOW, 'n', { expiresAt: NOW + retain }), 'eu')
    const end = NOW - 100 + retain

    expect(replica.sweepStep(100, end - 1)).toBe(3)
    expect(replica.store.peek('old')).toBeUndefined()
    expect(events.expires).toEqual(['old'])
    expect(replica.index.get('old')).toBeDefined()
    expect(replica.index.get('gone')?.tombstone).toBe(true)

    time.t = end
    expect(replica.sweepStep(100, end)).toBe(3)
    expect(replica.index.get('old')).toBeUndefined()
    expect(replica.index.get('gone')).toBeUndefined()
    expect(replica.store.peek('gone')).toBeUndefined()
    expect(replica.index.get('new')).toBeDefined()
    expect(replica.peek('new', end)?.value).toBe('n')
    expect(replica.index.size).toBe(1)
    expect(replica.sweepStep(100, end)).toBe(1)
  })
})

describe('KeyspaceReplica.staleValue', () => {
  it('returns a value that expired within the window while nothing newer is known', () => {
    const { time, replica } = setup()
    replica.admitRemote(valueTuple('k', NOW - 100, 'v1', { expiresAt: NOW + 1_000 }), 'eu')
    expect(replica.staleValue('k', 10_000, NOW)).toBeUndefined() // live, not stale
    time.t = NOW + 1_500
    expect(replica.read('k', time.t)).toBeUndefined()
    expect(replica.staleValue('k', 1_000, time.t)).toBe('v1')
    expect(replica.staleValue('k', 500, time.t)).toBe('v1')
    expect(replica.staleValue('k', 499, time.t)).toBeUndefined()
    // The window is capped by the retention of stale values (60 s).
    expect(replica.staleValue('k', 3_600_000, NOW + 1_000 + 60_000)).toBe('v1')
    expect(replica.staleValue('k', 3_600_000, NOW + 1_000 + 60_001)).toBeUndefined()
    expect(replica.staleValue('never', 10_000, time.t)).toBeUndefined()
  })

  it('returns nothing once a newer write, delete or version is known', () => {
    const { time, replica } = setup()
    for (const k of ['w', 'd', 'v']) {
      replica.admitRemote(valueTuple(k, NOW - 100, `old ${k}`, { expiresAt: NOW + 1_000 }), 'eu')
    }
    time.t = NOW + 1_500
    for (const k of ['w', 'd', 'v']) {
      expect(replica.read(k, time.t)).toBeUndefined()
      expect(replica.staleValue(k, 10_000, time.t)).toBe(`old ${k}`)
    }
    replica.admitRemote(valueTuple('w', NOW - 50, 'new w', { expiresAt: NOW + 1_200 }), 'eu')
    replica.admitRemote(tombTuple('d', NOW - 50), 'eu')
    replica.admitRemote(versionTuple('v', NOW - 50), 'eu')
    for (const k of ['w', 'd', 'v']) {
      expect(replica.staleValue(k, 10_000, time.t)).toBeUndefined()
    }
  })
})

describe('KeyspaceReplica: last-writer-wins is independent of arrival order (property)', () => {
  const KEYS = ['a', 'b', 'c'] as const
  interface Write {
    key: string
    wall: number
    logical: number
    node: string
    tomb: boolean
    value: number
    expiresAt: number
    /** How the write travels: whole, as its version alone, both, or whole twice. */
    form: 'full' | 'version' | 'both' | 'replay'
  }
  const writeArb: fc.Arbitrary<Write> = fc.record({
    key: fc.constantFrom(...KEYS),
    wall: fc.integer({ min: NOW - 3, max: NOW }),
    logical: fc.integer({ min: 0, max: 2 }),
    node: fc.constantFrom('B', 'C', 'D'),
    tomb: fc.boolean(),
    value: fc.integer(),
    expiresAt: fc.constantFrom(NOW - 1, NOW, NOW + 1, LATER),
    form: fc.constantFrom('full', 'version', 'both', 'replay'),
  })
  const idOf = (w: { key: string; wall: number; logical: number; node: string }) =>
    `${w.key}|${w.wall}|${w.logical}|${w.node}`

  function tuplesOf(w: Write): EntryTuple[] {
    const at = { logical: w.logical, node: w.node, expiresAt: w.expiresAt }
    // Tombstones always travel as themselves (exportEntry never sends their version alone).
    if (w.tomb)
      return w.form === 'replay'
        ? [tombTuple(w.key, w.wall, at), tombTuple(w.key, w.wall, at)]
        : [tombTuple(w.key, w.wall, at)]
    const full = valueTuple(w.key, w.wall, w.value, at)
    const vo = versionTuple(w.key, w.wall, at)
    switch (w.form) {
      case 'full':
        return [full]
      case 'version':
        return [vo]
      case 'both':
        return [full, vo]
      case 'replay':
        return [full, valueTuple(w.key, w.wall, w.value, at)]
    }
  }

  const scenario = fc
    // One write per (key, version): a version names exactly one write.
    .uniqueArray(writeArb, { minLength: 1, maxLength: 16, selector: idOf })
    .chain((writes) => {
      const deliveries = writes.flatMap(tuplesOf)
      const n = deliveries.length
      return fc.tuple(
        fc.constant(writes),
        fc.shuffledSubarray(deliveries, { minLength: n, maxLength: n }),
        fc.shuffledSubarray(deliveries, { minLength: n, maxLength: n }),
      )
    })

  /** Delivers `order` to a fresh replica, checking after every entry that no key serves a superseded value. */
  function deliver(order: EntryTuple[], writes: Map<string, Write>) {
    const { replica } = setup()
    const newest = new Map<string, Version>()
    for (const t of order) {
      const outcome: AdmitOutcome = replica.admitRemote(t, 'eu')
      expect(isRejectCode(outcome)).toBe(false)
      const v = versionOf(t)
      const prev = newest.get(t[0])
      if (prev === undefined || compareVersions(v, prev) > 0) newest.set(t[0], v)
      for (const key of KEYS) {
        const live = replica.peek(key, NOW)
        if (live === undefined) continue
        const known = newest.get(key)
        expect(known).toBeDefined()
        expect(compareVersions(live.version, known!)).toBeGreaterThanOrEqual(0)
        // It serves exactly what that version wrote.
        const w = writes.get(idOf({ key, ...live.version }))
        expect(w?.tomb).toBe(false)
        expect(live.value).toBe(w?.value)
      }
    }
    return replica
  }

  it('two replicas given the same entries in different orders end identical, as the model says', () => {
    fc.assert(
      fc.property(scenario, ([writeList, order1, order2]) => {
        const writes = new Map(writeList.map((w) => [idOf(w), w]))
        const r1 = deliver(order1, writes)
        const r2 = deliver(order2, writes)
        for (const key of KEYS) {
          const ofKey = writeList.filter((w) => w.key === key)
          const newest = ofKey.reduce<Write | undefined>(
            (best, w) => (best === undefined || compareVersions(w, best) > 0 ? w : best),
            undefined,
          )
          const v1 = r1.index.get(key)?.version
          const v2 = r2.index.get(key)?.version
          expect(v1).toEqual(v2)
          expect(r1.peek(key, NOW)?.value).toEqual(r2.peek(key, NOW)?.value)
          expect(r1.peek(key, NOW)?.version).toEqual(r2.peek(key, NOW)?.version)
          if (newest === undefined) {
            expect(v1).toBeUndefined()
            continue
          }
          expect(v1).toEqual({ wall: newest.wall, logical: newest.logical, node: newest.node })
          const served =
            !newest.tomb && newest.expiresAt > NOW && newest.form !== 'version'
              ? newest.value
              : undefined
          expect(r1.peek(key, NOW)?.value).toBe(served)
        }
      }),
    )
  })
})
