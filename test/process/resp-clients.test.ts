/**
 * Stock Redis clients, unchanged, against two `meshcache node` processes in two regions
 * (us-east on 127.0.35.1, eu-west on 127.0.36.1), each serving RESP with a password:
 * redis-cli, redis-py (/usr/bin/python3), ioredis and node-redis. Each writes on one node
 * and reads on the other (TTL kept, binary values), pipelines 100 commands, pages with
 * SCAN, authenticates, WAITs for the other region and sees keys expire. A value written
 * over RESP reads back over HTTP as the same bytes.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

const run = promisify(execFile)
const PASSWORD = 'resp-test-secret'
let dir: string
let a: NodeProcess
let b: NodeProcess

const address = (n: NodeProcess) => {
  const m = /^redis:\/\/(.+):(\d+)$/.exec(n.info.resp!)!
  return { host: m[1]!, port: Number(m[2]) }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshcache-resp-'))
  const passwordFile = join(dir, 'password')
  writeFileSync(passwordFile, `# RESP password\n${PASSWORD}\n`)
  const common = [
    '--resp-password-file',
    passwordFile,
    '--resp-keyspaces',
    'default,sessions',
    '--resp-prefix-routing',
  ]
  a = await spawnNode([
    '--region',
    'us-east',
    '--listen',
    '/ip4/127.0.35.1/tcp/0',
    '--http',
    '127.0.35.1:0',
    '--resp',
    '127.0.35.1:0',
    ...common,
  ])
  b = await spawnNode([
    '--region',
    'eu-west',
    '--listen',
    '/ip4/127.0.36.1/tcp/0',
    '--http',
    '127.0.36.1:0',
    '--resp',
    '127.0.36.1:0',
    '--peer',
    a.info.addresses[0]!,
    ...common,
  ])
  await waitFor(
    async () => {
      const all = await Promise.all(
        [a, b].map(
          async (n) =>
            (await (await fetch(`${n.info.http}/status`)).json()) as { mesh: { peers: unknown[] } },
        ),
      )
      return all.every((s) => s.mesh.peers.length === 1)
    },
    'two nodes connected',
    20_000,
  )
}, 60_000)

afterAll(async () => {
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs redis-cli against a node; `input` goes to its stdin. */
function cli(n: NodeProcess, args: string[], input?: Buffer | string): Promise<Buffer> {
  const { host, port } = address(n)
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', [
      '-h',
      host,
      '-p',
      String(port),
      '-a',
      PASSWORD,
      '--no-auth-warning',
      ...args,
    ])
    const out: Buffer[] = []
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => out.push(d))
    p.on('error', reject)
    p.on('exit', () => resolve(Buffer.concat(out)))
    p.stdin.end(input)
  })
}

async function httpBytes(
  n: NodeProcess,
  path: string,
): Promise<{ type: string | null; body: Buffer }> {
  const res = await fetch(`${n.info.http}${path}`)
  return { type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) }
}

describe('redis-cli', () => {
  it('writes binary values with a TTL on us-east that eu-west and HTTP read byte for byte', async () => {
    const value = randomBytes(1000)
    // -x: the last argument is stdin, bytes as they are.
    expect((await cli(a, ['-x', 'SET', 'cli:bin'], value)).toString()).toBe('OK\n')
    expect((await cli(a, ['EXPIRE', 'cli:bin', '120'])).toString()).toBe('1\n')
    await waitFor(
      async () => (await cli(b, ['EXISTS', 'cli:bin'])).toString() === '1\n',
      'replicated',
    )
    // Not a terminal: redis-cli prints the raw bytes and a newline.
    expect(
      (await cli(b, ['GET', 'cli:bin'])).equals(Buffer.concat([value, Buffer.from('\n')])),
    ).toBe(true)
    const ttl = Number((await cli(b, ['TTL', 'cli:bin'])).toString())
    expect(ttl).toBeGreaterThan(100)
    expect(ttl).toBeLessThanOrEqual(120)
    const http = await httpBytes(b, '/v1/default/cli:bin')
    expect(http.type).toBe('application/octet-stream')
    expect(http.body.equals(value)).toBe(true)
  })

  it('pipes 100 commands, pages with SCAN, WAITs for the other region, speaks RESP3', async () => {
    const pipe = Array.from({ length: 100 }, (_, i) => {
      const args = ['SET', `cli:p:${i}`, String(i)]
      return `*3\r\n${args.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`
    }).join('')
    expect((await cli(a, ['--pipe'], pipe)).toString()).toContain('errors: 0, replies: 100')
    const scanned = (await cli(a, ['--scan', '--pattern', 'cli:p:*'])).toString().trim().split('\n')
    expect(new Set(scanned).size).toBe(100)
    // Several commands on one connection: the write, then WAIT for one other region.
    expect((await cli(a, [], 'SET cli:w 1\nWAIT 1 5000\n')).toString()).toBe('OK\n1\n')
    expect((await cli(a, ['-3', 'GET', 'cli:nothing'])).toString()).toBe('\n')
    expect((await cli(a, ['-3', 'HELLO', '3'])).toString()).toContain('proto 3\n')
  })

  it('refuses a wrong password with WRONGPASS', async () => {
    const { host, port } = address(a)
    const out = await run('redis-cli', [
      '-h',
      host,
      '-p',
      String(port),
      '-a',
      'wrong',
      '--no-auth-warning',
      'PING',
    ]).catch((err: { stdout: string; stderr: string }) => err)
    expect(`${out.stdout}${out.stderr}`).toContain('WRONGPASS')
  })
})

const PY = `
import json, sys, time, redis
cfg = json.loads(sys.argv[1])
a = redis.Redis(host=cfg['a'][0], port=cfg['a'][1], password=cfg['pw'])
b = redis.Redis(host=cfg['b'][0], port=cfg['b'][1], password=cfg['pw'])
out = {}
value = bytes(range(256)) * 4
a.set('py:bin', value, ex=90)
deadline = time.time() + 10
while b.get('py:bin') is None and time.time() < deadline: time.sleep(0.02)
out['same'] = b.get('py:bin') == value
out['ttl'] = b.ttl('py:bin')
p = a.pipeline(transaction=False)
for i in range(100): p.set('py:p:%d' % i, i)
out['pipeline'] = sum(1 for r in p.execute() if r is True)
out['scanned'] = len(set(a.scan_iter(match='py:p:*', count=10)))
a.set('sessions:py', 'tok')
out['selected'] = redis.Redis(host=cfg['a'][0], port=cfg['a'][1], password=cfg['pw'], db=1).get('py').decode()
a.set('py:w', 1)
out['wait'] = a.wait(1, 5000)
a.set('py:short', 'x', px=300)
while b.get('py:short') is None and time.time() < deadline: time.sleep(0.02)
out['short_seen'] = b.get('py:short') == b'x'
while b.get('py:short') is not None and time.time() < deadline + 5: time.sleep(0.02)
out['short_gone'] = b.get('py:short') is None
try:
    redis.Redis(host=cfg['a'][0], port=cfg['a'][1], password='wrong').ping()
    out['auth'] = 'accepted'
except redis.exceptions.RedisError as e:
    out['auth'] = str(e)
try:
    redis.Redis(host=cfg['a'][0], port=cfg['a'][1]).get('x')
    out['noauth'] = 'accepted'
except redis.exceptions.RedisError as e:
    out['noauth'] = str(e)
out['incr'] = [a.incr('py:n'), a.incrby('py:n', 41)]
print(json.dumps(out))
`

describe('redis-py', () => {
  it('sets on one region, reads on the other, pipelines, scans, waits, expires, authenticates', async () => {
    const script = join(dir, 'client.py')
    writeFileSync(script, PY)
    const cfg = {
      a: [address(a).host, address(a).port],
      b: [address(b).host, address(b).port],
      pw: PASSWORD,
    }
    const { stdout } = await run('/usr/bin/python3', [script, JSON.stringify(cfg)], {
      timeout: 30_000,
    })
    const out = JSON.parse(stdout) as Record<string, unknown>
    expect(out.same).toBe(true)
    expect(out.ttl).toBeGreaterThan(80)
    expect(out.ttl).toBeLessThanOrEqual(90)
    expect(out.pipeline).toBe(100)
    expect(out.scanned).toBe(100)
    expect(out.wait).toBe(1)
    expect(out.short_seen).toBe(true)
    expect(out.short_gone).toBe(true)
    expect(out.auth).toContain('invalid username-password pair')
    expect(out.noauth).toContain('Authentication required')
    expect(out.incr).toEqual([1, 42])
    // SELECT 1 is keyspace sessions, where prefix routing put sessions:py.
    expect(out.selected).toBe('tok')
  })
})

describe('ioredis', () => {
  it('sets on one region, reads on the other, pipelines, scans, selects, waits', async () => {
    const ra = new Redis({ ...address(a), password: PASSWORD, lazyConnect: true })
    const rb = new Redis({ ...address(b), password: PASSWORD, lazyConnect: true, db: 1 })
    try {
      await ra.connect()
      await rb.connect()
      const value = randomBytes(2048)
      expect(await ra.set('sessions:io', value, 'PX', 60_000)).toBe('OK')
      // Database 1 of eu-west is keyspace `sessions`: the routed key without its prefix.
      await waitFor(async () => (await rb.getBuffer('io')) !== null, 'replicated')
      expect((await rb.getBuffer('io'))!.equals(value)).toBe(true)
      const pttl = await rb.pttl('io')
      expect(pttl).toBeGreaterThan(50_000)
      expect(pttl).toBeLessThanOrEqual(60_000)
      const http = await httpBytes(b, '/v1/sessions/io')
      expect(http.body.equals(value)).toBe(true)
      const p = ra.pipeline()
      for (let i = 0; i < 100; i++) p.set(`io:p:${i}`, String(i))
      const results = await p.exec()
      expect(results!.filter(([err, r]) => err === null && r === 'OK')).toHaveLength(100)
      const keys = new Set<string>()
      await new Promise<void>((resolve, reject) => {
        ra.scanStream({ match: 'io:p:*', count: 10 })
          .on('data', (batch: string[]) => {
            for (const k of batch) keys.add(k)
          })
          .on('end', () => resolve())
          .on('error', reject)
      })
      expect(keys.size).toBe(100)
      await ra.set('io:w', '1')
      expect(await ra.wait(1, 5000)).toBe(1)
      await expect(ra.call('NOPE')).rejects.toThrow("ERR unknown command 'NOPE'")
    } finally {
      ra.disconnect()
      rb.disconnect()
    }
  })
})

describe('node-redis (RESP3)', () => {
  it('sets on one region, reads on the other, pipelines, scans, waits, expires', async () => {
    const ca = createClient({ socket: { ...address(a) }, password: PASSWORD, RESP: 3 })
    const cb = createClient({ socket: { ...address(b) }, password: PASSWORD, RESP: 3 })
    ca.on('error', () => {})
    cb.on('error', () => {})
    await ca.connect()
    await cb.connect()
    try {
      expect(await ca.set('nr:k', 'héllo', { EX: 100 })).toBe('OK')
      await waitFor(async () => (await cb.get('nr:k')) !== null, 'replicated')
      expect(await cb.get('nr:k')).toBe('héllo')
      expect(await cb.ttl('nr:k')).toBeGreaterThan(90)
      expect(await cb.get('nr:missing')).toBeNull()
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => ca.set(`nr:p:${i}`, String(i))),
      )
      expect(replies.every((r) => r === 'OK')).toBe(true)
      const keys = new Set<string>()
      for await (const batch of ca.scanIterator({ MATCH: 'nr:p:*', COUNT: 10 })) {
        for (const k of batch as unknown as string[]) keys.add(k)
      }
      expect(keys.size).toBe(100)
      await ca.set('nr:w', '1')
      expect(await ca.wait(1, 5000)).toBe(1)
      await ca.set('nr:short', 'x', { PX: 200 })
      await waitFor(async () => (await cb.get('nr:short')) === null, 'expired on the other node')
    } finally {
      await ca.quit().catch(() => undefined)
      await cb.quit().catch(() => undefined)
    }
  })
})
