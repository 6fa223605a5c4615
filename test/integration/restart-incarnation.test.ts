import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import { waitFor } from '../helpers/wait.js'

const AHEAD_MS = 20_000

describe('a node restarted with its clock set back (real libp2p nodes, one data dir)', () => {
  it('its writes still travel by relay: peers do not take its new run for a straggler of the old one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-restart-'))
    const open: Cache<unknown>[] = []
    try {
      const b = await createCache({ region: 'i-west', listen: ['/ip4/127.0.97.2/tcp/0'] })
      open.push(b)
      const peers = [b.addresses()[0]!]
      // First run: the host's clock 20 s ahead (within maxClockDrift: its writes are held).
      const first = await startNode(
        { region: 'i-east', listen: ['/ip4/127.0.97.1/tcp/0'], dataDir, peers },
        { hostNow: () => Date.now() + AHEAD_MS },
      )
      open.push(first)
      await first.waitForPeers(1)
      await first.set('before', 1)
      await waitFor(() => b.get('before') === 1, 'the first run reaches the peer')
      await first.close()
      open.splice(open.indexOf(first), 1)

      // Second run, seconds later, with the right clock: same identity, its start time
      // now earlier than the first run's.
      const again = await createCache({
        region: 'i-east',
        listen: ['/ip4/127.0.97.1/tcp/0'],
        dataDir,
        peers,
      })
      open.push(again)
      await again.waitForPeers(1)
      const relayed = () => b.stats().mesh!.replication.batchesIn
      const before = relayed()
      await again.set('after', 2)
      // Through the relay (a batch received), not only by a later anti-entropy session.
      await waitFor(() => relayed() > before && b.get('after') === 2, 'the write relayed')
    } finally {
      await Promise.allSettled(open.map((c) => c.close()))
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
