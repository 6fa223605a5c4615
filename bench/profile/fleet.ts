/**
 * A fleet of headless `meshcache node` processes (the built CLI, bin/meshcache.js) on
 * loopback, in R regions, all joining through one bootstrap peer; measures, per phase:
 * - join: time until every node knows every member and its planned links are up
 *   (`stats().mesh.links` against `stats().mesh.peers`, polled once a second);
 * - idle: CPU (% of a core, /proc/PID/stat) and RSS per node process over a window;
 * - recv-a / recv-b / recv-c: writes over HTTP from this process (one writer at 500/s;
 *   every node at 100/s mesh-wide; 100 writers x 5/s spread over the nodes; one writer of
 *   10 :mset calls of 50 entries a second, for large batches): CPU per
 *   received write per node above idle, batches and records received per second.
 * Chosen nodes run with bench/profile/probe.mjs: CPU profiles and counters per phase.
 * Writes OUT/fleet.json (and the probes' files); docs/profiles/ reads them.
 *
 * Run: node --import tsx bench/profile/fleet.ts --n 8 --out /tmp/fleet8
 *   [--regions 4] [--phases join,idle,recv-a,recv-b,recv-c] [--idle-s 25] [--load-s 20]
 *   [--profile-join IDX] [--profile-idle IDX] [--profile-recv IDX] (default: N-1, 1, N-1)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = process.execPath
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : dflt
}
const N = Number(arg('n', '8'))
const REGIONS = Number(arg('regions', '4'))
const OUT = arg('out', `/tmp/fleet${N}`)
const PHASES = arg('phases', 'join,idle,recv-a,recv-b,recv-c,recv-d').split(',')
const IDLE_S = Number(arg('idle-s', '25'))
const LOAD_S = Number(arg('load-s', '20'))
const SETTLE_S = Number(arg('settle-s', '10'))
const PROF_JOIN = Number(arg('profile-join', String(N - 1)))
const PROF_IDLE = Number(arg('profile-idle', '1'))
const PROF_RECV = Number(arg('profile-recv', String(N - 1)))
const NET = Number(arg('net', String(150 + Math.floor(Math.random() * 50))))
const PORT = 30_000 + Math.floor(Math.random() * 20_000)
const TICK = Number(process.env.CLK_TCK ?? 100)
mkdirSync(OUT, { recursive: true })

const log = (s: string) =>
  console.log(
    `[${new Date().toISOString().slice(11, 19)}] ${s} (load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
  )

interface Fleet {
  idx: number
  region: string
  ip: string
  proc: ChildProcess
  http: string
  ctl: string
  probed: boolean
  peerId?: string
}

const regionOf = (i: number) => `r${i % REGIONS}`
const ipOf = (i: number) => `127.0.${NET}.${10 + i}`
const nodes: Fleet[] = []

function spawnNode(i: number, peers: string[]): Fleet {
  const ip = ipOf(i)
  const ctl = `${OUT}/ctl-${i}`
  writeFileSync(ctl, '')
  const probed = [0, PROF_JOIN, PROF_IDLE, PROF_RECV].includes(i)
  const pre = probed ? ['--import', './bench/profile/probe.mjs'] : []
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: '' }
  if (probed) {
    Object.assign(env, { PROBE_DIR: OUT, PROBE_CTL: ctl, PROBE_PROFILE: '1' })
    // Timer sites and wake-ups: the idle node only (the hook costs under load).
    if (i === PROF_IDLE && i !== PROF_RECV && i !== PROF_JOIN) env.PROBE_HOOKS = '1'
    if (i === PROF_JOIN && PHASES.includes('join')) env.PROBE_PROFILE_START = `join-node${i}`
  }
  const out = openSync(`${OUT}/node-${i}.log`, 'w')
  const proc = spawn(
    NODE,
    [
      ...pre,
      'bin/meshcache.js',
      'node',
      '--region',
      regionOf(i),
      '--listen',
      `/ip4/${ip}/tcp/${PORT}`,
      '--http',
      `${ip}:${PORT + 1}`,
      ...(peers.length ? ['--peer', peers.join(',')] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', out, out], env },
  )
  return { idx: i, region: regionOf(i), ip, proc, http: `http://${ip}:${PORT + 1}`, ctl, probed }
}

async function readyLine(
  i: number,
  timeoutMs = 120_000,
): Promise<{ peerId: string; addresses: string[] }> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const m = /^ready (.+)$/m.exec(readFileSync(`${OUT}/node-${i}.log`, 'utf8'))
    if (m) return JSON.parse(m[1]!)
    await sleep(100)
  }
  throw new Error(`node ${i} not ready:\n${readFileSync(`${OUT}/node-${i}.log`, 'utf8')}`)
}

// biome-ignore lint/suspicious/noExplicitAny: the /status JSON
type Status = any
async function status(n: Fleet): Promise<Status | undefined> {
  try {
    const r = await fetch(`${n.http}/status`, { signal: AbortSignal.timeout(5_000) })
    return r.ok ? await r.json() : undefined
  } catch {
    return undefined
  }
}

/** Sends a probe command (`start LABEL` / `stop LABEL`) to a probed node. */
async function probe(n: Fleet, cmd: string): Promise<void> {
  if (!n.probed) return
  writeFileSync(n.ctl, cmd)
  n.proc.kill('SIGUSR2')
  await sleep(cmd.startsWith('stop') ? 1_500 : 200)
}

interface ProcSample {
  ticks: number
  rssKiB: number
  rchar: number
  wchar: number
  ctxVol: number
  ctxInvol: number
}
function sample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields after the name: state(0) ... utime(11) stime(12)
  const ticks = Number(f[11]) + Number(f[12])
  const st = readFileSync(`/proc/${pid}/status`, 'utf8')
  const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? 0)
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  const ionum = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(io)?.[1] ?? 0)
  return {
    ticks,
    rssKiB: num('VmRSS'),
    rchar: ionum('rchar'),
    wchar: ionum('wchar'),
    ctxVol: num('voluntary_ctxt_switches'),
    ctxInvol: num('nonvoluntary_ctxt_switches'),
  }
}
const sampleAll = () => nodes.map((n) => sample(n.proc.pid!))

const counters = async () =>
  Promise.all(nodes.map(async (n) => (await status(n))?.mesh?.replication ?? {}))

const results: Record<string, unknown> = {
  n: N,
  regions: REGIONS,
  machine: { cores: 2, node: process.version },
  started: new Date().toISOString(),
}

function perNodeCpu(a: ProcSample[], b: ProcSample[], ms: number) {
  return a.map((x, i) => (100 * ((b[i]!.ticks - x.ticks) * (1000 / TICK))) / ms)
}
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : Number.NaN
}

// ---- start and join ------------------------------------------------------------------
process.on('exit', () => {
  for (const n of nodes) n.proc.kill('SIGKILL')
})
process.on('SIGINT', () => process.exit(1))

log(`N=${N} in ${REGIONS} regions on 127.0.${NET}.x:${PORT}; out ${OUT}`)
nodes.push(spawnNode(0, []))
const seed = await readyLine(0)
const seedAddr = seed.addresses.find((a) => a.includes(ipOf(0)))!
nodes[0]!.peerId = seed.peerId
const t0 = performance.now()
const seedJoin0 = sample(nodes[0]!.proc.pid!)
await probe(nodes[0]!, 'start join-seed')
for (let i = 1; i < N; i++) nodes.push(spawnNode(i, [seedAddr]))
log(`seed ready; ${N - 1} joiners spawned at once`)
const readyAt: number[] = []
await Promise.all(
  nodes.slice(1).map(async (n) => {
    n.peerId = (await readyLine(n.idx)).peerId
    readyAt[n.idx] = performance.now() - t0
  }),
)
const allProcReadyMs = Math.max(...readyAt.filter((x) => x !== undefined))
log(`all processes ready (listening, HTTP up) in ${(allProcReadyMs / 1000).toFixed(1)} s`)

const joinedAt: (number | undefined)[] = []
const joinTrace: { s: number; membersMin: number; linksMissing: number; conns: number }[] = []
const JOIN_TIMEOUT = 240_000
let joinedMs: number | undefined
while (performance.now() - t0 < JOIN_TIMEOUT) {
  const st = await Promise.all(nodes.map(status))
  let membersMin = Number.POSITIVE_INFINITY
  let linksMissing = 0
  let conns = 0
  st.forEach((s, i) => {
    const links = s?.mesh?.links
    const peers = new Set<string>((s?.mesh?.peers ?? []).map((p: { id: string }) => p.id))
    conns += peers.size
    const planned: string[] = links
      ? [...links.local, ...Object.values<string[]>(links.remote).flat()]
      : []
    const missing = planned.filter((id) => !peers.has(id)).length
    const members = links?.members ?? 0
    membersMin = Math.min(membersMin, members)
    linksMissing += links ? missing : N
    if (links && members >= N && missing === 0) joinedAt[i] ??= performance.now() - t0
    else joinedAt[i] = undefined
  })
  joinTrace.push({
    s: +((performance.now() - t0) / 1000).toFixed(1),
    membersMin,
    linksMissing,
    conns,
  })
  if (joinedAt.filter((x) => x !== undefined).length === N) {
    joinedMs = performance.now() - t0
    break
  }
  await sleep(1_000)
}
log(
  `joined: ${joinedMs === undefined ? 'NOT within the timeout' : `${(joinedMs / 1000).toFixed(1)} s`}`,
)
// CPU from spawn (joiners: their whole life, start-up included) to joined.
const joinCpuMs = nodes.map((n, i) => {
  const ticks = sample(n.proc.pid!).ticks - (i === 0 ? seedJoin0.ticks : 0)
  return ticks * (1000 / TICK)
})
await probe(nodes[0]!, 'stop join-seed')
const joiner = nodes[PROF_JOIN]
if (joiner && PHASES.includes('join')) await probe(joiner, `stop join-node${PROF_JOIN}`)
{
  const st = await Promise.all(nodes.map(status))
  const degree = st.map((s) => s?.mesh?.peers?.length ?? 0)
  results.join = {
    processesReadyMs: allProcReadyMs,
    joinedMs,
    medianNodeJoinedMs: median(joinedAt.filter((x): x is number => x !== undefined)),
    connsMean: mean(degree),
    connsMin: Math.min(...degree),
    connsMax: Math.max(...degree),
    cpuMsSeed: joinCpuMs[0],
    cpuMsPerJoinerMean: mean(joinCpuMs.slice(1).filter((_, k) => !nodes[k + 1]!.probed)),
    cpuMsPerJoiner: joinCpuMs.slice(1),
    trace: joinTrace,
    load: loadavg(),
  }
}

// ---- idle ----------------------------------------------------------------------------
async function idle(label: string): Promise<{ cpu: number[]; ms: number }> {
  log(`${label}: settling ${SETTLE_S} s`)
  await sleep(SETTLE_S * 1_000)
  const c0 = await counters()
  const idleNode = nodes[PROF_IDLE]!
  await probe(idleNode, `start ${label}-node${PROF_IDLE}`)
  const load0 = loadavg()
  const a = sampleAll()
  const t = performance.now()
  await sleep(IDLE_S * 1_000)
  const b = sampleAll()
  const ms = performance.now() - t
  const load1 = loadavg()
  await probe(idleNode, `stop ${label}-node${PROF_IDLE}`)
  const c1 = await counters()
  const cpu = perNodeCpu(a, b, ms)
  const clean = cpu.filter((_, i) => !nodes[i]!.probed)
  const diff = (k: string) =>
    c1.map(
      (x: Record<string, number>, i) => (x[k] ?? 0) - ((c0[i] as Record<string, number>)[k] ?? 0),
    )
  results[label] = {
    ms,
    load: [load0, load1],
    cpuPctPerNode: cpu,
    cpuPctMeanUnprobed: mean(clean),
    cpuPctMedianUnprobed: median(clean),
    cpuPctSumAll: cpu.reduce((s, x) => s + x, 0),
    rssMiB: b.map((x) => x.rssKiB / 1024),
    rssMiBMean: mean(b.map((x) => x.rssKiB / 1024)),
    readBytesPerS: mean(b.map((x, i) => ((x.rchar - a[i]!.rchar) * 1000) / ms)),
    writeBytesPerS: mean(b.map((x, i) => ((x.wchar - a[i]!.wchar) * 1000) / ms)),
    ctxSwitchesPerS: mean(
      b.map((x, i) => ((x.ctxVol + x.ctxInvol - a[i]!.ctxVol - a[i]!.ctxInvol) * 1000) / ms),
    ),
    syncSessionsPerNodePerS: mean(diff('syncSessions')) / (ms / 1000),
    syncBytesOutPerNodePerS: mean(diff('syncBytesOut')) / (ms / 1000),
  }
  log(
    `${label}: CPU per node ${mean(clean).toFixed(2)} % of a core (median ${median(clean).toFixed(2)}), all ${cpu
      .reduce((s, x) => s + x, 0)
      .toFixed(1)} %, RSS ${mean(b.map((x) => x.rssKiB / 1024)).toFixed(0)} MiB`,
  )
  return { cpu, ms }
}

// ---- receive -------------------------------------------------------------------------
const VALUE = JSON.stringify({
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  tags: ['a', 'b'],
})

/**
 * Few keep-alive sockets per node: a node that falls behind queues requests here
 * instead of being handed a new connection per request.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 4 })
function put(url: string, method: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent, headers: { 'content-type': 'application/json' }, timeout: 30_000 },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.end(body)
  })
}

/** A writer: node index, requests per second, entries per request (1: PUT; more: :mset). */
interface Writer {
  node: number
  rate: number
  per?: number
}

/** Writers paced per 10 ms tick. */
async function writeLoad(
  label: string,
  writers: Writer[],
  ms: number,
): Promise<{
  sent: number
  ok: number
  failed: number
  why: Record<string, number>
  intended: number
}> {
  const state = writers.map((w, k) => ({ ...w, k, done: 0, phase: Math.random() }))
  let ok = 0
  let failed = 0
  let sent = 0
  const why: Record<string, number> = {}
  const inflight = new Set<Promise<void>>()
  const start = performance.now()
  while (performance.now() - start < ms) {
    const el = (performance.now() - start) / 1000
    for (const w of state) {
      const due = Math.floor(el * w.rate + w.phase)
      while (w.done < due) {
        const key = `${label}:${w.k}:${w.done++}`
        const per = w.per ?? 1
        sent += per
        const url =
          per === 1
            ? `${nodes[w.node]!.http}/v1/default/${encodeURIComponent(key)}`
            : `${nodes[w.node]!.http}/v1/default:mset`
        const body =
          per === 1
            ? VALUE
            : `{"entries":[${Array.from({ length: per }, (_, j) => `{"key":"${key}:${j}","value":${VALUE}}`).join(',')}]}`
        const p = put(url, per === 1 ? 'PUT' : 'POST', body)
          .then((code) => {
            if (code >= 200 && code < 300) ok += per
            else {
              failed += per
              why[code] = (why[code] ?? 0) + 1
            }
          })
          .catch((err: NodeJS.ErrnoException) => {
            failed += per
            const k = err.code ?? err.name
            why[k] = (why[k] ?? 0) + 1
          })
          .finally(() => inflight.delete(p))
        inflight.add(p)
      }
    }
    await sleep(10)
  }
  await Promise.all(inflight)
  const intended = writers.reduce((x, w) => x + w.rate * (w.per ?? 1), 0) * (ms / 1000)
  return { sent, ok, failed, why, intended }
}

async function receive(label: string, writers: Writer[], idleCpu: number[]) {
  log(
    `${label}: ${writers.length} writers, ${writers.reduce((s, w) => s + w.rate * (w.per ?? 1), 0)} writes/s for ${LOAD_S} s`,
  )
  const recvNode = nodes[PROF_RECV]!
  const c0 = await counters()
  await probe(recvNode, `start ${label}-node${PROF_RECV}`)
  const a = sampleAll()
  const me0 = process.cpuUsage()
  const load0 = loadavg()
  const t = performance.now()
  const w = await writeLoad(label, writers, LOAD_S * 1_000)
  // Let the last batches land before the window closes.
  await sleep(1_000)
  const ms = performance.now() - t
  const b = sampleAll()
  const me = process.cpuUsage(me0)
  const load1 = loadavg()
  await probe(recvNode, `stop ${label}-node${PROF_RECV}`)
  const c1 = await counters()
  const cpu = perNodeCpu(a, b, ms)
  const writerNodes = new Set(writers.map((x) => x.node))
  const rows = nodes.map((n, i) => {
    const d = (k: string) =>
      ((c1[i] as Record<string, number>)[k] ?? 0) - ((c0[i] as Record<string, number>)[k] ?? 0)
    const recordsIn = d('recordsIn')
    const cpuAboveIdleMs = ((cpu[i]! - idleCpu[i]!) / 100) * ms
    return {
      idx: i,
      writer: writerNodes.has(i),
      probed: n.probed,
      cpuPct: cpu[i]!,
      idlePct: idleCpu[i]!,
      batchesInPerS: (d('batchesIn') * 1000) / ms,
      recordsInPerS: (recordsIn * 1000) / ms,
      recordsPerBatchIn: recordsIn / Math.max(1, d('batchesIn')),
      batchesOutPerS: (d('batchesOut') * 1000) / ms,
      recordsOut: d('recordsOut'),
      usPerReceivedWrite: recordsIn > 0 ? (cpuAboveIdleMs * 1000) / recordsIn : Number.NaN,
      readBytesPerS: ((b[i]!.rchar - a[i]!.rchar) * 1000) / ms,
      writeBytesPerS: ((b[i]!.wchar - a[i]!.wchar) * 1000) / ms,
      syncPulled: d('syncPulled'),
    }
  })
  const clean = rows.filter((r) => !r.probed)
  const recv = clean.filter((r) => !r.writer)
  // Aggregate over unprobed nodes: sum of CPU above idle over sum of records received
  // (a mean of per-node ratios is noisier at low rates).
  const agg = (rs: typeof rows) =>
    (rs.reduce((x, r) => x + ((r.cpuPct - r.idlePct) / 100) * ms, 0) * 1000) /
    Math.max(
      1,
      rs.reduce((x, r) => x + (r.recordsInPerS * ms) / 1000, 0),
    )
  const res = {
    ms,
    usPerReceivedWriteAggUnprobed: agg(clean),
    usPerReceivedWriteAggPureReceivers: recv.length ? agg(recv) : undefined,
    recordsInPerSMean: mean(clean.map((r) => r.recordsInPerS)),
    load: [load0, load1],
    writes: w,
    driverCpuPctOfCore: (100 * (me.user + me.system)) / 1000 / ms,
    rows,
    usPerReceivedWriteMeanUnprobed: mean(clean.map((r) => r.usPerReceivedWrite)),
    usPerReceivedWriteMeanPureReceivers: recv.length
      ? mean(recv.map((r) => r.usPerReceivedWrite))
      : undefined,
    batchesInPerSMean: mean(clean.map((r) => r.batchesInPerS)),
    recordsPerBatchInMean: mean(clean.map((r) => r.recordsPerBatchIn)),
  }
  results[label] = res
  log(
    `${label}: ${w.ok}/${w.sent} writes ok; µs per received write per node above idle: ${res.usPerReceivedWriteAggUnprobed.toFixed(0)} (pure receivers ${res.usPerReceivedWriteAggPureReceivers?.toFixed(0) ?? '-'}); records in ${res.recordsInPerSMean.toFixed(0)}/s/node; batches in ${res.batchesInPerSMean.toFixed(0)}/s/node, ${res.recordsPerBatchInMean.toFixed(2)} records each; driver ${res.driverCpuPctOfCore.toFixed(0)} % of a core`,
  )
}

let idleCpu: number[] = nodes.map(() => 0)
for (const phase of PHASES) {
  if (phase === 'join') continue
  if (phase.startsWith('idle')) idleCpu = (await idle(phase)).cpu
  const writersOf: Record<string, Writer[]> = {
    'recv-a': [{ node: 0, rate: 500 }],
    // Large batches: one writer, 10 :mset calls of 50 entries a second (per-record cost).
    'recv-d': [{ node: 0, rate: 10, per: 50 }],
    'recv-b': nodes.map((n) => ({ node: n.idx, rate: 100 / N })),
    'recv-c': Array.from({ length: 100 }, (_, k) => ({ node: k % N, rate: 5 })),
  }
  if (writersOf[phase]) {
    await receive(phase, writersOf[phase]!, idleCpu)
    await sleep(3_000)
  }
}

writeFileSync(`${OUT}/fleet.json`, `${JSON.stringify(results, null, 1)}\n`)
log('stopping')
await Promise.all(
  nodes.map(
    (n) =>
      new Promise<void>((r) => {
        if (n.proc.exitCode !== null) return r()
        n.proc.once('exit', () => r())
        n.proc.kill('SIGTERM')
        setTimeout(() => n.proc.kill('SIGKILL'), 5_000).unref()
      }),
  ),
)
process.exit(0)
