/** Profiles one sweep pass over 1M expiring keys (run with --cpu-prof). */
import { ManualClock } from '../../src/clock/clock.js'
import { startNode } from '../../src/node/create-cache.js'
import { internalsOf, replicaOf } from '../../src/node/internals.js'
import { sweepStep } from '../../src/replica/replica-registry.js'

const M = 1_000_000
const time = new ManualClock(Date.now())
const cache = await startNode({ maxEntries: M, defaultTtl: '1h' }, { clock: time })
internalsOf(cache).replicas.stopSweep()
const replica = replicaOf(cache, 'default')!
const value = { id: 1, name: 'Ada Lovelace', roles: ['admin'], active: true }
for (let i = 0; i < M; i++) await cache.set(`user:${i}:profile`, value)
time.advance(2 * 3_600_000)
const clock = { monotonic: () => performance.now() }
const t0 = performance.now()
let worst = 0
do {
  const s = performance.now()
  sweepStep(replica, time.now(), clock)
  worst = Math.max(worst, performance.now() - s)
} while (replica.table.sweeping)
console.log('pass ms', performance.now() - t0, 'worst step', worst)
await cache.close()
