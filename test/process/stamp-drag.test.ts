import { afterEach, describe, expect, it } from 'vitest'
import { parseVersion, type Version } from '../../src/clock/version.js'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A peer 20 s ahead does not drag correct nodes' stamps ahead of their clocks (the HLC's
 * lead is bounded to 1 s), yet a write made after reading its value still wins over it
 * (docs/consistency.md, "Clocks"). Real node processes, wall clocks shifted by
 * scripts/clock-skew.mjs.
 */
afterEach(() => killAll())

const AHEAD = 20_000
/** How far a correct node's stamps may run ahead of its clock (the HLC's lead bound). */
const LEAD_BOUND_MS = 1_000
/**
 * What a node's corrected clock may differ from this process's by: its correction is the
 * mesh median to within a loopback round trip (a busy machine's included).
 */
const SLACK_MS = 100

const req = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const put = (n: NodeProcess, key: string, body: unknown) =>
  req(n, `/v1/default/${key}?ttl=10m`, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
const value = async (n: NodeProcess, key: string) => {
  const res = await req(n, `/v1/default/${key}`)
  return res.status === 200 ? ((await res.json()) as unknown) : undefined
}
const versionOf = (res: Response): Version => parseVersion(res.headers.get('x-version')!)!

interface Status {
  mesh: { peers: unknown[]; clock: { correctionMs: number } }
}
const status = async (n: NodeProcess) => (await (await req(n, '/status')).json()) as Status

function start(host: number, region: string, skewMs: number, peer?: NodeProcess) {
  const ip = `127.0.101.${host}`
  return spawnNode(
    [
      '--region',
      region,
      '--listen',
      `/ip4/${ip}/tcp/0`,
      '--http',
      `${ip}:0`,
      ...(peer ? ['--peer', peer.info.addresses[0]!] : []),
    ],
    20_000,
    { clockSkewMs: skewMs },
  )
}

describe('stamps with a peer 20 s ahead (real node processes)', () => {
  it("correct nodes' stamps stay within 1 s of their clocks, and a write after reading the fast node's value wins everywhere", async () => {
    // The fast node alone first: its writes carry stamps 20 s ahead (nothing to correct it).
    const fast = await start(1, 'us-east', AHEAD)
    const early = await put(fast, 'read-me', 'fast')
    expect(early.status).toBe(200)
    const fastVersion = versionOf(early)
    expect(Math.abs(fastVersion.wall - Date.now() - AHEAD)).toBeLessThan(LEAD_BOUND_MS)

    const b = await start(2, 'eu-west', 0, fast)
    const c = await start(3, 'ap-south', 0, fast)
    await waitFor(
      async () => {
        const all = await Promise.all([fast, b, c].map(status))
        const meshed = all.every((s) => s.mesh.peers.length === 2)
        return meshed && Math.abs(all[0]!.mesh.clock.correctionMs + AHEAD) < 500
      },
      'full mesh, the fast node corrected',
      15_000,
    )
    // Both correct nodes heard the fast node's stamp (anti-entropy on connection).
    for (const n of [b, c])
      await waitFor(async () => (await value(n, 'read-me')) === 'fast', 'fast write held', 5_000)

    // Every node's stamps on other keys: within the lead bound of real time, over 2 s of writes.
    let ahead = Number.NEGATIVE_INFINITY
    let behind = Number.POSITIVE_INFINITY
    const until = Date.now() + 2_000
    for (let i = 0; Date.now() < until; i++) {
      for (const n of [b, c, fast]) {
        const res = await put(n, `other-${i}`, i)
        expect(res.status).toBe(200)
        const lead = versionOf(res).wall - Date.now()
        ahead = Math.max(ahead, lead)
        behind = Math.min(behind, lead)
        expect(lead).toBeLessThanOrEqual(LEAD_BOUND_MS + SLACK_MS)
        expect(lead).toBeGreaterThan(-LEAD_BOUND_MS)
      }
    }

    // Read, then write: the write wins over the fast node's value, everywhere.
    expect(await value(b, 'read-me')).toBe('fast')
    const mine = await put(b, 'read-me', 'b-after-reading')
    expect(mine.status).toBe(200)
    const bVersion = versionOf(mine)
    expect(bVersion.wall).toBe(fastVersion.wall) // just after it, not on a dragged clock
    expect(bVersion.logical).toBeGreaterThan(fastVersion.logical)
    for (const n of [fast, b, c])
      await waitFor(
        async () => (await value(n, 'read-me')) === 'b-after-reading',
        'the write made after reading wins everywhere',
        5_000,
      )
    // And the next writer after that one wins again.
    expect((await put(c, 'read-me', 'c-later')).status).toBe(200)
    for (const n of [fast, b, c])
      await waitFor(async () => (await value(n, 'read-me')) === 'c-later', 'c wins', 5_000)
    console.log(
      `stamps minus real time at the response, over 2 s of writes on 3 nodes: ${behind}..${ahead} ms`,
    )
  }, 90_000)
})
