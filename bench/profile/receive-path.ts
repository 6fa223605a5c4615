/**
 * The receive path in one thread, without sockets: relay items (signed batches, as a
 * writer makes them) through `Receiver.receive`'s own steps (envelope, decodeBatch,
 * checkBatch) and `admitRemote` of every record into a replica of 1M entries; then reads
 * of every key, into a fresh cache each round. Process CPU ns per record, best round.
 * Run: node --import tsx bench/profile/receive-path.ts (add --cpu-prof to profile).
 * N=records (default 400k), BATCH=records per batch (300), ROUNDS (3).
 */
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { decodeBatch, encodeBatch } from '../../src/replication/batch-codec.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { WIRE_LIMITS } from '../../src/replication/limits.js'
import { encodeStored } from '../../src/replication/value-codec.js'
import { REPLICATION_VALUE } from '../replication-value.js'

const N = Number(process.env.N ?? 400_000)
const BATCH = Number(process.env.BATCH ?? 300)
const value = REPLICATION_VALUE
const origin = '12D3KooWRemoteWriterNodeIdForTheBench'
const wall0 = Date.now()
const batches: Uint8Array[] = []
for (let b = 0; b * BATCH < N; b++) {
  const records: EntryTuple[] = []
  for (let i = b * BATCH; i < Math.min(N, (b + 1) * BATCH); i++) {
    const key = `k${i}`
    records.push([
      key,
      wall0,
      i,
      origin,
      wall0 + 3_600_000,
      0,
      encodeStored(key, { ...value, id: i }, undefined),
    ])
  }
  batches.push(
    encodeBatch({
      origin,
      region: 'tx',
      keyspace: 'default',
      sentAt: wall0,
      incarnation: 1,
      seq: b + 1,
      records,
    }),
  )
}
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const best = { receive: Number.POSITIVE_INFINITY, read: Number.POSITIVE_INFINITY }
let applied = 0
let found = 0
/** CPU time of the process, ns. */
const cpuNs = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) * 1e3
}
for (let round = 0; round < ROUNDS; round++) {
  const cache = await createCache({ maxEntries: 1_000_000 })
  const replica = replicaOf(cache, 'default')!
  applied = 0
  found = 0
  const c0 = cpuNs()
  for (const bytes of batches) {
    const batch = decodeBatch(bytes, WIRE_LIMITS)
    for (const r of batch.records) if (replica.admitRemote(r, batch.region) === 'applied') applied++
  }
  best.receive = Math.min(best.receive, (cpuNs() - c0) / N)
  const c1 = cpuNs()
  for (let i = 0; i < N; i++) if (cache.get(`k${i}`) !== undefined) found++
  best.read = Math.min(best.read, (cpuNs() - c1) / N)
  await cache.close()
}
console.log(
  JSON.stringify({
    records: N,
    applied,
    found,
    rounds: ROUNDS,
    'receive cpu ns/record (best)': Math.round(best.receive),
    'first read cpu ns/key (best)': Math.round(best.read),
  }),
)
