import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, runCli, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

const dirs: string[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await killAll()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const call = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
const node = (host: string, region: string, extra: string[] = []) =>
  spawnNode(['--region', region, '--listen', `/ip4/${host}/tcp/0`, '--http', `${host}:0`, ...extra])
const lines = (out: string) => out.trim().split('\n').filter(Boolean)
const jsonLogs = (out: string) =>
  lines(out)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('meshcache node: flags, exit codes, help', () => {
  it('--version prints the package version; --help lists every flag with its default and env var', async () => {
    const v = await runCli(['--version'])
    expect(v.code).toBe(0)
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const h = await runCli(['node', '--help'])
    expect(h.code).toBe(0)
    // One entry per option: the lines from '  --flag' to the next option.
    const entries = h.out.split(/\n(?= {2}-)/).map((e) => e.replaceAll(/\s+/g, ' ').trim())
    for (const [flag, env, def] of [
      ['--region', 'MESHCACHE_REGION', '"local"'],
      ['--listen', 'MESHCACHE_LISTEN', '/ip4/127.0.0.1/tcp/7946'],
      ['--peer', 'MESHCACHE_PEERS', 'none'],
      ['--http', 'MESHCACHE_HTTP', '"127.0.0.1:8080"'],
      ['--data-dir', 'MESHCACHE_DATA_DIR', 'none'],
      ['--max-entries', 'MESHCACHE_MAX_ENTRIES', '"100000"'],
      ['--default-ttl', 'MESHCACHE_DEFAULT_TTL', '"10m"'],
      ['--max-ttl', 'MESHCACHE_MAX_TTL', '"1d"'],
      ['--keyspace', 'MESHCACHE_KEYSPACES', 'none'],
      ['--snapshot-interval', 'MESHCACHE_SNAPSHOT_INTERVAL', '"5s"'],
      ['--network-key-file', 'MESHCACHE_NETWORK_KEY_FILE', 'none'],
      ['--allow-peer', 'MESHCACHE_ALLOW_PEERS', 'everyone'],
      ['--max-body-bytes', 'MESHCACHE_MAX_BODY_BYTES', '"1100000"'],
      ['--http-headers-timeout', 'MESHCACHE_HTTP_HEADERS_TIMEOUT', '"10s"'],
      ['--http-request-timeout', 'MESHCACHE_HTTP_REQUEST_TIMEOUT', '"30s"'],
      ['--log-level', 'MESHCACHE_LOG_LEVEL', '"info"'],
      ['--admin', 'MESHCACHE_ADMIN', 'off'],
      ['--config', 'MESHCACHE_CONFIG', 'none'],
    ] as const) {
      const entry = entries.find((e) => e.startsWith(`${flag} `))
      expect(entry, flag).toBeDefined()
      expect(entry, flag).toContain(`default: ${def}`)
      expect(entry, flag).toContain(`env: ${env}`)
    }
    expect(h.out).not.toContain('--wan-routes') // internal: hidden
  })

  it('bad usage exits 2 with one line and no stack; --verbose adds the stack', async () => {
    for (const args of [
      ['node', '--max-entries', 'lots'],
      ['node', '--frobnicate'],
      ['node', '--default-ttl', 'five minutes'],
      ['node', '--log-level', 'loud'],
      ['node', '--keyspace', 'sessions:maxTtl=soon'],
    ]) {
      const r = await runCli(args)
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2])
      expect(lines(r.out)).toHaveLength(1)
      expect(r.out).toMatch(/^meshcache: error: /)
    }
    const verbose = await runCli(['node', '--max-entries', 'lots', '--verbose'])
    expect(verbose.code).toBe(2)
    expect(verbose.out).toMatch(/\n\s+at /)
  })

  it('a taken --http port exits 1 with one line; an unusable --data-dir too; status of a stopped node too', async () => {
    const first = await node('127.0.1.31', 'us-east')
    const taken = first.info.http.replace('http://', '')
    const r = await runCli(['node', '--listen', '/ip4/127.0.1.32/tcp/0', '--http', taken])
    expect(r.code).toBe(1)
    expect(lines(r.out)).toEqual([`meshcache: error: http address ${taken} is in use`])

    const dir = mkdtempSync(join(tmpdir(), 'meshcache-cli-'))
    dirs.push(dir)
    const file = join(dir, 'not-a-dir')
    writeFileSync(file, 'x')
    const d = await runCli([
      'node',
      '--listen',
      '/ip4/127.0.1.33/tcp/0',
      '--http',
      '127.0.1.33:0',
      '--data-dir',
      join(file, 'data'),
    ])
    expect(d.code).toBe(1)
    expect(lines(d.out)).toHaveLength(1)
    expect(d.out).toMatch(/^meshcache: error: .*not-a-dir/)

    first.proc.kill('SIGTERM')
    await new Promise((resolve) => first.proc.once('exit', resolve))
    const s = await runCli(['status', '--http', taken])
    expect(s.code).toBe(1)
    expect(lines(s.out)).toEqual([
      `meshcache: error: cannot reach the node at http://${taken}: connection refused: is \`meshcache node\` running there?`,
    ])
  })
})

describe('meshcache node: configuration, logs and metrics', () => {
  it('--keyspace and the config file open keyspaces with their own maxTtl; others get the defaults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-cli-'))
    dirs.push(dir)
    const config = join(dir, 'node.json')
    writeFileSync(
      config,
      JSON.stringify({ region: 'from-file', keyspaces: { carts: { maxTtl: '2d' } } }),
    )
    const n = await node('127.0.1.34', 'us-east', [
      '--config',
      config,
      '--keyspace',
      'sessions:maxTtl=7d,defaultTtl=5m',
      '--keyspace',
      'default:maxTtl=3d',
    ])
    expect(n.info.region).toBe('us-east') // the flag wins over the file
    const put = (path: string) =>
      call(n, path, { method: 'PUT', body: '1', headers: { 'content-type': 'application/json' } })
    expect((await put('/v1/sessions/s?ttl=3d')).status).toBe(200)
    expect((await put('/v1/carts/c?ttl=36h')).status).toBe(200)
    expect((await put('/v1/carts/c?ttl=3d')).status).toBe(400)
    expect((await put('/v1/other/o?ttl=3d')).status).toBe(400) // opened later: cache-wide maxTtl 1d
    // The default keyspace's own options apply to it alone.
    expect((await put('/v1/default/k?ttl=2d')).status).toBe(200)
    expect((await put('/v1/default/k?ttl=4d')).status).toBe(400)
    expect((await put('/v1/other/p?ttl=2d')).status).toBe(400)
    const t = Date.now()
    await put('/v1/sessions/d')
    const expires = Number((await call(n, '/v1/sessions/d')).headers.get('x-expires-at'))
    expect(expires).toBeLessThanOrEqual(Date.now() + 5 * 60_000) // defaultTtl 5m
    expect(expires).toBeGreaterThan(t + 4 * 60_000)
  })

  it('logs JSON lines on stderr: start, peer connect and disconnect, stop', async () => {
    const a = await node('127.0.1.35', 'us-east', ['--log-level', 'info'])
    const b = await node('127.0.2.35', 'eu-west', ['--peer', a.info.addresses[0]!])
    await waitFor(
      () =>
        jsonLogs(a.output()).some((l) => l.msg === 'peer connected' && l.peer === b.info.peerId),
      'a logged the peer',
      15_000,
    )
    const started = jsonLogs(a.output()).find((l) => l.msg === 'node started')!
    expect(started).toMatchObject({
      level: 'info',
      peerId: a.info.peerId,
      region: 'us-east',
      http: a.info.http,
    })
    expect(typeof started.version).toBe('string')
    expect(typeof started.time).toBe('string')
    b.proc.kill('SIGTERM')
    const code = await new Promise((resolve) => b.proc.once('exit', resolve))
    expect(code).toBe(0)
    expect(jsonLogs(b.output()).map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'node started',
        'node stopping: flushing pending writes',
        'node stopped',
      ]),
    )
    await waitFor(
      () =>
        jsonLogs(a.output()).some((l) => l.msg === 'peer disconnected' && l.peer === b.info.peerId),
      'a logged the disconnect',
      15_000,
    )
  })

  it('/metrics: replication lag as a Prometheus histogram per region, request latency per route', async () => {
    const a = await node('127.0.1.36', 'us-east')
    const b = await node('127.0.2.36', 'eu-west', ['--peer', a.info.addresses[0]!])
    await waitFor(
      async () =>
        (await call(a, '/health/ready')).status === 200 &&
        (await call(b, '/health/ready')).status === 200,
      'connected',
      15_000,
    )
    await waitFor(
      async () => {
        await call(a, '/v1/default/lag', {
          method: 'PUT',
          body: '1',
          headers: { 'content-type': 'application/json' },
        })
        return (await call(b, '/v1/default/lag')).status === 200
      },
      'a write replicated',
      15_000,
    )
    const text = await (await call(b, '/metrics')).text()
    expect(text).toMatch(/# TYPE meshcache_replication_lag_seconds histogram/)
    expect(text).toMatch(
      /meshcache_replication_lag_seconds_bucket\{region="us-east",le="\+Inf"\} [1-9]\d*/,
    )
    expect(text).toMatch(/meshcache_replication_lag_seconds_count\{region="us-east"\} [1-9]\d*/)
    expect(text).toMatch(
      /meshcache_http_request_duration_seconds_count\{route="\/v1\/:ks\/\*",method="GET",status_class="2xx"\} [1-9]/,
    )
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$/)
    }
  })
})

describe('meshcache node: slow clients are cut (issue 15)', () => {
  it('connections that trickle headers or a body are closed at the configured timeouts', async () => {
    const headersTimeoutMs = 1_000
    const requestTimeoutMs = 2_000
    const n = await node('127.0.1.37', 'us-east', [
      '--http-headers-timeout',
      `${headersTimeoutMs}ms`,
      '--http-request-timeout',
      `${requestTimeoutMs}ms`,
    ])
    const { hostname, port } = new URL(n.info.http)
    const closedAt: number[] = []
    const trickle = (first: string, next: () => string) => {
      const socket = connect(Number(port), hostname)
      sockets.push(socket)
      socket.on('error', () => {})
      socket.on('data', () => {}) // a 408 may come before the close
      socket.on('close', () => closedAt.push(Date.now()))
      socket.write(first)
      const timer = setInterval(() => {
        if (!socket.destroyed) socket.write(next())
      }, 1_000)
      socket.on('close', () => clearInterval(timer))
    }
    const start = Date.now()
    // One header line a second, forever.
    for (let i = 0; i < 10; i++)
      trickle('GET /v1/default/x HTTP/1.1\r\nHost: x\r\n', () => `X-Pad-${i}: 1\r\n`)
    // Complete headers, then one body byte a second.
    for (let i = 0; i < 10; i++) {
      trickle(
        'PUT /v1/default/y HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
        () => 'x',
      )
    }
    const margin = 2_500 // the server checks for expired requests once a second
    await waitFor(
      () => closedAt.length === 20,
      'all 20 slow connections closed',
      requestTimeoutMs + margin + 2_000,
    )
    expect(Math.max(...closedAt) - start).toBeLessThanOrEqual(requestTimeoutMs + margin)
    const headerCuts = closedAt
      .slice()
      .sort((x, y) => x - y)
      .slice(0, 10)
    expect(Math.max(...headerCuts) - start).toBeLessThanOrEqual(headersTimeoutMs + margin)
    // The node still serves, and a lease wait longer than the request timeout is not cut.
    await call(n, '/v1/default/held?lease=1')
    const t = Date.now()
    const waited = await call(n, `/v1/default/held?lease=1&wait=${requestTimeoutMs + 500}ms`)
    expect(waited.status).toBe(404)
    expect(Date.now() - t).toBeGreaterThanOrEqual(requestTimeoutMs)
  })
})
