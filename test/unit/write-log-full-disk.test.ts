import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PREVIOUS_LOG_FILE, WriteLog } from '../../src/persist/write-log.js'
import type { EntryTuple } from '../../src/replication/entry-tuple.js'
import { encodeValue } from '../../src/replication/value-codec.js'

// A disk that fills up: once `room` is set, writes take that many more bytes, then fail
// with ENOSPC (a write cut short, as the kernel does), whichever fs call makes them.
const disk = vi.hoisted(() => ({ room: Number.POSITIVE_INFINITY }))

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>()
  const full = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
  const take = (n: number): number => {
    if (disk.room <= 0) throw full()
    const k = Math.min(n, disk.room)
    disk.room -= k
    return k
  }
  const writeSync = (fd: number, buf: Uint8Array, off = 0, len = buf.length - off) =>
    fs.writeSync(fd, buf, off, take(len))
  const appendFileSync = (file: string, data: Uint8Array) => {
    const k = take(data.length)
    fs.appendFileSync(file, data.subarray(0, k))
    if (k < data.length) throw full()
  }
  return { ...fs, default: { ...fs, writeSync, appendFileSync }, writeSync, appendFileSync }
})

afterEach(() => {
  disk.room = Number.POSITIVE_INFINITY
})

const tuple = (key: string, wall: number): EntryTuple => [
  key,
  wall,
  0,
  'node-a',
  wall + 60_000,
  0,
  encodeValue(key, { key, wall, pad: 'x'.repeat(200) }),
]

function replayed(dir: string): { keys: string[]; damagedFrames: number } {
  const keys: string[] = []
  const { damagedFrames } = WriteLog.replay(dir, (_ks, t) => keys.push(t[0]))
  return { keys, damagedFrames }
}

describe('the write log on a full disk', () => {
  it('a rotation whose append to the previous log fails part-way leaves no torn frame: every acknowledged write replays', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-full-'))
    const log = new WriteLog(dir)
    log.append('ks', tuple('a', 1))
    expect(log.rotate()).toBe(true) // a snapshot starts, and fails: writes.prev.log stays
    log.append('ks', tuple('b1', 2))
    log.append('ks', tuple('b2', 3))
    log.flush()
    const prev = join(dir, PREVIOUS_LOG_FILE)
    const prevBefore = readFileSync(prev)
    disk.room = 100 // the next snapshot's rotation: the disk fills half way through the append
    expect(log.rotate()).toBe(false)
    expect(log.failures).toBe(1)
    disk.room = Number.POSITIVE_INFINITY // space freed
    expect(readFileSync(prev)).toEqual(prevBefore) // the torn frame was cut back off
    expect(replayed(dir)).toEqual({ keys: ['a', 'b1', 'b2'], damagedFrames: 0 })
    log.append('ks', tuple('c', 4))
    expect(log.rotate()).toBe(true) // appends after a whole frame, not after a torn one
    expect(replayed(dir)).toEqual({ keys: ['a', 'b1', 'b2', 'c'], damagedFrames: 0 })
    log.close()
  })
})
