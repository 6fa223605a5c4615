/**
 * The API's `set` alone, as bench:local measures it (100k keys, random order, the same
 * value), process CPU time, against lru-cache with TTL in the same process (rounds interleaved, best kept):
 * an embedded cache (`createCache()`) and one whose digest tree is kept (as a mesh node).
 * `MODE=embedded` or `MODE=mesh` runs that one alone (for --cpu-prof):
 * node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile/set-path.ts
 * OPS=sets per round (200k), ROUNDS (7).
 */
import { LRUCache } from 'lru-cache'
import { createCache } from '../../src/node/create-cache.js'

const N = 100_000
const OPS = Number(process.env.OPS ?? 200_000)
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const MODE = process.env.MODE
const keys = Array.from({ length: N }, (_, i) => `user:${i}:profile`)
const order = new Uint32Array(OPS)
let seed = 42
for (let i = 0; i < OPS; i++) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  order[i] = seed % N
}
const value = { id: 1, name: 'Ada Lovelace', roles: ['admin'], active: true }
type Setter = { name: string; set: (k: string, v: object) => void }
const setters: Setter[] = []
if (MODE === undefined) {
  const lru = new LRUCache<string, object>({ max: N, ttl: 3_600_000 })
  for (const k of keys) lru.set(k, value)
  setters.push({ name: 'lru-cache (ttl)', set: (k, v) => void lru.set(k, v) })
}
for (const mode of MODE === undefined ? ['embedded', 'mesh'] : [MODE]) {
  const cache = await createCache({ maxEntries: N, defaultTtl: '1h', purgeInterval: '1h' })
  if (mode === 'mesh') void cache.admin.digest('default')
  for (const k of keys) await cache.set(k, value)
  setters.push({ name: `createCache() ${mode}`, set: (k, v) => void cache.set(k, v) })
}
const best = setters.map(() => Number.POSITIVE_INFINITY)
for (let r = 0; r < ROUNDS; r++) {
  setters.forEach(({ set }, j) => {
    const c0 = process.cpuUsage()
    for (let i = 0; i < OPS; i++) set(keys[order[i]!]!, value)
    const c = process.cpuUsage(c0)
    best[j] = Math.min(best[j]!, ((c.user + c.system) * 1000) / OPS)
  })
}
setters.forEach(({ name }, j) => {
  console.log(
    `${name.padEnd(26)} ${best[j]!.toFixed(1)} ns/set  ${(best[j]! / best[0]!).toFixed(2)}x`,
  )
})
process.exit(0)
