/**
 * HTTP request overhead of the sidecar's API: the server of a baseline commit (the
 * hand-written node:http server, before fastify) against the current one, in the same
 * run, each in its own child process, alternating rounds. The client keeps `CONCURRENCY`
 * requests in flight over keep-alive connections on loopback and sends `COUNT` GETs (hits
 * of 100-byte JSON values) then `COUNT` PUTs (same values, `ttl=5m`).
 *
 * Run: node --import tsx bench/http.ts   (env COUNT, CONCURRENCY, ROUNDS, BASELINE=<git ref>)
 * Not an npm script on purpose: it is a one-off measurement, see docs/decisions/http-api.md.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COUNT = Number(process.env.COUNT ?? 20_000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
/** The commit whose `src/http/http-api.ts` is the baseline (the last hand-written server). */
const BASELINE = process.env.BASELINE ?? 'b214a2b'
const KEYS = 1_000
const VALUE = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['a', 'b'], n: 42 }

/** Child: serve a fresh cache with the `startHttpApi` of `modulePath`; print the URL. */
async function serve(modulePath: string): Promise<void> {
  const { createCache } = await import('../src/node/create-cache.js')
  const mod = (await import(pathToFileURL(modulePath).href)) as {
    startHttpApi: (c: unknown, o: object) => Promise<{ url: string }>
  }
  const cache = await createCache()
  for (let i = 0; i < KEYS; i++) await cache.keyspace('bench').set(`k${i}`, VALUE, { ttl: '1h' })
  const api = await mod.startHttpApi(cache, { host: '127.0.0.1', port: 0 })
  // The parent asks for this process's CPU time around each run: CPU per request is the
  // overhead figure least disturbed by other work on the machine.
  createInterface({ input: process.stdin }).on('line', () => {
    const u = process.cpuUsage()
    process.stdout.write(`${u.user + u.system}\n`)
  })
  process.stdout.write(`${api.url}\n`)
}

/** Copies the baseline server out of git, imports rewritten to point at today's src/. */
function baselineModule(dir: string): string {
  const show = (path: string) => execFileSync('git', ['show', `${BASELINE}:${path}`], { cwd: ROOT })
  const rewrite = (text: string) =>
    text.replaceAll(/from '\.\.\/([^']+)'/g, (_m, p: string) => `from '${join(ROOT, 'src', p)}'`)
  writeFileSync(join(dir, 'metrics.ts'), rewrite(show('src/http/metrics.ts').toString()))
  const file = join(dir, 'http-api.ts')
  writeFileSync(file, rewrite(show('src/http/http-api.ts').toString()))
  return file
}

interface Server {
  url: string
  /** CPU time (user + system) the server process used so far, us. */
  cpu: () => Promise<number>
  stop: () => void
}

function startServer(modulePath: string): Promise<Server> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), modulePath],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: proc.stdout! })
  const nextLine = () => new Promise<string>((resolve) => lines.once('line', resolve))
  const cpu = async () => {
    const line = nextLine()
    proc.stdin!.write('cpu\n')
    return Number(await line)
  }
  return new Promise((resolve, reject) => {
    nextLine().then((url) => resolve({ url, cpu, stop: () => proc.kill('SIGKILL') }))
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
}

interface Run {
  /** Requests per second seen by the client. */
  rate: number
  /** Server CPU per request, us. */
  cpuUs: number
}

async function measure(server: Server, method: 'GET' | 'PUT'): Promise<Run> {
  const before = await server.cpu()
  const rate = await load(server.url, method, COUNT)
  const cpuUs = ((await server.cpu()) - before) / COUNT
  return { rate, cpuUs }
}

/** Sends `count` requests, `CONCURRENCY` at a time; returns requests per second. */
async function load(url: string, method: 'GET' | 'PUT', count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const { hostname, port } = new URL(url)
  const body = JSON.stringify(VALUE)
  let next = 0
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          agent,
          hostname,
          port,
          method,
          path: `/v1/bench/k${i % KEYS}${method === 'PUT' ? '?ttl=5m' : ''}`,
          headers: method === 'PUT' ? { 'content-type': 'application/json' } : {},
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`${method} answered ${res.statusCode}`))
          res.resume()
          res.on('end', resolve)
        },
      )
      req.on('error', reject)
      req.end(method === 'PUT' ? body : undefined)
    })
  const worker = async () => {
    while (next < count) await one(next++)
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - start) / 1_000
  agent.destroy()
  return count / seconds
}

async function main(): Promise<void> {
  // Inside the project so the copy resolves its packages; node_modules/ is not versioned.
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true })
  const dir = mkdtempSync(join(ROOT, 'node_modules/.cache/meshcache-bench-http-'))
  const servers = {
    baseline: baselineModule(dir),
    current: join(ROOT, 'src/http/http-api.ts'),
  }
  const runs: Record<string, { GET: Run[]; PUT: Run[] }> = {
    baseline: { GET: [], PUT: [] },
    current: { GET: [], PUT: [] },
  }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['baseline', 'current'] as const) {
        const server = await startServer(servers[name])
        try {
          await load(server.url, 'GET', COUNT / 4) // warm-up (JIT, connections)
          await load(server.url, 'PUT', COUNT / 4)
          runs[name]!.GET.push(await measure(server, 'GET'))
          runs[name]!.PUT.push(await measure(server, 'PUT'))
        } finally {
          server.stop()
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(
    `HTTP API overhead: ${COUNT} requests per run, ${CONCURRENCY} in flight, ${ROUNDS} rounds, baseline ${BASELINE}`,
  )
  for (const method of ['GET', 'PUT'] as const) {
    const b = runs.baseline![method]
    const c = runs.current![method]
    const rate = (xs: Run[]) => median(xs.map((r) => r.rate))
    const cpu = (xs: Run[]) => median(xs.map((r) => r.cpuUs))
    const best = (xs: Run[]) => Math.min(...xs.map((r) => r.cpuUs))
    console.log(
      `${method}: server CPU per request, median: baseline ${cpu(b).toFixed(1)} us, current ${cpu(c).toFixed(1)} us (ratio ${(cpu(c) / cpu(b)).toFixed(2)}x); ` +
        `best run: ${best(b).toFixed(1)} us, ${best(c).toFixed(1)} us (ratio ${(best(c) / best(b)).toFixed(2)}x); ` +
        `throughput baseline ${rate(b).toFixed(0)} req/s, current ${rate(c).toFixed(0)} req/s (time per request ratio ${(rate(b) / rate(c)).toFixed(2)}x)`,
    )
    console.log(
      `  runs (req/s, us CPU): baseline ${b.map((r) => `${r.rate.toFixed(0)}/${r.cpuUs.toFixed(1)}`).join(' ')}; current ${c.map((r) => `${r.rate.toFixed(0)}/${r.cpuUs.toFixed(1)}`).join(' ')}`,
    )
  }
}

const servePath = process.argv[2]
if (servePath) await serve(servePath)
else await main()
