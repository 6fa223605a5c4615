import { describe, expect, it } from 'vitest'
import { checkBatch } from '../../src/replication/batch-check.js'
import type { WriteBatch } from '../../src/replication/write-record.js'

describe('checkBatch', () => {
  const batch: WriteBatch = {
    origin: 'A',
    region: 'r',
    keyspace: 'ks',
    sentAt: 1_000,
    records: [
      { key: 'k', wall: 1_000, logical: 0, expiresAt: 5_000, tombstone: true, value: undefined },
    ],
  }
  it('accepts a batch signed by its origin within the drift bound', () => {
    expect(
      checkBatch(batch, { signer: 'A', now: 1_000, maxDrift: 0, topicKeyspace: 'ks' }),
    ).toBeUndefined()
  })
  it('rejects a batch whose origin is not the signer', () => {
    const r = checkBatch(batch, { signer: 'B', now: 1_000, maxDrift: 0, topicKeyspace: 'ks' })
    expect(r?.code).toBe('forged-origin')
    expect(r?.why).toMatch(/not the signer/)
  })
  it('rejects stamps beyond the drift bound and batches on the wrong topic', () => {
    const drift = checkBatch(batch, { signer: 'A', now: 900, maxDrift: 99, topicKeyspace: 'ks' })
    expect(drift?.code).toBe('clock-drift')
    expect(drift?.why).toMatch(/future/)
    const topic = checkBatch(batch, { signer: 'A', now: 1_000, maxDrift: 0, topicKeyspace: 'x' })
    expect(topic?.code).toBe('wrong-keyspace')
    expect(topic?.why).toMatch(/keyspace/)
  })
})
