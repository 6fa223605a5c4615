/**
 * bench:resp: the node's RESP listener against redis-server on the same machine, in the
 * same run, with redis-benchmark (`-t set,get -n 200000 -c 50`, then with `-P 16`), and
 * the node's own HTTP API at the same concurrency (wrk, or a Node keep-alive client when
 * wrk is missing). Each server runs in its own process on its own 127.0.8.x address;
 * redis-server without persistence. Per run: requests per second, p50/p99 latency and
 * the server's CPU time per request (from /proc: the figure least disturbed by other work
 * on the machine). Rounds alternate the targets; the table keeps each one's best round.
 *
 * The node runs from `dist/` (built first), as `meshcache node` runs once installed.
 * Run: npm run bench:resp   (env REQUESTS, CLIENTS, ROUNDS, HTTP_SECONDS; PROFILE=1 writes
 * a CPU profile of the node to bench/results/resp-profile/)
 */
import { type ChildProcess, execFileSync, execSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BenchRow, report } from './harness.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const REQUESTS = Number(process.env.REQUESTS ?? 200_000)
const CLIENTS = Number(process.env.CLIENTS ?? 50)
const ROUNDS = Number(process.env.ROUNDS ?? 2)
const HTTP_SECONDS = Number(process.env.HTTP_SECONDS ?? 5)
const PROFILE = process.env.PROFILE === '1'
const REDIS = { host: '127.0.8.1', port: 6379 }
const NODE = { host: '127.0.8.2', resp: 6379, http: 8080 }
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100

function ensureTools(): void {
  const missing = ['redis-server', 'redis-benchmark'].filter((t) => {
    try {
      execSync(`command -v ${t}`, { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  if (missing.length === 0) return
  console.log(`${missing.join(', ')} missing: installing redis-server and redis-tools (apt-get)`)
  execSync(
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools',
    { stdio: 'inherit' },
  )
}

const hasWrk = (() => {
  try {
    execSync('command -v wrk', { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** CPU time (user + system) of a process so far, ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitForPing(host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (
        execFileSync('redis-cli', ['-h', host, '-p', String(port), 'ping'])
          .toString()
          .includes('PONG')
      )
        return
    } catch {}
    await sleep(100)
  }
  throw new Error(`nothing answers PING on ${host}:${port}`)
}

function startRedis(): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--bind',
      REDIS.host,
      '--port',
      String(REDIS.port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore' },
  )
}

async function startNode(profileDir: string | undefined): Promise<ChildProcess> {
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
  const proc = spawn(
    process.execPath,
    [
      ...prof,
      // The compiled CLI, as users run it (tsx would add its own helpers to hot closures).
      'bin/meshcache.js',
      'node',
      '--region',
      'bench',
      '--listen',
      `/ip4/${NODE.host}/tcp/0`,
      '--http',
      `${NODE.host}:${NODE.http}`,
      '--resp',
      `${NODE.host}:${NODE.resp}`,
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (/^ready /m.test(out)) resolve()
    })
    proc.once('exit', (code) => reject(new Error(`meshcache node exited with ${code}:\n${out}`)))
  })
  return proc
}

interface Run {
  rps: number
  p50: number
  p99: number
  cpuUsPerRequest: number
}

/** One redis-benchmark test against host:port; the server's CPU measured around it. */
function redisBenchmark(
  host: string,
  port: number,
  test: string,
  pipeline: number,
  pid: number,
): Run {
  const before = cpuMs(pid)
  const csv = execFileSync(
    'redis-benchmark',
    [
      '-h',
      host,
      '-p',
      String(port),
      '-t',
      test,
      '-n',
      String(REQUESTS),
      '-c',
      String(CLIENTS),
      '-P',
      String(pipeline),
      '--csv',
    ],
    { maxBuffer: 1 << 20 },
  ).toString()
  const cpu = cpuMs(pid) - before
  const line = csv.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`))
  if (!line) throw new Error(`no ${test} line in redis-benchmark output:\n${csv}`)
  const cells = line.split(',').map((c) => Number(c.replaceAll('"', '')))
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  return {
    rps: cells[1]!,
    p50: cells[4]!,
    p99: cells[6]!,
    cpuUsPerRequest: (cpu * 1000) / REQUESTS,
  }
}

const PUT_SCRIPT = `wrk.method = "PUT"\nwrk.body = "xxx"\nwrk.headers["content-type"] = "application/octet-stream"\n`

/** The HTTP API at the same concurrency: wrk for HTTP_SECONDS, or a Node client for REQUESTS. */
async function httpBench(test: 'set' | 'get', pid: number): Promise<Run> {
  const path = '/v1/default/key:__rand_int__'
  const before = cpuMs(pid)
  if (hasWrk) {
    const dir = join(tmpdir(), 'meshcache-bench-resp')
    mkdirSync(dir, { recursive: true })
    const script = join(dir, 'put.lua')
    writeFileSync(script, PUT_SCRIPT)
    const out = execFileSync('wrk', [
      '-t1',
      `-c${CLIENTS}`,
      `-d${HTTP_SECONDS}s`,
      '--latency',
      ...(test === 'set' ? ['-s', script] : []),
      `http://${NODE.host}:${NODE.http}${path}`,
    ]).toString()
    const cpu = cpuMs(pid) - before
    const num = (re: RegExp) => Number(re.exec(out)?.[1])
    const ms = (re: RegExp) => {
      const m = re.exec(out)
      if (!m) return Number.NaN
      const v = Number(m[1])
      return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v
    }
    const total = num(/(\d+) requests in/)
    if (/Non-2xx/.test(out)) throw new Error(`HTTP ${test} answered errors:\n${out}`)
    return {
      rps: num(/Requests\/sec:\s+([\d.]+)/),
      p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
      p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
      cpuUsPerRequest: (cpu * 1000) / total,
    }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  const latencies: number[] = []
  let next = 0
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t = performance.now()
      const req = request(
        {
          agent,
          host: NODE.host,
          port: NODE.http,
          path,
          method: test === 'set' ? 'PUT' : 'GET',
          headers: test === 'set' ? { 'content-type': 'application/octet-stream' } : {},
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            latencies.push(performance.now() - t)
            resolve()
          })
        },
      )
      req.on('error', reject)
      req.end(test === 'set' ? 'xxx' : undefined)
    })
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next++ < REQUESTS) await one()
    }),
  )
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  const cpu = cpuMs(pid) - before
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / seconds,
    p50: latencies[Math.floor(latencies.length / 2)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    cpuUsPerRequest: (cpu * 1000) / latencies.length,
  }
}

ensureTools()
console.log('building dist/ (npm run build)')
execSync('npm run build', { cwd: ROOT, stdio: 'ignore' })
const profileDir = PROFILE ? join(ROOT, 'bench/results/resp-profile') : undefined
if (profileDir) rmSync(profileDir, { recursive: true, force: true })
const redis = startRedis()
let node: ChildProcess | undefined
const best = new Map<string, Run & { target: string; test: string; pipeline: number }>()
const keep = (target: string, test: string, pipeline: number, run: Run) => {
  const id = `${target} ${test} P${pipeline}`
  const prev = best.get(id)
  if (prev === undefined || run.rps > prev.rps) best.set(id, { target, test, pipeline, ...run })
  console.log(
    `${id.padEnd(24)} ${run.rps.toFixed(0).padStart(8)} req/s  p50 ${run.p50.toFixed(3)} ms  p99 ${run.p99.toFixed(3)} ms  cpu ${run.cpuUsPerRequest.toFixed(2)} us/req`,
  )
}
try {
  await waitForPing(REDIS.host, REDIS.port)
  node = await startNode(profileDir)
  await waitForPing(NODE.host, NODE.resp)
  console.log(
    `redis-benchmark -n ${REQUESTS} -c ${CLIENTS}; HTTP with ${hasWrk ? `wrk -t1 -c${CLIENTS} -d${HTTP_SECONDS}s` : 'a Node keep-alive client'}; ${ROUNDS} rounds`,
  )
  for (let round = 0; round < ROUNDS; round++) {
    for (const pipeline of [1, 16]) {
      for (const test of ['set', 'get']) {
        keep(
          'redis-server',
          test,
          pipeline,
          redisBenchmark(REDIS.host, REDIS.port, test, pipeline, redis.pid!),
        )
        keep(
          'meshcache RESP',
          test,
          pipeline,
          redisBenchmark(NODE.host, NODE.resp, test, pipeline, node.pid!),
        )
      }
    }
    for (const test of ['set', 'get'] as const)
      keep('meshcache HTTP', test, 1, await httpBench(test, node.pid!))
  }
} finally {
  redis.kill('SIGTERM')
  if (node) {
    const exited = new Promise((r) => node!.once('exit', r))
    node.kill('SIGINT')
    await exited
  }
}

const rows: BenchRow[] = [...best.values()].map((r) => ({
  name: `${r.target} ${r.test.toUpperCase()}${r.pipeline > 1 ? ` -P ${r.pipeline}` : ''}`,
  'req/s': Math.round(r.rps),
  'p50 ms': r.p50,
  'p99 ms': r.p99,
  'cpu us/req': r.cpuUsPerRequest,
}))
const get = (target: string, test: string, pipeline: number) =>
  best.get(`${target} ${test} P${pipeline}`)!
const ratios: Record<string, number> = {}
const targets: Record<string, { ratio: number; target: number; met: boolean }> = {}
for (const test of ['set', 'get']) {
  for (const pipeline of [1, 16]) {
    const r = get('meshcache RESP', test, pipeline).rps / get('redis-server', test, pipeline).rps
    const goal = pipeline === 1 ? 0.75 : 0.5
    targets[`${test} P${pipeline} throughput vs redis`] = { ratio: r, target: goal, met: r >= goal }
  }
  const p50 = get('meshcache RESP', test, 1).p50 / get('redis-server', test, 1).p50
  targets[`${test} p50 vs redis`] = { ratio: p50, target: 1.3, met: p50 <= 1.3 }
  const http = get('meshcache RESP', test, 1).rps / get('meshcache HTTP', test, 1).rps
  targets[`${test} RESP vs HTTP throughput`] = { ratio: http, target: 2, met: http >= 2 }
}
for (const [k, v] of Object.entries(targets)) ratios[k] = Math.round(v.ratio * 100) / 100
report('bench:resp (best round of each)', rows, join(ROOT, 'bench/results/resp.json'), {
  command: `redis-benchmark -t set,get -n ${REQUESTS} -c ${CLIENTS} [-P 16]`,
  http: hasWrk ? `wrk -t1 -c${CLIENTS} -d${HTTP_SECONDS}s` : 'node keep-alive client',
  ratios,
  targets,
})
console.log('\nratios (target):')
for (const [k, v] of Object.entries(targets)) {
  console.log(
    `  ${k.padEnd(36)} ${v.ratio.toFixed(2)}  (${k.includes('p50') ? '<=' : '>='} ${v.target})  ${v.met ? 'met' : 'MISSED'}`,
  )
}
if (profileDir && existsSync(profileDir)) console.log(`\nCPU profile of the node: ${profileDir}`)
