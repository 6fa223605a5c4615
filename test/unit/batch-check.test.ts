import { describe, expect, it } from 'vitest'
import { checkBatch } from '../../src/replication/batch-check.js'
import type { WriteBatch } from '../../src/replication/write-record.js'

describe("checkBatch: the envelope's verdict", () => {
  const batch: WriteBatch = {
    origin: 'A',
    region: 'r',
    keyspace: 'ks',
    sentAt: 1_000,
    incarnation: 7.5,
    seq: 3,
    records: [['k', 1_000, 0, 'A', 5_000, 1, null]],
  }
  it('accepts a batch whose signed body names the origin and numbering that carried it', () => {
    expect(checkBatch(batch, { origin: 'A', incarnation: 7.5, seq: 3 })).toBeUndefined()
    // A direct write names no relay numbering: the sender's connection is the claim.
    expect(checkBatch(batch, { origin: 'A' })).toBeUndefined()
  })
  it('refuses a batch carried under another origin', () => {
    const r = checkBatch(batch, { origin: 'B' })
    expect(r?.code).toBe('forged-origin')
    expect(r?.why).toMatch(/carried as B/)
  })
  it('refuses a batch renumbered by a relay (it could pass as a duplicate or shadow another)', () => {
    expect(checkBatch(batch, { origin: 'A', incarnation: 7.5, seq: 4 })?.code).toBe('forged-origin')
    expect(checkBatch(batch, { origin: 'A', incarnation: 8, seq: 3 })?.why).toMatch(/renumbered/)
  })
})
