import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { compareVersions } from '../../src/clock/version.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { SNAPSHOT_FILE } from '../../src/persist/snapshot.js'
import { msgpack } from '../../src/replication/value-codec.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('snapshots (an embedded cache with dataDir restarts warm)', () => {
  it('restore values and tombstones with their versions, skip what expired, keep the clock ahead', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.set('kept', { v: 1 })
    await a.set('short', 'x', { ttl: 1_000 })
    await a.keyspace('other').set('o', 2)
    await a.delete('gone')
    const last = await a.set('kept', { v: 2 })
    await a.close() // writes the last snapshot
    vi.setSystemTime(1_002_000) // 'short' expired meanwhile
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      expect(b.get('kept')).toEqual({ v: 2 })
      expect(b.keyspace('other').get('o')).toBe(2)
      expect(b.has('short')).toBe(false)
      expect(replicaOf(b, 'default')!.index.get('short')).toBeUndefined()
      expect(replicaOf(b, 'default')!.index.get('gone')?.tombstone).toBe(true)
      expect(b.keyspace('default').entry('kept')!.version).toEqual(last)
      const next = await b.set('kept', { v: 3 })
      expect(compareVersions(next, last)).toBeGreaterThan(0)
    } finally {
      await b.close()
    }
  })

  it('keeps the versions of deletes and values the LRU evicted: an older copy cannot come back after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    // maxIndexKeys is twice maxEntries: the index holds all five keys, memory three.
    const a = await createCache({ nodeId: 'node-a', dataDir, maxEntries: 3 })
    const old = await a.set('k', 'v1')
    await a.delete('k')
    const evicted = await a.set('e', 'value')
    for (const x of ['x1', 'x2', 'x3']) await a.set(x, x)
    // Both left memory; their versions stay in the index (what anti-entropy compares).
    expect(replicaOf(a, 'default')!.store.peek('k')).toBeUndefined()
    expect(replicaOf(a, 'default')!.index.get('k')?.tombstone).toBe(true)
    expect(replicaOf(a, 'default')!.index.get('e')?.version).toEqual(evicted)
    await a.close()
    const b = await createCache({ nodeId: 'node-a', dataDir, maxEntries: 3 })
    try {
      const replica = replicaOf(b, 'default')!
      expect(replica.index.get('k')?.tombstone).toBe(true)
      expect(replica.index.get('e')?.version).toEqual(evicted)
      // A peer that missed the delete offers v1 (a partition healing): refused.
      const stale = [
        'k',
        old.wall,
        old.logical,
        old.node,
        Date.now() + 60_000,
        0,
        msgpack.pack('v1'),
      ] as const
      replica.admitRemote([...stale] as never, 'other-region')
      expect(b.get('k')).toBeUndefined()
    } finally {
      await b.close()
    }
  })

  it('a torn or foreign snapshot file never prevents a start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    writeFileSync(join(dataDir, SNAPSHOT_FILE), Buffer.from([0x93, 0x01, 0xff]))
    const c = await createCache({ nodeId: 'node-c', dataDir })
    expect(c.stats().entries).toBe(0)
    await c.close()
  })

  it('a bad row, a bad frame and a torn tail are skipped, not the whole file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.set('one', 1)
    await a.set('two', 2)
    await a.close()
    const file = join(dataDir, SNAPSHOT_FILE)
    // A frame with a bad row and a good one, a frame of garbage, then a torn frame.
    const frame = (body: Uint8Array) => {
      const head = Buffer.alloc(4)
      head.writeUInt32BE(body.length)
      return Buffer.concat([head, body])
    }
    appendFileSync(
      file,
      Buffer.concat([
        frame(
          msgpack.pack([['default', 'bad', 'not a number', 0, 'node-a', 1, 0, null], 'garbage']),
        ),
        frame(Buffer.from([0xc1, 0xc1])),
        frame(msgpack.pack([['default', 'x', 1, 0, 'node-a', 1, 0, null]])).subarray(0, 6),
      ]),
    )
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      expect(b.get('one')).toBe(1)
      expect(b.get('two')).toBe(2)
      expect(b.has('bad')).toBe(false)
    } finally {
      await b.close()
    }
  })

  it('a keyspace with options of its own reopens after a restart, with its entries', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    const options = { maxEntries: 10, maxTtl: '2d', defaultTtl: '1d' }
    const a = await createCache({ nodeId: 'node-a', dataDir })
    await a.keyspace('users', options).set('u1', { n: 1 }, { ttl: '36h' })
    await a.close()
    const b = await createCache({ nodeId: 'node-a', dataDir })
    try {
      const users = b.keyspace('users', options) // loaded implicitly first: rebuilt with these
      expect(users.options.maxTtl).toBe(2 * 86_400_000)
      expect(users.get('u1')).toEqual({ n: 1 })
      expect(users.entry('u1')!.expiresAt - Date.now()).toBeGreaterThan(86_400_000)
      expect(() => b.keyspace('users', { maxEntries: 5 })).toThrow(/already open/)
    } finally {
      await b.close()
    }
  })

  describe('a damaged snapshot file', () => {
    const ROWS = 5_000
    /** A data dir whose snapshot holds k0..k4999 (three frames of rows). @returns it and the snapshot's bytes */
    async function saved(): Promise<{ dataDir: string; file: string; bytes: Buffer }> {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
      const a = await createCache({ nodeId: 'node-a', dataDir, snapshotInterval: '1h' })
      await a.setMany(Array.from({ length: ROWS }, (_, i) => [`k${i}`, i] as [string, number]))
      await a.close()
      const file = join(dataDir, SNAPSHOT_FILE)
      return { dataDir, file, bytes: readFileSync(file) }
    }
    async function restored(dataDir: string): Promise<{ rows: number; damagedFrames: number }> {
      const b = await createCache({ nodeId: 'node-a', dataDir, snapshotInterval: '1h' })
      try {
        let rows = 0
        for (let i = 0; i < ROWS; i++) if (b.get(`k${i}`) === i) rows++
        return { rows, damagedFrames: b.stats().persistence!.damagedFrames }
      } finally {
        await b.close()
      }
    }
    /** Offsets of the format-3 frames (after the 4-byte magic). */
    const frames = (bytes: Buffer) => {
      const out: number[] = []
      for (let off = 4; off < bytes.length; off += 8 + bytes.readUInt32BE(off)) out.push(off)
      return out
    }

    it('a damaged magic (MCS3 -> MCS2): its frames are still read, every row restored', async () => {
      const { dataDir, file, bytes } = await saved()
      bytes[3] = (bytes[3] ?? 0) ^ 0x01
      writeFileSync(file, bytes)
      expect(await restored(dataDir)).toEqual({ rows: ROWS, damagedFrames: 1 })
    })

    it('a damaged frame length: the frames after it are found again (and its rows, its CRC still matching)', async () => {
      const { dataDir, file, bytes } = await saved()
      const [, first] = frames(bytes)
      bytes[(first as number) + 3] = (bytes[(first as number) + 3] ?? 0) ^ 0x01
      writeFileSync(file, bytes)
      expect(await restored(dataDir)).toEqual({ rows: ROWS, damagedFrames: 1 })
    })

    it('an unreadable snapshot is kept aside, not overwritten by the next one (the newest two)', async () => {
      const { dataDir, file } = await saved()
      const garbage = (n: number) => Buffer.from(`not a snapshot ${n}`.repeat(10))
      const aside = () =>
        readdirSync(dataDir)
          .filter((f) => f.startsWith(`${SNAPSHOT_FILE}.corrupt-`))
          .sort()
      for (let n = 1; n <= 3; n++) {
        writeFileSync(file, garbage(n))
        expect((await restored(dataDir)).damagedFrames).toBe(1) // and close wrote a new snapshot
        await new Promise((r) => setTimeout(r, 5)) // another ms: another name
      }
      expect(aside().length).toBe(2)
      expect(aside().map((f) => readFileSync(join(dataDir, f)))).toEqual([garbage(2), garbage(3)])
      expect(readFileSync(file).subarray(0, 4).toString()).toBe('MCS3')
    })
  })
})

describe('snapshots keep each keyspace options', () => {
  it('a keyspace restored before the application opens it has its own options, not the defaults', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-snap-'))
    const first = await createCache({ dataDir })
    const small = first.keyspace('small', { maxEntries: 5, maxTtl: '1h', defaultTtl: '10m' })
    for (let i = 0; i < 5; i++) await small.set(`k${i}`, i)
    await first.close()

    const again = await createCache({ dataDir })
    try {
      // Restored from disk, not opened by the application yet: before, the cache-wide
      // defaults (100,000 entries, 1 day).
      const restored = replicaOf(again, 'small')!
      expect(restored.options.maxEntries).toBe(5)
      expect(restored.options.maxTtl).toBe(3_600_000)
      expect(restored.size).toBe(5)
      // The application may name other options at its first open: rebuilt with them.
      const reopened = again.keyspace('small', { maxEntries: 10, maxTtl: '1h' })
      expect(replicaOf(again, 'small')!.options.maxEntries).toBe(10)
      expect(reopened.get('k4')).toBe(4)
    } finally {
      await again.close()
    }
  })
})
