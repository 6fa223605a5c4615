import { afterEach, describe, expect, it, vi } from 'vitest'
import { HybridClock } from '../../src/clock/hlc.js'
import { InvalidOptionError } from '../../src/errors.js'
import { REPLICA_DEFAULTS } from '../../src/replica/defaults.js'
import type { KeyspaceOptions } from '../../src/replica/keyspace-options.js'
import type { KeyspaceReplica, ReplicaListener } from '../../src/replica/keyspace-replica.js'
import { ReplicaRegistry } from '../../src/replica/replica-registry.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { REJECT_CODES, rejectCounts } from '../../src/replication/reject-codes.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { wallClock } from '../helpers/clock.js'
import { waitFor } from '../helpers/wait.js'

const NOW = 1_700_000_000_000

const registries: ReplicaRegistry[] = []

/** A registry on node A whose wall clock is `time.t`. */
function setup(defaults: KeyspaceOptions = {}) {
  const time = { t: NOW }
  const hlc = new HybridClock({ node: 'A', physical: () => time.t })
  const registry = new ReplicaRegistry({ hlc, clock: wallClock(() => time.t), defaults })
  registries.push(registry)
  return { time, registry }
}

/** Fills `replica` with `n` values that expire at NOW + 1000. */
function fillExpiring(replica: KeyspaceReplica<unknown>, n: number): void {
  for (let i = 0; i < n; i++) {
    const key = `k${i}`
    const t: EntryTuple = [key, NOW - 10, 0, 'B', NOW + 1_000, 0, encodeValue(key, i)]
    expect(replica.admitRemote(t, 'eu')).toBe('applied')
  }
}

/**
 * Makes `replica` due for ever: an entry past its expiry, and steps that never finish
 * (so the sweep keeps stepping it every interval). @returns the spy on its steps
 */
function alwaysDue(
  replica: KeyspaceReplica<unknown>,
  time: { t: number },
  step: () => number = () => 0,
) {
  fillExpiring(replica, 1)
  time.t = NOW + 2_000
  return vi.spyOn(replica, 'sweepStep').mockImplementation(step)
}

afterEach(() => {
  for (const r of registries.splice(0)) r.stopSweep()
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('ReplicaRegistry.open', () => {
  it('returns the same replica for the same name, with no options or equal options', () => {
    const { registry } = setup()
    const ks = registry.open('ks', { maxEntries: 10, defaultTtl: '1m' })
    expect(registry.open('ks')).toBe(ks)
    // Another object with the same content, even spelled differently, is the same options.
    expect(registry.open('ks', { maxEntries: 10, defaultTtl: '1m' })).toBe(ks)
    expect(registry.open('ks', { maxEntries: 10, defaultTtl: 60_000 })).toBe(ks)
    expect(registry.size).toBe(1)

    const plain = registry.open('plain')
    expect(registry.open('plain', {})).toBe(plain)
    expect(registry.open('plain', { maxEntries: 100_000 })).toBe(plain)
  })

  it('throws InvalidOptionError for different options of an open keyspace, and keeps the open one', () => {
    const { registry } = setup()
    const ks = registry.open('ks', { maxEntries: 10 })
    expect(() => registry.open('ks', { maxEntries: 11 })).toThrow(InvalidOptionError)
    expect(() => registry.open('ks', {})).toThrow(/already open with different options/)
    expect(() => registry.open('ks', { maxEntries: 10, maxTtl: '2d' })).toThrow(InvalidOptionError)
    expect(registry.get('ks')).toBe(ks)
    expect(ks.options.maxEntries).toBe(10)
    expect(registry.size).toBe(1)
  })

  it('refuses a bad name or bad options and opens nothing', () => {
    const { registry } = setup()
    const heard: string[] = []
    registry.onOpen((r) => heard.push(r.name))
    for (const name of ['', 'a b', 'ks/1', 'x'.repeat(65), 'ü', 5, null, undefined]) {
      expect(() => registry.open(name as string)).toThrow(InvalidOptionError)
    }
    expect(() => registry.open('ks', { maxEntries: 0 })).toThrow(InvalidOptionError)
    expect(() => registry.open('ks', { defaultTtl: '2d', maxTtl: '1d' })).toThrow(
      InvalidOptionError,
    )
    expect(registry.size).toBe(0)
    expect(registry.has('ks')).toBe(false)
    expect(heard).toEqual([])
    // Names at the edge of the rule are fine.
    expect(registry.open('x'.repeat(64)).name).toBe('x'.repeat(64))
    expect(registry.open('A-z_0.9').name).toBe('A-z_0.9')
  })

  it('keyspaces inherit the registry defaults; their own options win', () => {
    const { registry } = setup({ maxEntries: 7, defaultTtl: '1m' })
    expect(registry.open('a').options).toMatchObject({ maxEntries: 7, defaultTtl: 60_000 })
    expect(registry.open('b', { maxEntries: 3 }).options).toMatchObject({
      maxEntries: 3,
      defaultTtl: 60_000,
    })
  })
})

describe('ReplicaRegistry: listeners, listing, admission, counts', () => {
  it('onOpen listeners hear every new keyspace once, not a repeated open', () => {
    const { registry } = setup()
    const first: KeyspaceReplica<unknown>[] = []
    const second: string[] = []
    const heldWhenHeard: boolean[] = []
    registry.onOpen((r) => {
      first.push(r)
      // The mesh subscribes from here: the registry already holds the keyspace.
      heldWhenHeard.push(registry.get(r.name) === r && registry.names().includes(r.name))
    })
    const a = registry.open('a')
    registry.onOpen((r) => second.push(r.name))
    const b = registry.open('b')
    registry.open('a')
    registry.open('b', {})
    expect(first).toEqual([a, b])
    expect(first[0]).toBe(a)
    expect(first[1]).toBe(b)
    // A listener added later hears only later opens.
    expect(second).toEqual(['b'])
    expect(heldWhenHeard).toEqual([true, true])
  })

  it('lists the open keyspaces: names(), size, has, get and iteration, in opening order', () => {
    const { registry } = setup()
    expect(registry.names()).toEqual([])
    expect(registry.size).toBe(0)
    expect([...registry]).toEqual([])
    const z = registry.open('z')
    const a = registry.open('a')
    const m = registry.open('m')
    registry.open('a')
    expect(registry.names()).toEqual(['z', 'a', 'm'])
    expect(registry.size).toBe(3)
    const listed = [...registry]
    expect(listed).toHaveLength(3)
    expect(listed[0]).toBe(z)
    expect(listed[1]).toBe(a)
    expect(listed[2]).toBe(m)
    expect(registry.has('a')).toBe(true)
    expect(registry.has('b')).toBe(false)
    expect(registry.get('m')).toBe(m)
    expect(registry.get('b')).toBeUndefined()
  })

  it('rejected starts at zero for every code, and reject counts only its code', () => {
    const { registry } = setup()
    expect(Object.keys(registry.rejected).sort()).toEqual([...REJECT_CODES].sort())
    for (const code of REJECT_CODES) expect(registry.rejected[code]).toBe(0)
    registry.reject('malformed')
    registry.reject('malformed')
    registry.reject('unsigned')
    expect(registry.rejected).toEqual({ ...rejectCounts(), malformed: 2, unsigned: 1 })
    // Each registry counts for itself.
    expect(setup().registry.rejected).toEqual(rejectCounts())
  })

  it('admits every writer until admitOnly sets a policy, which replicas apply', () => {
    const { registry } = setup()
    const ks = registry.open('ks')
    expect(registry.admits('X')).toBe(true)
    registry.admitOnly((n) => n !== 'X')
    expect(registry.admits('X')).toBe(false)
    expect(registry.admits('B')).toBe(true)
    const t: EntryTuple = ['k', NOW - 10, 0, 'X', NOW + 1_000, 0, encodeValue('k', 1)]
    // The policy set after opening reaches the replica.
    expect(ks.admitRemote(t, 'eu')).toBe('not-allowed')
    expect(registry.rejected['not-allowed']).toBe(1)
  })

  it('a listener set after a keyspace opened still hears its events', () => {
    const { registry } = setup()
    const ks = registry.open('ks')
    const changes: string[] = []
    const listener: ReplicaListener = {
      wants: (e) => e === 'change',
      change: (keyspace, key, _entry, source, region) =>
        changes.push(`${keyspace}/${key}/${source}/${region}`),
      expire: () => {},
      evict: () => {},
    }
    registry.listen(listener)
    const t: EntryTuple = ['k', NOW - 10, 0, 'B', NOW + 1_000, 0, encodeValue('k', 1)]
    expect(ks.admitRemote(t, 'eu')).toBe('applied')
    expect(changes).toEqual(['ks/k/remote/eu'])
  })
})

describe('ReplicaRegistry sweep', () => {
  it('startSweep steps every keyspace with the sweep budget at the registry time, dropping expired entries', async () => {
    const { time, registry } = setup()
    const a = registry.open('a')
    const b = registry.open('b')
    fillExpiring(a, 3)
    fillExpiring(b, 2)
    const spyA = vi.spyOn(a, 'sweepStep')
    const spyB = vi.spyOn(b, 'sweepStep')
    time.t = NOW + 2_000
    registry.startSweep(10)
    await waitFor(() => a.store.size === 0 && b.store.size === 0, 'both keyspaces swept', 5_000)
    expect(spyA).toHaveBeenCalledWith(
      REPLICA_DEFAULTS.sweepBudget,
      NOW + 2_000,
      expect.any(Function),
    )
    expect(spyB).toHaveBeenCalledWith(
      REPLICA_DEFAULTS.sweepBudget,
      NOW + 2_000,
      expect.any(Function),
    )
    expect(a.counters.expirations).toBe(3)
    expect(b.counters.expirations).toBe(2)
    // A keyspace opened while the sweep runs is swept too.
    time.t = NOW
    const c = registry.open('c')
    fillExpiring(c, 2)
    time.t = NOW + 2_000
    await waitFor(() => c.store.size === 0, 'the later keyspace swept', 5_000)
  })

  it('a step that throws is reported to onError, and later steps run', async () => {
    const { time, registry } = setup()
    const a = registry.open('a')
    const b = registry.open('b')
    fillExpiring(a, 2)
    fillExpiring(b, 2)
    const boom = new Error('boom')
    const spyA = vi.spyOn(a, 'sweepStep').mockImplementationOnce(() => {
      throw boom
    })
    const errors: unknown[] = []
    time.t = NOW + 2_000
    registry.startSweep(10, (err) => errors.push(err))
    await waitFor(
      () => a.store.size === 0 && b.store.size === 0,
      'both keyspaces swept after a failed step',
      5_000,
    )
    expect(errors).toEqual([boom])
    expect(spyA.mock.calls.length).toBeGreaterThanOrEqual(2)
  })

  it('a keyspace whose every step throws does not stop the sweep of the others', async () => {
    const { time, registry } = setup()
    const bad = registry.open('bad')
    const good = registry.open('good')
    fillExpiring(good, 3)
    alwaysDue(bad, time, () => {
      throw new Error('always')
    })
    const errors: unknown[] = []
    /** Steps of the good keyspace made before each failure. */
    const goodStepsAtError: number[] = []
    const spyGood = vi.spyOn(good, 'sweepStep')
    time.t = NOW + 2_000
    registry.startSweep(10, (err) => {
      goodStepsAtError.push(spyGood.mock.calls.length)
      errors.push(err)
    })
    await waitFor(
      () => errors.length >= 3 && good.store.size === 0,
      'three failed steps and the good keyspace swept',
      5_000,
    )
    // The failing keyspace first, then the good one, whose pass ended in its first step
    // (it is not stepped again: nothing of it is due).
    expect(goodStepsAtError.slice(0, 3)).toEqual([0, 1, 1])
  })

  it('a throwing step without onError is contained', async () => {
    const { time, registry } = setup()
    const ks = registry.open('ks')
    const spy = alwaysDue(ks, time, () => {
      throw new Error('unheard')
    })
    registry.startSweep(10)
    await waitFor(() => spy.mock.calls.length >= 3, 'three failed steps', 5_000)
  })

  it('stopSweep stops the steps; a second startSweep does not start a second timer', () => {
    vi.useFakeTimers()
    const { time, registry } = setup()
    const ks = registry.open('ks')
    const spy = alwaysDue(ks, time)
    registry.startSweep(10)
    registry.startSweep(10)
    // Due at once, then one step per 10 ms: at 0, 10, ..., 100.
    vi.advanceTimersByTime(100)
    expect(spy).toHaveBeenCalledTimes(11)
    registry.stopSweep()
    vi.advanceTimersByTime(1_000)
    expect(spy).toHaveBeenCalledTimes(11)
    registry.stopSweep() // idempotent
    // It can start again after a stop: at 0, 20, ..., 100.
    registry.startSweep(20)
    vi.advanceTimersByTime(100)
    expect(spy).toHaveBeenCalledTimes(17)
    registry.stopSweep()
  })

  it('stopSweep stops the steps (real timers: another sweep runs meanwhile)', async () => {
    const { time, registry } = setup()
    const ks = registry.open('ks')
    const spy = alwaysDue(ks, time)
    registry.startSweep(10)
    await waitFor(() => spy.mock.calls.length >= 2, 'two steps', 5_000)
    registry.stopSweep()
    const stoppedAt = spy.mock.calls.length
    // A witness sweep on the same interval: once it ran five steps, ours would have too.
    const { time: wTime, registry: witness } = setup()
    const w = witness.open('w')
    const wSpy = alwaysDue(w, wTime)
    witness.startSweep(10)
    await waitFor(() => wSpy.mock.calls.length >= 5, 'five witness steps', 5_000)
    expect(spy.mock.calls.length).toBe(stoppedAt)
  })
})
