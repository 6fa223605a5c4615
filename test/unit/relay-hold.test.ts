import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/clock/clock.js'
import { MESH_CONSTANTS } from '../../src/mesh/defaults.js'
import type { MeshContext } from '../../src/mesh/mesh-context.js'
import { Relay } from '../../src/mesh/relay.js'
import type { RelayLinks } from '../../src/mesh/relay-links.js'
import { ITEM_KIND } from '../../src/replication/relay-frame.js'
import { RelayPlan } from '../../src/topology/relay-plan.js'

// Where a held item waits how long: the relay's choice per link, over fake links.

/** A node of region x that is its hub over `child` (x) and `far` (the hub of y). */
function hubSetup() {
  const child = 'child-x'
  const far = 'hub-y'
  let self = ''
  for (let i = 0; ; i++) {
    self = `self-${i}`
    const plan = new RelayPlan([
      { id: self, region: 'x' },
      { id: child, region: 'x' },
      { id: far, region: 'y' },
    ])
    if (plan.hubOf('x') === self) break
  }
  const peers = new Map(
    [
      [child, 'x'],
      [far, 'y'],
    ].map(([id, region]) => [id!, { id: id!, region, connected: true }]),
  )
  const ctx = {
    self,
    region: 'x',
    clock: new ManualClock(),
    opts: { verifyOrigins: 'relay' },
    counters: {},
    peers: {
      version: 1,
      all: () => [...peers.values()],
      get: (id: string) => peers.get(id),
    },
  } as unknown as MeshContext
  const sent: { peer: string; holdMs: number | undefined }[] = []
  const links = {
    send: (peer: string, _item: unknown, holdMs?: number) => sent.push({ peer, holdMs }),
  } as unknown as RelayLinks
  const relay = new Relay(ctx, links, {
    batch: () => true,
    member: () => 0,
    control: () => {},
  })
  return { relay, sent, child, far }
}

describe('the relay holds an item that may wait', () => {
  it('its hold on a link inside the region, wanHoldFactor times it on the link to another hub', () => {
    const { relay, sent, child, far } = hubSetup()
    relay.originate(ITEM_KIND.member, relay.nextSeq(), Uint8Array.of(1), 1_000)
    expect(sent.sort((a, b) => a.peer.localeCompare(b.peer))).toEqual(
      [
        { peer: child, holdMs: 1_000 },
        { peer: far, holdMs: 1_000 * MESH_CONSTANTS.wanHoldFactor },
      ].sort((a, b) => a.peer.localeCompare(b.peer)),
    )
  })

  it('what may not wait goes at once on every link', () => {
    const { relay, sent } = hubSetup()
    relay.originate(ITEM_KIND.member, relay.nextSeq(), Uint8Array.of(1))
    expect(sent).toHaveLength(2)
    expect(sent.every((s) => !s.holdMs)).toBe(true)
  })
})
