/**
 * `meshcache status --mesh` as a user runs it: the CLI process against the HTTP API of a
 * node of a real three-region mesh (and of nodes that refuse it), one line and exit 1 on
 * every runtime failure, exit 2 for a token file that cannot be read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { runCli } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

const lines = (out: string) => out.trim().split('\n')

describe('meshcache status --mesh', () => {
  let mesh: TestMesh | undefined
  let open: HttpApi | undefined
  let locked: HttpApi | undefined
  let lonely: HttpApi | undefined
  let alone: Cache<unknown> | undefined
  let dir: string | undefined

  beforeAll(async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1, 'ap-south': 1 } })
    const viewer = mesh.region('us-east')[0]!
    open = await startHttpApi(viewer, { host: '127.0.96.1', port: 0 })
    locked = await startHttpApi(viewer, {
      host: '127.0.96.1',
      port: 0,
      auth: { tokens: ['s3cret'] },
    })
    alone = await createCache({})
    lonely = await startHttpApi(alone, { host: '127.0.96.2', port: 0 })
    dir = mkdtempSync(join(tmpdir(), 'meshcache-cli-'))
    writeFileSync(join(dir, 'token'), "# the node's token\ns3cret\n")
    await Promise.all(mesh.caches.map((c, i) => c.set(`k${i}`, i)))
    await waitFor(
      () => {
        const v = viewer.admin.mesh!.view()
        return (
          v.totals.summarized === 4 &&
          v.lag.some((c) => c.to === 'us-east' && c.from === 'ap-south')
        )
      },
      'every summary arrived, with lag from ap-south in us-east',
      20_000,
    )
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled([open?.close(), locked?.close(), lonely?.close()])
    await alone?.close()
    await mesh?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('prints the region x region matrix, the hubs and the flagged nodes', async () => {
    const viewer = mesh!.region('us-east')[0]!
    const r = await runCli(['status', '--mesh', '--http', open!.url.replace('http://', '')])
    expect(r.code).toBe(0)
    const out = lines(r.out)
    expect(out[0]).toMatch(
      new RegExp(
        `^mesh seen from ${viewer.nodeId} \\(us-east\\): 4 members in 3 regions, 4 summarized, \\d+ flagged, \\d+ behind$`,
      ),
    )
    // Header and one row per region, columns in the same order.
    const header = out.findIndex((l) => l.startsWith('to \\ from'))
    expect(out[header]!.split(/\s{2,}|\s(?=\S)/).slice(-3)).toEqual([
      'ap-south',
      'eu-west',
      'us-east',
    ])
    const rows = out.slice(header + 1, header + 4).map((l) => l.split(/\s+/))
    expect(rows.map((row) => row[0])).toEqual(['ap-south', 'eu-west', 'us-east'])
    for (const row of rows) {
      expect(row).toHaveLength(4)
      for (const cell of row.slice(1)) expect(cell).toMatch(/^(-|\d+(\.\d)?\/\d+(\.\d)?\*?)$/)
    }
    // us-east received writes from ap-south: a p50/p99 there.
    expect(rows[2]![1]).toMatch(/^\d/)
    expect(out).toContain('members per region')
    for (const region of ['ap-south', 'eu-west', 'us-east'])
      expect(out.some((l) => l.startsWith(region) && / nodes?, hub 12D3KooW/.test(l))).toBe(true)
    expect(out.some((l) => l === 'no flagged nodes' || l === 'flagged nodes')).toBe(true)
  }, 30_000)

  it('sends the token of --token-file; without it the 401 is one line', async () => {
    const at = locked!.url.replace('http://', '')
    const denied = await runCli(['status', '--mesh', '--http', at])
    expect(denied.code).toBe(1)
    expect(lines(denied.out)).toEqual([
      expect.stringMatching(
        /^meshcache: error: GET http:\/\/.+\/status\/mesh answered 401 ERR_UNAUTHORIZED: /,
      ),
    ])
    const ok = await runCli(['status', '--mesh', '--http', at, '--token-file', join(dir!, 'token')])
    expect(ok.code).toBe(0)
    expect(ok.out).toMatch(/^mesh seen from /)
    const missing = await runCli([
      'status',
      '--mesh',
      '--http',
      at,
      '--token-file',
      join(dir!, 'nope'),
    ])
    expect(missing.code).toBe(2)
    expect(lines(missing.out)).toEqual([
      expect.stringMatching(/^meshcache: error: cannot read --token-file .*nope/),
    ])
  }, 40_000)

  it('a node outside a mesh, and one that is not there, are one line each with exit 1', async () => {
    const solo = await runCli(['status', '--mesh', '--http', lonely!.url])
    expect(solo.code).toBe(1)
    expect(lines(solo.out)).toEqual([
      expect.stringMatching(/answered 409 ERR_NO_MESH: this node is not part of a mesh$/),
    ])
    const gone = await runCli(['status', '--mesh', '--http', '127.0.96.3:59999'])
    expect(gone.code).toBe(1)
    expect(lines(gone.out)).toEqual([
      'meshcache: error: cannot reach the node at http://127.0.96.3:59999: connection refused: is `meshcache node` running there?',
    ])
  }, 30_000)
})
