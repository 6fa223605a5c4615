import type { MultiaddrConnection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { InboundGate } from '../../src/mesh/inbound-gate.js'
import { hostOfIp } from '../../src/mesh/inbound-host.js'
import { waitFor } from '../helpers/wait.js'

/** A stand-in for a libp2p connection: an address, abort, close events. */
class FakeConn extends EventTarget {
  aborted: Error | undefined
  readonly remoteAddr
  constructor(ip: string) {
    super()
    this.remoteAddr = multiaddr(`/ip4/${ip}/tcp/4001`)
  }
  abort(err: Error): void {
    this.aborted = err
    this.dispatchEvent(new Event('close'))
  }
  close(): void {
    this.dispatchEvent(new Event('close'))
  }
}
const asConn = (c: FakeConn) => c as unknown as MultiaddrConnection

let clock = new ManualClock()
const gates: InboundGate[] = []
function gate(o: ConstructorParameters<typeof InboundGate>[0] = {}): InboundGate {
  const g = new InboundGate({ clock, authDeadlineMs: 60_000, ...o })
  gates.push(g)
  return g
}
afterEach(() => {
  for (const g of gates.splice(0)) g.stop()
  clock = new ManualClock()
})

describe('InboundGate', () => {
  it('a host holding its share is refused; other hosts still get in', () => {
    const g = gate({ maxPerHost: 2, maxTotal: 10 })
    const a = [1, 2, 3].map(() => new FakeConn('10.0.0.1'))
    expect(a.map((c) => g.admit(asConn(c)))).toEqual([true, true, false])
    expect(g.admit(asConn(new FakeConn('10.0.0.2')))).toBe(true)
    expect(g.stats()).toMatchObject({ pending: 3, refused: 1 })
  })

  it('when full, a newcomer from a fresh host pushes out the oldest of the biggest host', () => {
    const g = gate({ maxPerHost: 8, maxTotal: 4 })
    const attacker = [0, 1, 2, 3].map(() => new FakeConn('10.0.0.9'))
    for (const c of attacker) expect(g.admit(asConn(c))).toBe(true)
    // The attacker reconnecting gains nothing: refused, nobody pushed out.
    expect(g.admit(asConn(new FakeConn('10.0.0.9')))).toBe(false)
    const honest = new FakeConn('10.0.0.7')
    expect(g.admit(asConn(honest))).toBe(true)
    expect(attacker[0]!.aborted).toBeDefined()
    expect(attacker.slice(1).every((c) => c.aborted === undefined)).toBe(true)
    expect(g.stats()).toMatchObject({ pending: 4, evicted: 1 })
  })

  it('a stale pending connection may be pushed out by anyone; a fresh one only when unfair', () => {
    const g = gate({ maxPerHost: 8, maxTotal: 2, staleMs: 1_000 })
    const a = new FakeConn('10.0.0.1')
    const b = new FakeConn('10.0.0.2')
    g.admit(asConn(a))
    g.admit(asConn(b))
    expect(g.admit(asConn(new FakeConn('10.0.0.3')))).toBe(false)
    clock.advance(999)
    expect(g.admit(asConn(new FakeConn('10.0.0.3')))).toBe(false)
    clock.advance(1)
    expect(g.admit(asConn(new FakeConn('10.0.0.3')))).toBe(true)
    expect(a.aborted).toBeDefined()
    expect(b.aborted).toBeUndefined()
  })

  it('authenticated or closed connections free their slot; a member host is not pushed out by strangers', () => {
    const g = gate({ maxPerHost: 8, maxTotal: 2 })
    const member = new FakeConn('10.0.0.5')
    g.admit(asConn(member))
    g.authenticated(asConn(member))
    expect(g.stats()).toMatchObject({ pending: 0, authenticated: 1 })
    // 10.0.0.5 is now a member host: its pending connections outrank strangers'.
    const m1 = new FakeConn('10.0.0.5')
    const m2 = new FakeConn('10.0.0.5')
    g.admit(asConn(m1))
    g.admit(asConn(m2))
    expect(g.admit(asConn(new FakeConn('10.0.0.6')))).toBe(false)
    expect(m1.aborted).toBeUndefined()
    m1.close()
    expect(g.stats()).toMatchObject({ pending: 1, closed: 1 })
    expect(g.admit(asConn(new FakeConn('10.0.0.6')))).toBe(true)
  })

  it('a peer the base gate refuses after Noise leaves the pending set but its host does not become a member host', async () => {
    const g = gate({ maxPerHost: 8, maxTotal: 1 })
    const refusing = g.gater({ denyInboundEncryptedConnection: () => true })
    const outsider = new FakeConn('10.0.0.5')
    g.admit(asConn(outsider))
    const peer = {} as Parameters<NonNullable<typeof refusing.denyInboundEncryptedConnection>>[0]
    expect(await refusing.denyInboundEncryptedConnection!(peer, asConn(outsider))).toBe(true)
    expect(g.stats()).toMatchObject({ pending: 0 })
    // 10.0.0.5 is no member host: a stranger may push its stale pending connection out.
    const again = new FakeConn('10.0.0.5')
    g.admit(asConn(again))
    clock.advance(1_000)
    expect(g.admit(asConn(new FakeConn('10.0.0.6')))).toBe(true)
    expect(again.aborted).toBeDefined()
    // Allowed, the same proof makes its host a member's: not pushed out by strangers.
    const h = new InboundGate({ clock, maxPerHost: 8, maxTotal: 1, authDeadlineMs: 60_000 })
    gates.push(h)
    const member = new FakeConn('10.0.0.7')
    h.admit(asConn(member))
    await h.gater({ denyInboundEncryptedConnection: () => false }).denyInboundEncryptedConnection!(
      peer,
      asConn(member),
    )
    const pending = new FakeConn('10.0.0.7')
    h.admit(asConn(pending))
    clock.advance(1_000)
    expect(h.admit(asConn(new FakeConn('10.0.0.8')))).toBe(false)
    expect(pending.aborted).toBeUndefined()
  })

  it('cuts connections still pending at the deadline, oldest first, on the clock it is given', () => {
    const g = gate({ authDeadlineMs: 3_000 })
    const a = new FakeConn('10.0.0.1')
    const b = new FakeConn('10.0.0.2')
    const c = new FakeConn('10.0.0.3')
    g.admit(asConn(a))
    clock.advance(10)
    g.admit(asConn(b))
    clock.advance(10)
    g.admit(asConn(c))
    g.authenticated(asConn(c))
    // One timer, for the earliest deadline.
    expect(clock.pending).toBe(1)
    clock.advance(2_979)
    expect([a.aborted, b.aborted]).toEqual([undefined, undefined])
    clock.advance(1)
    expect(a.aborted?.name).toBe('TimeoutError')
    expect(a.aborted?.message).toBe('not authenticated within 3000 ms')
    expect(b.aborted).toBeUndefined()
    expect(g.stats()).toMatchObject({ pending: 1, timedOut: 1 })
    // Re-armed for the next one: b, 10 ms later; the authenticated c is never cut.
    clock.advance(9)
    expect(b.aborted).toBeUndefined()
    clock.advance(1)
    expect(b.aborted?.name).toBe('TimeoutError')
    expect(c.aborted).toBeUndefined()
    expect(g.stats()).toMatchObject({ pending: 0, authenticated: 1, timedOut: 2 })
    expect(clock.pending).toBe(0)
  })

  it('stop() cancels the deadline timer', () => {
    const g = gate({ authDeadlineMs: 3_000 })
    const a = new FakeConn('10.0.0.1')
    g.admit(asConn(a))
    expect(clock.pending).toBe(1)
    g.stop()
    expect(clock.pending).toBe(0)
    expect(g.stats()).toMatchObject({ pending: 0, timedOut: 0 })
  })

  it('by default, deadlines run on the system clock', async () => {
    const g = new InboundGate({ authDeadlineMs: 30 })
    gates.push(g)
    const a = new FakeConn('10.0.0.1')
    g.admit(asConn(a))
    await waitFor(() => a.aborted !== undefined, 'the deadline cut', 2_000)
    expect(a.aborted?.name).toBe('TimeoutError')
    expect(g.stats()).toMatchObject({ pending: 0, timedOut: 1 })
  })

  it('whatever the arrivals, pending stays within both bounds and the counters add up', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 5 }),
            fc.constantFrom('admit', 'auth', 'close', 'tick'),
          ),
          {
            maxLength: 200,
          },
        ),
        (ops) => {
          const g = gate({ maxPerHost: 3, maxTotal: 6, staleMs: 50 })
          const live: FakeConn[] = []
          for (const [host, op] of ops) {
            if (op === 'admit') {
              const c = new FakeConn(`10.0.0.${host}`)
              if (g.admit(asConn(c))) live.push(c)
            } else if (op === 'tick') clock.advance(20)
            else {
              const c = live[host % Math.max(1, live.length)]
              if (c && op === 'auth') g.authenticated(asConn(c))
              if (c && op === 'close') c.close()
            }
            const s = g.stats()
            expect(s.pending).toBeLessThanOrEqual(6)
            expect(s.admitted).toBe(s.pending + s.authenticated + s.evicted + s.timedOut + s.closed)
          }
          g.stop()
        },
      ),
    )
  })
})

describe('hostOfIp', () => {
  it('IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64, anything else as other', () => {
    expect(hostOfIp('127.0.77.1')).toBe('127.0.77.1')
    expect(hostOfIp('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(hostOfIp('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64')
    expect(hostOfIp('2001:db8:0:1:ffff:1:2:3')).toBe('2001:db8:0:1::/64')
    expect(hostOfIp('::1')).toBe('0:0:0:0::/64')
    expect(hostOfIp('not-an-ip')).toBe('other')
  })

  it('every address of one /64 is one host', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
        (tail) => {
          const ip = `2001:db8:aa:bb:${tail.map((g) => g.toString(16)).join(':')}`
          expect(hostOfIp(ip)).toBe('2001:db8:aa:bb::/64')
        },
      ),
    )
  })
})
