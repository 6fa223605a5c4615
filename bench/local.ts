/**
 * bench:local: the local tier against its anchor, lru-cache, in one process and one run.
 * 100k string keys, random access. Run: npm run bench:local
 */
import { LRUCache } from 'lru-cache'
import { turnClock } from '../src/api/read-clock.js'
import { createCache } from '../src/node/create-cache.js'
import { type Entry, entrySize } from '../src/store/entry.js'
import { VersionedStore } from '../src/store/versioned-store.js'
import { type BenchRow, report, timeOps } from './harness.js'

const N = 100_000
const OPS = 1_000_000
const keys = Array.from({ length: N }, (_, i) => `user:${i}:profile`)
const missKeys = Array.from({ length: N }, (_, i) => `absent:${i}`)
// A fixed pseudo-random access order shared by every contender.
const order = new Uint32Array(OPS)
let seed = 42
for (let i = 0; i < OPS; i++) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  order[i] = seed % N
}
const value = { id: 1, name: 'Ada Lovelace', roles: ['admin'], active: true }
const version = { wall: Date.now(), logical: 0, node: 'bench' }
const readNow = turnClock()
const FAR = Date.now() + 3_600_000

function heapUsed(): number {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

type Contender = {
  name: string
  make: (max: number) => { get(k: string): unknown; set(k: string, v: unknown): void }
}

const contenders: Contender[] = [
  {
    name: 'lru-cache (ttl)',
    make: (max) => {
      const c = new LRUCache<string, object>({ max, ttl: 3_600_000 })
      return { get: (k) => c.get(k), set: (k, v) => void c.set(k, v as object) }
    },
  },
  {
    name: 'lru-cache (no ttl)',
    make: (max) => {
      const c = new LRUCache<string, object>({ max })
      return { get: (k) => c.get(k), set: (k, v) => void c.set(k, v as object) }
    },
  },
  {
    name: 'Map (no eviction)',
    make: () => {
      const m = new Map<string, unknown>()
      return { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) }
    },
  },
  {
    name: 'meshcache store',
    make: (max) => {
      const s = new VersionedStore({ maxEntries: max, maxBytes: Number.POSITIVE_INFINITY })
      let logical = 0
      return {
        get: (k) => s.get(k, readNow())?.value,
        set: (k, v) => {
          const e: Entry = {
            value: v,
            version: { ...version, logical: logical++ },
            expiresAt: FAR,
            tombstone: false,
            size: entrySize(k, 64),
          }
          s.merge(k, e, Date.now())
        },
      }
    },
  },
]

const rows: BenchRow[] = []
for (const c of contenders) {
  const before = heapUsed()
  const full = c.make(N)
  for (const k of keys) full.set(k, value)
  const perEntry = (heapUsed() - before) / N
  const hit = timeOps(OPS, (i) => full.get(keys[order[i]!]!))
  const miss = timeOps(OPS, (i) => full.get(missKeys[order[i]!]!))
  const set = timeOps(OPS, (i) => full.set(keys[order[i]!]!, value))
  const small = c.make(N / 10)
  const evict = timeOps(OPS, (i) => small.set(keys[order[i]!]!, value))
  rows.push({
    name: c.name,
    getHit: hit,
    getMiss: miss,
    set,
    setEvict: evict,
    bytesPerEntry: Math.round(perEntry),
  })
}
// The public API: set includes msgpack encoding (size accounting, replication payload)
// and the anti-entropy version index, which memory per entry includes too.
const apiBefore = heapUsed()
const cache = await createCache({ maxEntries: N, defaultTtl: '1h' })
const apiSet = (k: string) => void cache.set(k, value)
for (const k of keys) await cache.set(k, value)
const apiPerEntry = (heapUsed() - apiBefore) / N
rows.push({
  name: 'meshcache createCache()',
  getHit: timeOps(OPS, (i) => cache.get(keys[order[i]!]!)),
  getMiss: timeOps(OPS, (i) => cache.get(missKeys[order[i]!]!)),
  set: timeOps(OPS / 5, (i) => apiSet(keys[order[i]!]!)),
  setEvict: Number.NaN,
  bytesPerEntry: Math.round(apiPerEntry),
})
await cache.close()

const anchor = rows[0]!
const table = rows.map((r) => ({
  ...r,
  'getHit/anchor': (r.getHit as number) / (anchor.getHit as number),
  'set/anchor': (r.set as number) / (anchor.set as number),
  'bytes/anchor': (r.bytesPerEntry as number) / (anchor.bytesPerEntry as number),
}))
report(
  'bench:local — ns/op (lower is better), anchor: lru-cache (ttl)',
  table as BenchRow[],
  'bench/results/local.json',
  { keys: N, ops: OPS },
)
