import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { kill9 } from '../../scripts/cli-process.js'
import { killAll, type NodeProcess, runCli, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

afterEach(() => killAll())

const req = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })

describe('restart after kill -9 (real node processes)', () => {
  it('serves no older version than it acknowledged, with no snapshot since the writes (write log)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-restart-'))
    const args = [
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.98.1/tcp/0',
      '--http',
      '127.0.98.1:0',
      '--data-dir',
      dataDir,
      '--snapshot-interval',
      '1h',
    ]
    let a = await spawnNode(args)
    const b = await spawnNode([
      '--region',
      'eu-west',
      '--listen',
      '/ip4/127.0.98.2/tcp/0',
      '--http',
      '127.0.98.2:0',
      '--peer',
      a.info.addresses[0]!,
    ])
    await waitFor(
      async () =>
        ((await (await req(a, '/status')).json()) as { mesh: { peers: unknown[] } }).mesh.peers
          .length === 1,
      'connected',
    )
    const acked = new Map<string, string>()
    for (let i = 0; i < 60; i++) {
      const key = `k${i % 40}` // a third of the keys written twice: older versions exist
      const res = await req(a, `/v1/default/${key}?ack=peer&ttl=10m`, {
        method: 'PUT',
        body: JSON.stringify({ i }),
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status).toBe(200)
      acked.set(key, res.headers.get('x-version')!)
    }
    // Both die: the restarted writer has only its own files to go on.
    await kill9(a.proc)
    await kill9(b.proc)
    a = await spawnNode(args)
    const stale: string[] = []
    for (const [key, version] of acked) {
      const res = await req(a, `/v1/default/${key}`)
      if (res.headers.get('x-version') !== version)
        stale.push(`${key}: ${res.status} ${res.headers.get('x-version')} (acked ${version})`)
    }
    expect(stale).toEqual([])
  }, 60_000)

  it('a second node on the same data dir exits 1 with one clear line, and the first keeps running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-lock-'))
    const first = await spawnNode([
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.98.3/tcp/0',
      '--http',
      '127.0.98.3:0',
      '--data-dir',
      dataDir,
    ])
    const second = await runCli([
      'node',
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.98.4/tcp/0',
      '--http',
      '127.0.98.4:0',
      '--data-dir',
      dataDir,
    ])
    expect(second.code).toBe(1)
    expect(second.out).toMatch(/dataDir .* is in use by process \d+/)
    expect(second.out).not.toMatch(/\n\s+at /) // no stack trace
    expect((await req(first, '/health/live')).status).toBe(200)
  }, 60_000)
})
