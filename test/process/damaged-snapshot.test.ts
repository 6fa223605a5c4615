import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { parseVersion } from '../../src/clock/version.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'

afterEach(() => killAll())

const TEN_YEARS = 10 * 365 * 86_400_000
const req = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })

/** Stops a node gracefully (SIGTERM: it writes a last snapshot) and waits for its exit. */
function stop(n: NodeProcess): Promise<void> {
  return new Promise((resolve) => {
    if (n.proc.exitCode !== null) return resolve()
    n.proc.once('exit', () => resolve())
    n.proc.kill('SIGTERM')
  })
}

/** The frames of a format-3 snapshot: the magic, then `[length][crc32][body]`. */
function frames(file: Buffer): Buffer[] {
  expect(file.subarray(0, 4).toString()).toBe('MCS3')
  const out: Buffer[] = []
  let off = 4
  while (off < file.length) {
    const n = file.readUInt32BE(off)
    out.push(file.subarray(off + 8, off + 8 + n))
    off += 8 + n
  }
  return out
}

function frame(body: Uint8Array): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(body.length, 0)
  head.writeUInt32BE(crc32(body), 4)
  return Buffer.concat([head, body])
}

describe('a damaged snapshot cannot poison the clock (real node processes)', () => {
  it('a snapshot whose clock is 10 years ahead: new writes are stamped near real time, far-future rows refused; half a snapshot restores the rows before the cut', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-damaged-'))
    const args = [
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.97.1/tcp/0',
      '--http',
      '127.0.97.1:0',
      '--data-dir',
      dataDir,
      '--snapshot-interval',
      '1h',
    ]
    try {
      let node = await spawnNode(args)
      for (let i = 0; i < 100; i++) {
        const res = await req(node, `/v1/default/k${i}?ttl=1h`, {
          method: 'PUT',
          body: JSON.stringify({ i }),
          headers: { 'content-type': 'application/json' },
        })
        expect(res.status).toBe(200)
      }
      await stop(node)
      const file = join(dataDir, 'snapshot.msgpack')
      const original = readFileSync(file)
      const [header, ...rows] = frames(original)
      const saved = msgpack.unpack(header!) as unknown[]
      const selfId = node.info.peerId

      // The clock in the file 10 years ahead, and one row stamped there too.
      const future = Date.now() + TEN_YEARS
      const forged = msgpack.pack([saved[0], saved[1], future, 0, 0])
      const farRow = msgpack.pack([
        'default',
        'future',
        future,
        0,
        selfId,
        future + 3_600_000,
        1,
        null,
      ])
      writeFileSync(
        file,
        Buffer.concat([Buffer.from('MCS3'), frame(forged), ...rows.map(frame), frame(farRow)]),
      )
      node = await spawnNode(args)
      const put = await req(node, '/v1/default/fresh', { method: 'PUT', body: 'x' })
      expect(put.status).toBe(200)
      const version = parseVersion(put.headers.get('x-version')!)!
      expect(Math.abs(version.wall - Date.now())).toBeLessThan(60_000)
      expect((await req(node, '/v1/default/k7')).status).toBe(200)
      const status = (await (await req(node, '/status')).json()) as {
        rejected: Record<string, number>
        persistence: { refusedClockAheadMs?: number }
      }
      expect(status.persistence.refusedClockAheadMs).toBeGreaterThan(TEN_YEARS - 120_000)
      expect(status.rejected['clock-drift']).toBeGreaterThanOrEqual(1)
      expect((await req(node, '/v1/default/future')).status).toBe(404)
      await stop(node)

      // The snapshot cut in half: every row before the cut comes back.
      const whole = readFileSync(file)
      writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)))
      node = await spawnNode(args)
      let restored = 0
      for (let i = 0; i < 100; i++) {
        const res = await req(node, `/v1/default/k${i}`)
        if (res.status === 200) {
          restored++
          expect(await res.json()).toEqual({ i })
        }
      }
      expect(restored).toBeGreaterThanOrEqual(35)
      expect(restored).toBeLessThan(100)
      await stop(node)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})
