import { describe, expect, it } from 'vitest'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { OutboundBatcher } from '../../src/replication/outbound-batcher.js'

describe('OutboundBatcher', () => {
  const rec = (key: string, n = 10): EntryTuple => [key, 1, 0, 'A', 2, 0, new Uint8Array(n)]
  it('groups records per keyspace and reports a full batch by bytes or count', () => {
    const b = new OutboundBatcher({ flushBytes: 200, maxRecords: 3 })
    expect(b.add('a', rec('1'))).toBe(false)
    expect(b.add('b', rec('2'))).toBe(false)
    expect(b.add('a', rec('3'))).toBe(false)
    expect(b.add('a', rec('4'))).toBe(true)
    expect(b.add('b', rec('5', 300))).toBe(true)
    const drained = b.drain()
    expect(drained.map((d) => [d.keyspace, d.records.map((r) => r[0])])).toEqual([
      ['a', ['1', '3', '4']],
      ['b', ['2', '5']],
    ])
    expect(b.size).toBe(0)
    expect(b.drain()).toEqual([])
  })
})
