import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { msgpack } from '../../src/replication/value-codec.js'
import { killAll, type NodeProcess, runCli, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

const dirs: string[] = []
afterEach(async () => {
  await killAll()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const get = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const put = (n: NodeProcess, path: string, body: unknown) =>
  get(n, path, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })

async function threeNodes(extra: string[][] = [[], [], []]) {
  const a = await spawnNode([
    '--region',
    'us-east',
    '--listen',
    '/ip4/127.0.1.11/tcp/0',
    '--http',
    '127.0.1.11:0',
    ...extra[0]!,
  ])
  const peer = ['--peer', a.info.addresses[0]!]
  const b = await spawnNode([
    '--region',
    'eu-west',
    '--listen',
    '/ip4/127.0.2.11/tcp/0',
    '--http',
    '127.0.2.11:0',
    ...peer,
    ...extra[1]!,
  ])
  const c = await spawnNode([
    '--region',
    'eu-west',
    '--listen',
    '/ip4/127.0.2.12/tcp/0',
    '--http',
    '127.0.2.12:0',
    ...peer,
    ...extra[2]!,
  ])
  await waitFor(
    async () => {
      const all = await Promise.all(
        [a, b, c].map(
          async (n) => (await (await get(n, '/status')).json()) as { mesh: { peers: unknown[] } },
        ),
      )
      return all.every((s) => s.mesh.peers.length === 2)
    },
    'three CLI nodes fully connected',
    20_000,
  )
  return [a, b, c] as const
}

describe('meshcache node (separate processes, HTTP API)', () => {
  it('a PUT on one node is a GET on the others, with version and expiry headers', async () => {
    const [a, b, c] = await threeNodes()
    const res = await put(a, '/v1/users/42?ttl=5m', { name: 'Ada' })
    expect(res.status).toBe(200)
    const version = res.headers.get('x-version')
    for (const n of [b, c]) {
      await waitFor(
        async () => (await get(n, '/v1/users/42')).status === 200,
        'replicated over HTTP',
      )
      const r = await get(n, '/v1/users/42')
      expect(await r.json()).toEqual({ name: 'Ada' })
      expect(r.headers.get('x-version')).toBe(version)
      expect(Number(r.headers.get('x-expires-at'))).toBeGreaterThan(Date.now() + 4 * 60_000)
    }
    expect((await get(b, '/v1/users/missing')).status).toBe(404)
    expect(await (await get(c, '/v1/users/42', { method: 'DELETE' })).json()).toMatchObject({
      deleted: true,
    })
    await waitFor(async () => (await get(a, '/v1/users/42')).status === 404, 'delete replicated')
  })

  it('a node killed with SIGKILL restarts with the same peer id and serves its entries again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-'))
    dirs.push(dir)
    const args = [
      '--region',
      'ap-south',
      '--listen',
      '/ip4/127.0.3.11/tcp/0',
      '--http',
      '127.0.3.11:0',
      '--data-dir',
      dir,
      '--snapshot-interval',
      '200ms',
    ]
    const first = await spawnNode(args)
    for (let i = 0; i < 20; i++)
      expect((await put(first, `/v1/default/k${i}`, { i })).status).toBe(200)
    const written = Date.now()
    await waitFor(() => {
      try {
        return statSync(join(dir, 'snapshot.msgpack')).mtimeMs > written
      } catch {
        return false
      }
    }, 'a snapshot after the writes')
    first.proc.kill('SIGKILL')
    await new Promise((r) => first.proc.once('exit', r))
    const second = await spawnNode(args)
    expect(second.info.peerId).toBe(first.info.peerId)
    for (let i = 0; i < 20; i++)
      expect(await (await get(second, `/v1/default/k${i}`)).json()).toEqual({ i })
  })

  it('/metrics is Prometheus text and bad requests get the documented errors', async () => {
    const n = await spawnNode([
      '--region',
      'us-east',
      '--listen',
      '/ip4/127.0.1.13/tcp/0',
      '--http',
      '127.0.1.13:0',
    ])
    await put(n, '/v1/default/x', 1)
    await get(n, '/v1/default/x')
    const text = await (await get(n, '/metrics')).text()
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+]+$/)
    }
    expect(text).toMatch(/meshcache_hits_total\{keyspace="default"\} 1/)
    expect(text).toMatch(/# TYPE meshcache_sets_total counter/)

    const bad = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status)
      expect(((await res.json()) as { error: string }).error).toBe(code)
    }
    const putRaw = (body: string, type: string) =>
      get(n, '/v1/default/k', { method: 'PUT', body, headers: { 'content-type': type } })
    await bad(await putRaw('{nope', 'application/json'), 400, 'ERR_BAD_BODY')
    // Any other type is stored as raw bytes; only an encoding the API cannot undo is 415.
    expect((await putRaw('x', 'text/plain')).status).toBe(200)
    await bad(
      await get(n, '/v1/default/k', {
        method: 'PUT',
        body: 'x',
        headers: { 'content-encoding': 'br', 'content-type': 'text/plain' },
      }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    await bad(await put(n, '/v1/bad%20name/k', 1), 400, 'ERR_INVALID_KEYSPACE')
    await bad(await put(n, '/v1/default/k?ttl=-4', 1), 400, 'ERR_INVALID_OPTION')
    await bad(await put(n, '/v1/default/k', 'x'.repeat(2_000_000)), 413, 'ERR_BODY_TOO_LARGE')
    await bad(await get(n, '/nope'), 404, 'ERR_NOT_FOUND')
    await bad(await get(n, '/v1/default/k', { method: 'POST' }), 405, 'ERR_METHOD_NOT_ALLOWED')
    expect((await get(n, '/v1/default/x')).status).toBe(200) // still serving

    // msgpack in and out, and read-through on a miss.
    const packed = msgpack.pack({ n: 1, tags: ['x'] })
    expect(
      (
        await get(n, '/v1/default/mp', {
          method: 'PUT',
          body: packed,
          headers: { 'content-type': 'application/msgpack' },
        })
      ).status,
    ).toBe(200)
    const mp = await get(n, '/v1/default/mp', { headers: { accept: 'application/msgpack' } })
    expect(mp.headers.get('content-type')).toBe('application/msgpack')
    expect(msgpack.unpack(new Uint8Array(await mp.arrayBuffer()))).toEqual({ n: 1, tags: ['x'] })
    expect((await get(n, '/v1/default/never-written?fetch=nearest')).status).toBe(404)

    const status = await runCli(['status', '--http', n.info.http])
    expect(status.code).toBe(0)
    expect(status.out).toContain(`node ${n.info.peerId}  region us-east`)
    expect(status.out).toMatch(/hit ratio \d+\.\d%/)
  })

  it('bad flags exit with code 2 and say what is wrong', async () => {
    const r = await runCli(['node', '--max-entries', 'lots'])
    expect(r.code).toBe(2)
    expect(r.out).toContain('--max-entries must be a positive integer')
    const u = await runCli(['node', '--frobnicate'])
    expect(u.code).toBe(2)
    expect(u.out).toContain("unknown option '--frobnicate'")
  })
})
