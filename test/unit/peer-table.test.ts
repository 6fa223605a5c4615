import { describe, expect, it } from 'vitest'
import { PeerTable } from '../../src/mesh/peer-table.js'

describe('PeerTable', () => {
  function table() {
    const t = new PeerTable('eu')
    for (const [id, region, rtt] of [
      ['near-slow', 'eu', 30],
      ['near-fast', 'eu', 2],
      ['far-fast', 'us', 1],
      ['far-slow', 'ap', 90],
    ] as const) {
      const p = t.upsert(id, 0)
      p.region = region
      p.connected = true
      t.recordRtt(id, rtt, 0)
    }
    return t
  }

  it("a member's own word on its region replaces hearsay, and hearsay never replaces anything", () => {
    const t = new PeerTable('eu')
    const p = t.upsert('x', 0)
    t.setRegion(p, 'ap')
    expect([p.region, t.ownRegion('x')]).toEqual(['ap', undefined])
    t.setRegion(p, 'us')
    expect(p.region).toBe('ap')
    const v = t.version
    t.setRegion(p, 'us', true)
    expect([p.region, t.ownRegion('x'), t.version > v]).toEqual(['us', 'us', true])
    t.setRegion(p, 'ap')
    expect(t.ownRegion('x')).toBe('us')
    // Its own word again (a restart in another region) moves it.
    t.setRegion(p, 'eu', true)
    expect(t.ownRegion('x')).toBe('eu')
    expect(t.ownRegion('unknown')).toBeUndefined()
  })

  it('ranks same-region peers first, then by RTT', () => {
    expect(
      table()
        .ranked()
        .map((p) => p.id),
    ).toEqual(['near-fast', 'near-slow', 'far-fast', 'far-slow'])
  })

  it('pushes failing and disconnected peers back', () => {
    const t = table()
    t.recordFailure('near-fast')
    expect(t.ranked()[0]!.id).toBe('near-slow')
    t.get('near-slow')!.connected = false
    expect(t.ranked().map((p) => p.id)).not.toContain('near-slow')
  })

  it('picks the best peer of each other region', () => {
    const best = table().bestPerRemoteRegion()
    expect([...best.entries()].map(([r, p]) => [r, p.id])).toEqual([
      ['us', 'far-fast'],
      ['ap', 'far-slow'],
    ])
  })

  it('smooths RTT with an EWMA', () => {
    const t = new PeerTable('eu')
    t.recordRtt('x', 100, 0)
    t.recordRtt('x', 0, 0)
    expect(t.get('x')!.rtt).toBeCloseTo(70)
  })

  it('counts the peers holding a keyspace: region known, hello listed it, connected if asked', () => {
    const t = table()
    t.get('near-fast')!.keyspaces = new Set(['users', 'orders'])
    t.get('far-slow')!.keyspaces = new Set(['users'])
    t.get('far-slow')!.connected = false
    // A peer whose region is not known yet does not count, whatever it listed.
    t.upsert('nowhere', 0).keyspaces = new Set(['users'])
    expect(t.holders('users', false)).toBe(2)
    expect(t.holders('users', true)).toBe(1)
    expect(t.holders('orders', true)).toBe(1)
    expect(t.holders('sessions', false)).toBe(0)
  })
})

describe('forgotten members', () => {
  it('hearsay cannot bring a forgotten member back until its hold ends; direct evidence can', () => {
    const t = new PeerTable('r')
    t.upsert('dead', 0)
    t.remove('dead', 1_000)
    expect(t.learn('dead', 500)).toBeUndefined()
    expect(t.get('dead')).toBeUndefined()
    // Its own connection or announcement is direct evidence: it is back.
    t.upsert('dead', 600)
    expect(t.learn('dead', 700)).toBeDefined()
    // Once the hold ended, hearsay is believed again.
    t.remove('dead', 1_000)
    expect(t.learn('dead', 1_001)).toBeDefined()
  })

  it('past maxMembers forgets the member heard of least lately that it never met, to make room', () => {
    const t = new PeerTable('eu', undefined, 3)
    expect(t.learn('a', 0)).toBeDefined()
    expect(t.learn('b', 1)).toBeDefined()
    expect(t.learn('c', 2)).toBeDefined()
    t.get('a')!.spokeDirectly = true // met: never displaced by hearsay
    expect(t.learn('d', 3)).toBeDefined()
    expect(t.get('b')).toBeUndefined() // the oldest never met
    expect([t.get('a'), t.get('c'), t.get('d')].every(Boolean)).toBe(true)
    expect(t.size).toBe(3)
    for (const id of ['c', 'd']) t.get(id)!.connected = true
    expect(t.makeRoomFor('e')).toBe(false) // everyone met or connected: no room
    expect(t.learn('e', 4)).toBeUndefined()
    expect(t.upsert('f', 5).id).toBe('f') // direct evidence (a connection) is never refused
    expect(t.size).toBe(4)
  })
})
