import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { kill9 } from '../../scripts/cli-process.js'
import { parseVersion } from '../../src/clock/version.js'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A node whose clock is 30 minutes off (scripts/clock-skew.mjs), as a VM resumed from
 * suspend or a dead NTP daemon leaves it: it knows, its peers know, and it answers no 200
 * for a write that the mesh will not hold (docs/consistency.md, "Clocks").
 */
afterEach(() => killAll())

const HALF_HOUR = 1_800_000

const req = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const put = (n: NodeProcess, path: string, body: unknown) =>
  req(n, path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
const value = async (n: NodeProcess, key: string) => {
  const res = await req(n, `/v1/default/${key}`)
  return res.status === 200 ? ((await res.json()) as unknown) : undefined
}

interface Clock {
  correctionMs: number
  skewed: boolean
  refusingWrites?: boolean
  reason?: string
}
interface Peer {
  id: string
  clockOffsetMs?: number
  clockSkewed?: boolean
  clockCorrectionMs?: number
}
interface Status {
  mesh: { peers: Peer[]; clock: Clock }
}
const status = async (n: NodeProcess) => (await (await req(n, '/status')).json()) as Status
const peerOf = (s: Status, n: NodeProcess) => s.mesh.peers.find((p) => p.id === n.info.peerId)

/** `meshcache node` in `region` on 127.0.`subnet`.`host`, its wall clock shifted by `skewMs`. */
function start(
  region: string,
  subnet: number,
  host: number,
  skewMs: number,
  peer?: NodeProcess,
  more: string[] = [],
): Promise<NodeProcess> {
  const ip = `127.0.${subnet}.${host}`
  return spawnNode(
    [
      '--region',
      region,
      '--listen',
      `/ip4/${ip}/tcp/0`,
      '--http',
      `${ip}:0`,
      ...(peer ? ['--peer', peer.info.addresses[0]!] : []),
      ...more,
    ],
    20_000,
    { clockSkewMs: skewMs },
  )
}

/** The wall-clock ms of a version token (`x-version`). */
const stampOf = (res: Response) => parseVersion(res.headers.get('x-version')!)!.wall

describe('a node 30 minutes off (real node processes, shifted wall clocks)', () => {
  it.each([
    ['fast', HALF_HOUR, 98],
    ['slow', -HALF_HOUR, 99],
  ])(
    'a 30-min %s node in a 3-node mesh is flagged within 10 s on itself and its peers, corrected, its writes held; restarted with the right clock it converges',
    async (name, skew, subnet) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-far-clock-'))
      const b = await start('us-east', subnet, 1, 0)
      const c = await start('eu-west', subnet, 2, 0, b)
      const dirArgs = ['--data-dir', dataDir]
      let a = await start('ap-south', subnet, 3, skew, b, dirArgs)
      const startedAt = Date.now()

      // Flagged on itself (corrected by the whole skew) and on both peers, within 10 s.
      await waitFor(
        async () => {
          const [sa, sb, sc] = await Promise.all([status(a), status(b), status(c)])
          const self = sa.mesh.clock.skewed && Math.abs(sa.mesh.clock.correctionMs + skew) < 1_000
          const seen = [sb, sc].every((s) => peerOf(s, a)?.clockSkewed === true)
          return self && seen
        },
        'the 30-min node flagged on itself and on its peers',
        10_000,
      )
      const flaggedMs = Date.now() - startedAt
      const [sa, sb] = await Promise.all([status(a), status(b)])
      expect(sa.mesh.clock.refusingWrites).toBe(false)
      expect(sa.mesh.clock.reason).toMatch(/off the mesh median and corrected/)
      expect(Math.abs(peerOf(sb, a)!.clockOffsetMs! - skew)).toBeLessThan(1_000)
      // Peers learn the correction it applies with their next exchange (every 5 s).
      await waitFor(
        async () => Math.abs((peerOf(await status(b), a)?.clockCorrectionMs ?? 0) + skew) < 1_000,
        'its peers know its correction',
        10_000,
      )
      expect(sb.mesh.clock.skewed).toBe(false)
      expect(await (await req(a, '/metrics')).text()).toMatch(/^meshcache_clock_skewed 1$/m)
      // The node's log says so (its watcher polls once a second).
      await waitFor(
        () => /"level":"warn".*off the mesh median and corrected/.test(a.output()),
        'a warning in its log',
        3_000,
      )

      // Its writes are stamped on real time and held by every node; it holds theirs.
      const fromA = await put(a, '/v1/default/from-a?ttl=10m', 'a')
      expect(fromA.status).toBe(200)
      expect(Math.abs(stampOf(fromA) - Date.now())).toBeLessThan(1_000)
      expect((await put(b, '/v1/default/from-b?ttl=10m', 'b')).status).toBe(200)
      for (const n of [a, b, c])
        for (const key of ['from-a', 'from-b'])
          await waitFor(async () => (await value(n, key)) !== undefined, `${key} held`, 5_000)

      // Real time orders writes: of two writes 1.5 s apart, the later wins everywhere,
      // whichever node made it.
      for (const [first, second, key] of [
        [a, b, 'order-ab'],
        [b, a, 'order-ba'],
      ] as const) {
        expect((await put(first, `/v1/default/${key}`, 'first')).status).toBe(200)
        const t = Date.now()
        await waitFor(async () => Date.now() - t > 1_500, 'real time passes', 3_000)
        expect((await put(second, `/v1/default/${key}`, 'second')).status).toBe(200)
        for (const n of [a, b, c])
          await waitFor(async () => (await value(n, key)) === 'second', `${key}: later wins`, 5_000)
      }

      // Its clock fixed (restarted with the right time, same data dir and identity): no
      // longer flagged anywhere, and every node converges.
      await kill9(a.proc)
      a = await start('ap-south', subnet, 3, 0, b, dirArgs)
      await waitFor(
        async () => {
          const [sa2, sb2, sc2] = await Promise.all([status(a), status(b), status(c)])
          const self = !sa2.mesh.clock.skewed && Math.abs(sa2.mesh.clock.correctionMs) < 1_000
          const seen = [sb2, sc2].every((s) => peerOf(s, a)?.clockSkewed === false)
          return self && seen && sa2.mesh.peers.length === 2
        },
        'the fixed node no longer flagged',
        15_000,
      )
      expect((await put(a, '/v1/default/after-fix?ttl=10m', 'fixed')).status).toBe(200)
      for (const n of [a, b, c])
        for (const [key, v] of [
          ['from-a', 'a'],
          ['from-b', 'b'],
          ['order-ab', 'second'],
          ['order-ba', 'second'],
          ['after-fix', 'fixed'],
        ] as const)
          await waitFor(async () => (await value(n, key)) === v, `${key} converged`, 10_000)
      console.log(`30-min ${name} node flagged on itself and both peers in ${flaggedMs} ms`)
    },
    120_000,
  )

  it('two nodes 30 min apart cannot tell whose clock is wrong: both refuse writes (503 ERR_CLOCK_SKEW) and are not ready; a third clock decides', async () => {
    const b = await start('us-east', 100, 1, 0)
    const a = await start('eu-west', 100, 2, HALF_HOUR, b)
    await waitFor(
      async () =>
        (await Promise.all([status(a), status(b)])).every((s) => s.mesh.clock.refusingWrites),
      'both refusing',
      10_000,
    )
    for (const [n, dir] of [
      [a, 'ahead of'],
      [b, 'behind'],
    ] as const) {
      const res = await put(n, '/v1/default/k?ttl=10m', 'v')
      expect(res.status).toBe(503)
      const body = (await res.json()) as { error: string; message: string }
      expect(body.error).toBe('ERR_CLOCK_SKEW')
      expect(body.message).toMatch(new RegExp(`ms ${dir} 1 of the 1 peers`))
      expect((await req(n, '/v1/default/k', { method: 'DELETE' })).status).toBe(503)
      const ready = await req(n, '/health/ready')
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { message: string }).message).toMatch(/maxClockDrift/)
      expect(await (await req(n, '/metrics')).text()).toMatch(
        /^meshcache_clock_refusing_writes 1$/m,
      )
    }
    // Nothing was stored by the refused writes.
    for (const n of [a, b]) expect(await value(n, 'k')).toBeUndefined()

    // A third node with a right clock: a majority agrees; the wrong node corrects, both write.
    const c = await start('ap-south', 100, 3, 0, b)
    await waitFor(
      async () => {
        const [sa, sb] = await Promise.all([status(a), status(b)])
        return (
          !sa.mesh.clock.refusingWrites &&
          !sb.mesh.clock.refusingWrites &&
          Math.abs(sa.mesh.clock.correctionMs + HALF_HOUR) < 1_000
        )
      },
      'the majority decides',
      10_000,
    )
    for (const [i, n] of [a, b, c].entries()) {
      expect((await put(n, `/v1/default/k${i}?ttl=10m`, i)).status).toBe(200)
      expect((await req(n, '/health/ready')).status).toBe(200)
    }
    for (const n of [a, b, c])
      for (const i of [0, 1, 2])
        await waitFor(async () => (await value(n, `k${i}`)) === i, `k${i} everywhere`, 5_000)
  }, 90_000)
})
