import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/node/create-cache.js'
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

describe('the write log of local writes since the last snapshot', () => {
  it('replays what was appended, in order, after the end of the turn that wrote it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-wal-'))
    const log = new WriteLog(dir)
    log.append('ks', tuple('a', 1))
    log.append('ks', tuple('b', 2))
    await new Promise((r) => setImmediate(r)) // the turn ends: the records are written
    const seen: string[] = []
    expect(WriteLog.replay(dir, (ks, t) => seen.push(`${ks}/${t[0]}@${t[1]}`))).toBe(2)
    expect(seen).toEqual(['ks/a@1', 'ks/b@2'])
    log.truncate()
    expect(WriteLog.replay(dir, () => {})).toBe(0)
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

  it('a torn or corrupt frame ends the replay, and reopening cuts it off so later writes stay whole', async () => {
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
    // A frame whose bytes changed (CRC mismatch) ends the replay too.
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
