import { afterEach, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Node processes whose wall clocks are shifted (scripts/clock-skew.mjs): expiry happens
 * at the same real instant everywhere, acknowledged writes are visible everywhere, the
 * order of writes follows real time, and skewed nodes are flagged.
 */
afterEach(() => killAll())

const req = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const put = (n: NodeProcess, path: string, body: unknown) =>
  req(n, path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })

interface Status {
  mesh: { peers: { id: string }[]; clock: { correctionMs: number; skewed: boolean } }
}
const status = async (n: NodeProcess) => (await (await req(n, '/status')).json()) as Status

/** Starts one node per [region, skew]; every node after the first bootstraps from it. */
async function mesh(
  nodes: [region: string, skewMs: number][],
  subnet: number,
): Promise<[NodeProcess, NodeProcess, NodeProcess]> {
  const out: NodeProcess[] = []
  for (const [i, [region, skew]] of nodes.entries()) {
    const host = `127.0.${subnet}.${i + 1}`
    out.push(
      await spawnNode(
        [
          '--region',
          region,
          '--listen',
          `/ip4/${host}/tcp/0`,
          '--http',
          `${host}:0`,
          ...(out[0] ? ['--peer', out[0].info.addresses[0]!] : []),
        ],
        20_000,
        { clockSkewMs: skew },
      ),
    )
  }
  await waitFor(
    async () =>
      (await Promise.all(out.map(status))).every((s) => s.mesh.peers.length === out.length - 1),
    'full mesh',
    20_000,
  )
  return out as [NodeProcess, NodeProcess, NodeProcess]
}

describe('skewed clocks (real node processes, shifted wall clocks)', () => {
  it('nodes 20 s behind and ahead are flagged and corrected: expiry, acks and order follow real time', async () => {
    const [a, b, c] = await mesh(
      [
        ['us-east', 0],
        ['eu-west', 20_000],
        ['ap-south', -20_000],
      ],
      96,
    )
    // Flagged and corrected to the mesh median within 10 s; the correct node is not.
    const near = (n: Status, ms: number) => Math.abs(n.mesh.clock.correctionMs - ms) < 500
    await waitFor(
      async () => {
        const sb = await status(b)
        const sc = await status(c)
        return sb.mesh.clock.skewed && sc.mesh.clock.skewed && near(sb, -20_000) && near(sc, 20_000)
      },
      'both skewed nodes flagged and corrected',
      10_000,
    )
    expect((await status(a)).mesh.clock.skewed).toBe(false)

    // A 2 s value written on the correct node: every node serves it, and none serves it
    // more than 1 s past its real expiry.
    const writtenAt = Date.now()
    expect((await put(a, '/v1/default/short?ttl=2s', 'v')).status).toBe(200)
    for (const n of [b, c])
      await waitFor(
        async () => (await req(n, '/v1/default/short')).status === 200,
        'replicated',
        5_000,
      )
    await waitFor(
      async () =>
        (await Promise.all([a, b, c].map((n) => req(n, '/v1/default/short')))).every(
          (r) => r.status === 404,
        ),
      'expired everywhere',
      6_000,
    )
    expect(Date.now() - writtenAt).toBeLessThan(2_000 + 1_000 + 500)

    // An acknowledged 10 s write of the node 20 s behind is visible everywhere.
    const acked = await put(c, '/v1/default/from-c?ttl=10s&ack=peer', 'c')
    expect(acked.status).toBe(200)
    for (const n of [a, b])
      await waitFor(
        async () => (await req(n, '/v1/default/from-c')).status === 200,
        'acked write visible',
        3_000,
      )

    // Order follows real time: b (20 s ahead) writes first, a writes 1.5 s later and wins.
    expect((await put(b, '/v1/default/order', 'first')).status).toBe(200)
    const t = Date.now()
    await waitFor(async () => Date.now() - t > 1_500, 'real time passes', 3_000)
    expect((await put(a, '/v1/default/order', 'second')).status).toBe(200)
    for (const n of [a, b, c])
      await waitFor(
        async () => (await (await req(n, '/v1/default/order')).json()) === 'second',
        'the later write wins everywhere',
        5_000,
      )
  }, 60_000)

  it('a node 2 minutes off is corrected (its writes are not refused as drift) and nobody is cut off by HLC drag', async () => {
    const [a, b, c] = await mesh(
      [
        ['us-east', 0],
        ['eu-west', 45_000],
        ['ap-south', -120_000],
      ],
      97,
    )
    // Flagged and corrected (flagged alone is not enough: with one peer measured, it is
    // flagged too, and refuses writes until a second peer makes a majority).
    await waitFor(
      async () => {
        const { clock } = (await status(c)).mesh
        return clock.skewed && Math.abs(clock.correctionMs - 120_000) < 500
      },
      'the 2-minute node flagged and corrected',
      10_000,
    )
    // Everyone's writes reach everyone (before the correction, c refused all as drift).
    for (const [i, n] of [a, b, c].entries())
      expect((await put(n, `/v1/default/k${i}?ttl=1m`, i)).status).toBe(200)
    for (const n of [a, b, c])
      for (const i of [0, 1, 2])
        await waitFor(
          async () => (await req(n, `/v1/default/k${i}`)).status === 200,
          `k${i} on every node`,
          5_000,
        )
  }, 60_000)
})
