import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/node/create-cache.js'
import { SNAPSHOT_FILE } from '../../src/persist/snapshot.js'
import { WRITE_LOG_FILE, WriteLog } from '../../src/persist/write-log.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { encodeValue } from '../../src/replication/value-codec.js'

const tuple = (key: string, wall: number): EntryTuple => [
  key,
  wall,
  0,
  'node-a',
  wall + 60_000,
  0,
  encodeValue(key, { key, wall }),
]

/** A log of `n` frames, one record each (`k0@1`, `k1@2`...). @returns its dir and frame offsets */
function logOf(n: number): { dir: string; file: string; frames: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
  const log = new WriteLog(dir)
  for (let i = 0; i < n; i++) {
    log.append('ks', tuple(`k${i}`, i + 1))
    log.flush()
  }
  log.close()
  const file = join(dir, WRITE_LOG_FILE)
  const data = readFileSync(file)
  const frames: number[] = []
  for (let off = 0; off < data.length; off += 8 + data.readUInt32BE(off)) frames.push(off)
  return { dir, file, frames }
}

/** Flips one bit of byte `at` of `file`. */
function flip(file: string, at: number): void {
  const data = readFileSync(file)
  data[at] = (data[at] ?? 0) ^ 0x20
  writeFileSync(file, data)
}

function replayed(dir: string): { keys: string[]; damagedFrames: number } {
  const keys: string[] = []
  const { damagedFrames } = WriteLog.replay(dir, (_ks, t) => keys.push(t[0]))
  return { keys, damagedFrames }
}

const keys = (n: number, except?: number) =>
  Array.from({ length: n }, (_, i) => `k${i}`).filter((_, i) => i !== except)

describe('a damaged write log: one bad frame costs only its own records', () => {
  it('a flipped byte in the first, a middle or the last frame: every other frame is read, the damage counted', () => {
    for (const which of [0, 4, 9]) {
      const { dir, file, frames } = logOf(10)
      flip(file, (frames[which] as number) + 8 + 20) // inside the body: its CRC fails
      expect(replayed(dir)).toEqual({ keys: keys(10, which), damagedFrames: 1 })
    }
  })

  it('a flipped byte in a length field: the frames after it are found again, and that frame too when its body is intact', () => {
    const { dir, file, frames } = logOf(10)
    flip(file, (frames[3] as number) + 3) // its length is 32 bytes off
    expect(replayed(dir)).toEqual({ keys: keys(10), damagedFrames: 1 })
    flip(file, (frames[3] as number) + 8 + 20) // and its body: now it is lost, alone
    expect(replayed(dir)).toEqual({ keys: keys(10, 3), damagedFrames: 1 })
    flip(file, (frames[6] as number) + 1) // a length that runs past the end of the file
    expect(replayed(dir).keys).toEqual([...keys(6, 3), ...keys(10).slice(6)])
  })

  it('reopening keeps the intact frames after a damaged one (it used to cut the file there), and later writes are read', () => {
    const { dir, file, frames } = logOf(5)
    flip(file, (frames[1] as number) + 8 + 20)
    const size = readFileSync(file).length
    const log = new WriteLog(dir)
    expect(readFileSync(file).length).toBe(size)
    log.append('ks', tuple('later', 99))
    log.close()
    expect(replayed(dir)).toEqual({ keys: [...keys(5, 1), 'later'], damagedFrames: 1 })
  })

  it('a tear (no intact frame after it) is still cut off on open and counted', () => {
    const { dir, file, frames } = logOf(3)
    const data = readFileSync(file)
    writeFileSync(file, data.subarray(0, (frames[2] as number) + 12))
    expect(replayed(dir)).toEqual({ keys: keys(2), damagedFrames: 1 })
    new WriteLog(dir).close()
    expect(readFileSync(file).length).toBe(frames[2])
  })

  it('a delete after a damaged frame stays applied: the deleted value does not come back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const crashed = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const a = await createCache({ dataDir, snapshotInterval: '1h', nodeId: 'A' })
    await a.set('d', 'deleted value', { ttl: '1h' })
    await a.close() // the snapshot holds d
    const b = await createCache({ dataDir, snapshotInterval: '1h', nodeId: 'A' })
    for (let i = 0; i < 3; i++) await b.set(`k${i}`, `v${i}`, { ttl: '1h' })
    await b.delete('d')
    // What a kill -9 leaves now: the snapshot, and the log of the writes since.
    copyFileSync(join(dataDir, SNAPSHOT_FILE), join(crashed, SNAPSHOT_FILE))
    copyFileSync(join(dataDir, WRITE_LOG_FILE), join(crashed, WRITE_LOG_FILE))
    await b.close()
    const file = join(crashed, WRITE_LOG_FILE)
    flip(file, 8 + Math.floor(readFileSync(file).readUInt32BE(0) / 2)) // the first frame (k0)
    const c = await createCache({ dataDir: crashed, snapshotInterval: '1h', nodeId: 'A' })
    try {
      expect(c.get('d')).toBeUndefined()
      expect(c.get('k0')).toBeUndefined()
      expect([c.get('k1'), c.get('k2')]).toEqual(['v1', 'v2'])
      expect(c.stats().persistence?.damagedFrames).toBe(1)
    } finally {
      await c.close()
    }
  })
})

describe('the write log of local writes since the last snapshot', () => {
  it('replays what was appended, in order, after the end of the turn that wrote it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const log = new WriteLog(dir)
    log.append('ks', tuple('a', 1))
    log.append('ks', tuple('b', 2))
    await new Promise((r) => setImmediate(r)) // the turn ends: the records are written
    const seen: string[] = []
    expect(WriteLog.replay(dir, (ks, t) => seen.push(`${ks}/${t[0]}@${t[1]}`))).toEqual({
      records: 2,
      damagedFrames: 0,
    })
    expect(seen).toEqual(['ks/a@1', 'ks/b@2'])
    log.truncate()
    expect(WriteLog.replay(dir, () => {}).records).toBe(0)
    log.close()
  })

  it('rotation: records so far go to the previous log, replayed first until a snapshot drops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const log = new WriteLog(dir)
    log.append('ks', tuple('before', 1))
    log.rotate() // a snapshot starts
    log.append('ks', tuple('during', 2))
    log.flush()
    const seen = () => {
      const out: string[] = []
      WriteLog.replay(dir, (_ks, t) => out.push(t[0]))
      return out
    }
    expect(seen()).toEqual(['before', 'during'])
    log.rotate() // that snapshot failed; the next one starts: both logs are kept
    expect(seen()).toEqual(['before', 'during'])
    log.dropPrevious() // a snapshot succeeded: what it covers goes
    log.append('ks', tuple('after', 3))
    log.flush()
    expect(seen()).toEqual(['after'])
    log.close()
  })

  it('a torn frame ends the replay, and reopening cuts it off so later writes stay whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const first = new WriteLog(dir)
    first.append('ks', tuple('a', 1))
    first.flush()
    first.close()
    const file = join(dir, WRITE_LOG_FILE)
    const good = readFileSync(file)
    // A crash tore the next frame: only its first bytes reached the file.
    appendFileSync(file, good.subarray(0, good.length - 3))
    const seen = () => {
      const out: string[] = []
      WriteLog.replay(dir, (_ks, t) => out.push(`${t[0]}@${t[1]}`))
      return out
    }
    expect(seen()).toEqual(['a@1'])
    // The restarted node logs more writes: they must not be read as the torn frame's tail.
    const second = new WriteLog(dir)
    second.append('ks', tuple('after', 2))
    second.flush()
    second.close()
    expect(seen()).toEqual(['a@1', 'after@2'])
    // A frame whose bytes changed (CRC mismatch) is skipped.
    const data = readFileSync(file)
    data[data.length - 2] = (data[data.length - 2] ?? 0) ^ 0xff
    writeFileSync(file, data)
    expect(seen()).toEqual(['a@1'])
  })

  it('an embedded cache with dataDir gets back writes made after its last snapshot', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const a = await createCache({ dataDir, snapshotInterval: '1h', nodeId: 'A' })
    await a.set('k', 'v1')
    await a.set('k', 'v2')
    await a.delete('gone')
    await new Promise((r) => setImmediate(r))
    // A crash: the write log holds the writes, no snapshot was taken since.
    const records: string[] = []
    WriteLog.replay(dataDir, (_ks, t) => records.push(`${t[0]}:${t[5]}`))
    expect(records).toEqual(['k:0', 'k:0', 'gone:1'])
    await a.close()
  })
})
