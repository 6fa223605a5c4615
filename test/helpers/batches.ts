import type { Cache } from '../../src/api/cache.js'
import { encodeBatch } from '../../src/replication/batch-codec.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { ITEM_KIND, type RelayItem } from '../../src/replication/relay-frame.js'
import { encodeValue } from '../../src/replication/value-codec.js'
import { meshOf } from './mesh.js'

/**
 * A relay item of one write of `key` (value `value`) that `signer` seals with its own key
 * while naming member `origin.nodeId` of `origin.region` as the writer (the signer itself
 * for a genuine batch, another member for a forgery), numbered 1 of `incarnation`.
 */
export function batchItem(
  signer: Cache<unknown>,
  origin: { nodeId: string; region: string },
  key: string,
  value: unknown,
  incarnation: number,
): RelayItem {
  const records: EntryTuple[] = [
    [key, Date.now() + 1, 0, origin.nodeId, Date.now() + 60_000, 0, encodeValue(key, value)],
  ]
  const body = meshOf(signer).sealBatch(
    encodeBatch({
      origin: origin.nodeId,
      region: origin.region,
      keyspace: 'default',
      sentAt: Date.now(),
      incarnation,
      seq: 1,
      records,
    }),
  )
  return { kind: ITEM_KIND.batch, origin: origin.nodeId, incarnation, seq: 1, body }
}
