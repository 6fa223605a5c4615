import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { PeerGate } from '../../src/mesh/peer-gate.js'

let ids: PeerId[] = []
/** Five real Ed25519 peer ids: a, b, c, d, e. */
let a: PeerId
let b: PeerId
let c: PeerId
let d: PeerId
let e: PeerId
beforeAll(async () => {
  ids = await Promise.all(
    Array.from({ length: 5 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
  )
  ;[a, b, c, d, e] = ids as [PeerId, PeerId, PeerId, PeerId, PeerId]
})
const s = (p: PeerId) => p.toString()
/** The gate judges by peer id only; the connection is never looked at. */
const maConn = {} as MultiaddrConnection

/** Every verdict the gater and the gate give for `peer`, all of which must agree. */
function gaterVerdicts(gate: PeerGate, peer: PeerId) {
  const g = gate.gater()
  return [
    g.denyDialPeer!(peer),
    g.denyInboundEncryptedConnection!(peer, maConn),
    g.denyOutboundEncryptedConnection!(peer, maConn),
  ]
}

describe('PeerGate without an allowlist', () => {
  it('admits and lets in everyone until blocked', () => {
    const gate = new PeerGate()
    for (const p of ids) {
      expect(gate.admits(s(p))).toBe(true)
      expect(gate.denies(p)).toBe(false)
      expect(gate.denies(s(p))).toBe(false)
    }
    expect(gate.blockedPeers).toEqual([])
  })

  it('denies blocked peers (by PeerId or string) but still admits them as members', () => {
    const gate = new PeerGate()
    gate.block([s(a), s(b)])
    expect(gate.denies(a)).toBe(true)
    expect(gate.denies(s(b))).toBe(true)
    expect(gate.denies(c)).toBe(false)
    expect(gate.admits(s(a))).toBe(true)
    expect(gate.blockedPeers.sort()).toEqual([s(a), s(b)].sort())
  })

  it('unblock(some) lifts only those blocks; unblock() lifts all', () => {
    const gate = new PeerGate()
    gate.block([s(a), s(b), s(c)])
    gate.unblock([s(b)])
    expect(gate.denies(a)).toBe(true)
    expect(gate.denies(b)).toBe(false)
    expect(gate.denies(c)).toBe(true)
    expect(gate.blockedPeers.sort()).toEqual([s(a), s(c)].sort())
    gate.unblock()
    expect(ids.some((p) => gate.denies(p))).toBe(false)
    expect(gate.blockedPeers).toEqual([])
  })

  it('blocking twice needs one unblock; unblocking an unknown id is harmless', () => {
    const gate = new PeerGate()
    gate.block([s(a)])
    gate.block([s(a)])
    expect(gate.blockedPeers).toEqual([s(a)])
    gate.unblock([s(e)])
    expect(gate.denies(a)).toBe(true)
    gate.unblock([s(a)])
    expect(gate.denies(a)).toBe(false)
  })
})

describe('PeerGate with an allowlist', () => {
  it('admits and lets in only the listed peers', () => {
    const gate = new PeerGate([s(a), s(b)])
    expect(gate.admits(s(a))).toBe(true)
    expect(gate.admits(s(b))).toBe(true)
    expect(gate.admits(s(c))).toBe(false)
    expect(gate.denies(a)).toBe(false)
    expect(gate.denies(c)).toBe(true)
    expect(gate.denies(s(d))).toBe(true)
  })

  it('an empty allowlist denies everyone (it is not the same as no allowlist)', () => {
    const gate = new PeerGate([])
    for (const p of ids) {
      expect(gate.admits(s(p))).toBe(false)
      expect(gate.denies(p)).toBe(true)
    }
  })

  it('copies the allowlist: changing the caller’s collection later changes nothing', () => {
    const list = new Set([s(a)])
    const gate = new PeerGate(list)
    list.add(s(b))
    list.delete(s(a))
    expect(gate.admits(s(a))).toBe(true)
    expect(gate.admits(s(b))).toBe(false)
  })

  it('a block of a listed peer denies it; unblocking never lets in an unlisted peer', () => {
    const gate = new PeerGate([s(a), s(b)])
    gate.block([s(a), s(c)])
    expect(gate.denies(a)).toBe(true)
    expect(gate.denies(b)).toBe(false)
    expect(gate.admits(s(a))).toBe(true)
    gate.unblock()
    expect(gate.denies(a)).toBe(false)
    expect(gate.denies(c)).toBe(true)
  })
})

describe('PeerGate.gater()', () => {
  it('denies dials and both directions of encrypted connections exactly when denies() does', () => {
    const gate = new PeerGate([s(a), s(b), s(c)])
    gate.block([s(b)])
    expect(gaterVerdicts(gate, a)).toEqual([false, false, false])
    expect(gaterVerdicts(gate, b)).toEqual([true, true, true])
    expect(gaterVerdicts(gate, d)).toEqual([true, true, true])
  })

  it('follows blocks made after it was built (it is live, not a snapshot)', () => {
    const gate = new PeerGate()
    const g = gate.gater()
    expect(g.denyDialPeer!(a)).toBe(false)
    gate.block([s(a)])
    expect(g.denyDialPeer!(a)).toBe(true)
    expect(g.denyInboundEncryptedConnection!(a, maConn)).toBe(true)
    expect(g.denyOutboundEncryptedConnection!(a, maConn)).toBe(true)
    gate.unblock([s(a)])
    expect(g.denyInboundEncryptedConnection!(a, maConn)).toBe(false)
  })

  it('judges a PeerId parsed from its string form like the original', () => {
    const gate = new PeerGate([s(a)])
    expect(gate.gater().denyDialPeer!(peerIdFromString(s(a)))).toBe(false)
    expect(gate.gater().denyDialPeer!(peerIdFromString(s(b)))).toBe(true)
  })
})

describe('PeerGate properties', () => {
  const idx = fc.integer({ min: 0, max: 4 })
  const subset = fc.uniqueArray(idx, { maxLength: 5 })
  const allowArb = fc.option(subset, { nil: undefined })
  const names = (xs: number[]) => xs.map((i) => s(ids[i]!))

  it('after block(S) then unblock(S), denies is the allowlist again', () => {
    fc.assert(
      fc.property(allowArb, subset, (allow, blocked) => {
        const gate = new PeerGate(allow === undefined ? undefined : names(allow))
        const before = ids.map((p) => gate.denies(p))
        gate.block(names(blocked))
        gate.unblock(names(blocked))
        expect(ids.map((p) => gate.denies(p))).toEqual(before)
        expect(ids.map((p) => gate.denies(p))).toEqual(
          ids.map((_, i) => allow !== undefined && !allow.includes(i)),
        )
        expect(gate.blockedPeers).toEqual([])
      }),
    )
  })

  it('denies(p) == blocked(p) || !admits(p), and the gater agrees, over any block/unblock sequence', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('block' as const), ids: subset }),
      fc.record({
        kind: fc.constant('unblock' as const),
        ids: fc.option(subset, { nil: undefined }),
      }),
    )
    fc.assert(
      fc.property(allowArb, fc.array(op, { maxLength: 12 }), (allow, ops) => {
        const gate = new PeerGate(allow === undefined ? undefined : names(allow))
        const model = new Set<string>()
        for (const o of ops) {
          if (o.kind === 'block') {
            gate.block(names(o.ids))
            for (const n of names(o.ids)) model.add(n)
          } else if (o.ids === undefined) {
            gate.unblock()
            model.clear()
          } else {
            gate.unblock(names(o.ids))
            for (const n of names(o.ids)) model.delete(n)
          }
          expect(new Set(gate.blockedPeers)).toEqual(model)
          for (const p of ids) {
            const admitted = allow === undefined || allow.some((i) => ids[i]!.equals(p))
            expect(gate.admits(s(p))).toBe(admitted)
            const denied = model.has(s(p)) || !admitted
            expect(gate.denies(p)).toBe(denied)
            expect(gaterVerdicts(gate, p)).toEqual([denied, denied, denied])
          }
        }
      }),
    )
  })
})
