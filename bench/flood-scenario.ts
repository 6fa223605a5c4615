/**
 * The outsider flood of issue 23 (item 4) against real `meshcache node` processes: a
 * private node A and an honest peer B (both with the network key, each on its own
 * 127.0.x.y), and an attacker process without the key (`flood-attacker.ts`) that
 *
 * 1. streams random bytes into A's libp2p port over many connections at once, while B
 *    writes and A's `/health/live` is probed: RSS growth, health latency and replication
 *    lag are measured during the flood;
 * 2. then holds idle connections open (reopening those cut) while a third node C starts
 *    with A as its bootstrap peer: the time from C's `ready` line until A and C list
 *    each other as peers is the join time;
 * 3. stops, and A's RSS is read again `settleMs` after the flood ended.
 *
 * Used by `npm run bench:flood` (the red team's shape) and, scaled down, by
 * test/process/pnet-flood.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kill9, type NodeProcess, spawnNode } from '../scripts/cli-process.js'
import { createNetworkKey } from '../src/mesh/network-key.js'
import type { AttackCommand, AttackReport, AttackStats } from './flood-attacker.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The shape of a flood. */
export interface FloodOptions {
  /** Nodes listen on 127.0.<subnet>.1-3, the attacker's sources are 127.0.<subnet + 1>.*. */
  subnet: number
  /** Source addresses the attacker spreads its connections over. */
  sources: number
  /** The streaming phase (see flood-attacker.ts). */
  stream: {
    slots: number
    perConnectionBytes: number
    totalBytes: number
    maxMs: number
    reopenMs: number
  }
  /** The probes go on this long after the streaming phase (the node digesting it), ms. */
  aftermathMs: number
  /** Idle connections held while C joins; each one cut is reopened after `reopenMs`. */
  hold: { connections: number; reopenMs: number }
  /** Longest wait for C to join, ms. */
  joinTimeoutMs: number
  /** A's RSS is read this long after the streaming phase ended, ms. */
  settleMs: number
  /** Progress lines. */
  print?: (line: string) => void
  /**
   * The control run: everything but the attacker (the probes, C's join), for telling
   * what the flood costs from what measuring costs.
   */
  control?: boolean
}

/** Latency figures of one probe, ms. */
export interface LatencySummary {
  samples: number
  p50: number
  p99: number
  max: number
}

/** What a flood did to node A. */
export interface FloodReport {
  rssMb: {
    /** Before the flood (median of the samples over the last second). */
    baseline: number
    /** Highest sample during the streaming phase and the hold phase. */
    peak: number
    /** `settleMs` after the streaming phase ended. */
    after: number
  }
  /** `/health/live` on A during the streaming phase and its aftermath. */
  health: LatencySummary
  /** A write on B until A serves it, during the streaming phase and its aftermath. */
  replication: LatencySummary & { lost: number }
  /** C's `ready` line until A and C list each other, ms (`Infinity`: not within the timeout). */
  joinMs: number
  /** Idle outsider connections open when C started. */
  heldAtJoin: number
  stream: AttackStats
  hold: AttackStats
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

/** p50/p99/max of `xs` (nearest rank). */
export function summarize(xs: number[]): LatencySummary {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN
  return { samples: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? Number.NaN }
}

async function http(node: NodeProcess, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${node.info.http}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
}

async function peerIds(node: NodeProcess): Promise<string[]> {
  try {
    const s = (await (await http(node, '/status')).json()) as { mesh: { peers: { id: string }[] } }
    return s.mesh.peers.map((p) => p.id)
  } catch {
    return []
  }
}

/** Resolves when `a` and `b` list each other as peers; the ms it took, or Infinity. */
async function joined(a: NodeProcess, b: NodeProcess, timeoutMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    const [pa, pb] = await Promise.all([peerIds(a), peerIds(b)])
    if (pa.includes(b.info.peerId) && pb.includes(a.info.peerId)) return performance.now() - t0
    await sleep(20)
  }
  return Number.POSITIVE_INFINITY
}

/** The attacker process and a way to wait for its reports. */
class Attacker {
  readonly proc: ChildProcess
  readonly #waiting: ((r: AttackReport) => void)[] = []

  constructor() {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'bench/flood-attacker.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.proc.on('message', (m: AttackReport) => {
      for (const w of this.#waiting.splice(0)) w(m)
    })
  }

  send(cmd: AttackCommand): void {
    this.proc.send(cmd)
  }

  next<T extends AttackReport['type']>(type: T): Promise<Extract<AttackReport, { type: T }>> {
    return new Promise((resolve) => {
      const wait = (r: AttackReport) => {
        if (r.type === type) resolve(r as Extract<AttackReport, { type: T }>)
        else this.#waiting.push(wait)
      }
      this.#waiting.push(wait)
    })
  }
}

/** Runs the flood; every process it started is gone when it returns or throws. */
export async function runFlood(o: FloodOptions): Promise<FloodReport> {
  const print = o.print ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-flood-'))
  const keyFile = join(dir, 'network.key')
  writeFileSync(keyFile, createNetworkKey())
  const host = (i: number) => `127.0.${o.subnet}.${i}`
  const nodeArgs = (i: number, region: string, peer?: NodeProcess) => [
    '--region',
    region,
    '--listen',
    `/ip4/${host(i)}/tcp/0`,
    '--http',
    `${host(i)}:0`,
    '--network-key-file',
    keyFile,
    ...(peer ? ['--peer', peer.info.addresses[0]!] : []),
  ]
  const nodes: NodeProcess[] = []
  let attacker: Attacker | undefined
  try {
    const a = await spawnNode(nodeArgs(1, 'east'))
    nodes.push(a)
    const b = await spawnNode(nodeArgs(2, 'west', a))
    nodes.push(b)
    if (!Number.isFinite(await joined(a, b, 20_000))) throw new Error('A and B did not connect')
    const pid = a.proc.pid!
    const port = Number(/\/tcp\/(\d+)/.exec(a.info.addresses[0]!)![1])
    const sources = Array.from({ length: o.sources }, (_, i) => `127.0.${o.subnet + 1}.${i + 1}`)
    attacker = new Attacker()

    // Warm up the write path, then take the baseline.
    for (let i = 0; i < 50; i++) await http(b, `/v1/default/warm-${i}`, put('w'))
    const base: number[] = []
    for (let i = 0; i < 10; i++) {
      base.push(rssMb(pid))
      await sleep(100)
    }
    const baseline = summarize(base).p50
    print(`baseline RSS ${baseline.toFixed(0)} MB`)

    let peak = baseline
    let phase: 'stream' | 'hold' | 'done' = 'stream'
    const rssTimer = setInterval(() => {
      if (phase !== 'done') peak = Math.max(peak, rssMb(pid))
    }, 100)
    const health: number[] = []
    const lags: number[] = []
    let lost = 0
    const probeHealth = async () => {
      while (phase === 'stream') {
        const t = performance.now()
        try {
          await http(a, '/health/live')
        } catch {}
        health.push(performance.now() - t)
        await sleep(20)
      }
    }
    const probeReplication = async () => {
      for (let i = 0; phase === 'stream'; i++) {
        const key = `/v1/default/flood-${i}`
        const t = performance.now()
        try {
          await http(b, key, put(i))
          let seen = false
          while (!seen && performance.now() - t < 10_000) {
            seen = (await http(a, key)).status === 200
            if (!seen) await sleep(5)
          }
          if (seen) lags.push(performance.now() - t)
          else lost++
        } catch {
          lost++
        }
        await sleep(30)
      }
    }

    // 1. Streaming.
    const probes = Promise.all([probeHealth(), probeReplication()])
    const idle: AttackStats = { opened: 0, connectFailures: 0, cut: 0, bytesWritten: 0, ms: 0 }
    let stream = idle
    if (o.control) await sleep(1_000)
    else {
      attacker.send({ type: 'stream', host: host(1), port, sources, ...o.stream })
      stream = (await attacker.next('done')).stats
    }
    const streamEnded = performance.now()
    await sleep(o.aftermathMs)
    phase = 'hold'
    await probes
    print(
      `stream: ${stream.opened} connections, ${(stream.bytesWritten / 1e6).toFixed(1)} MB in ${stream.ms} ms; peak RSS ${peak.toFixed(0)} MB`,
    )

    // 2. Hold idle connections while C joins.
    if (!o.control) attacker.send({ type: 'hold', host: host(1), port, sources, ...o.hold })
    const heldAtJoin = o.control ? 0 : (await attacker.next('holding')).open
    const c = await spawnNode(nodeArgs(3, 'east', a))
    nodes.push(c)
    const joinMs = await joined(a, c, o.joinTimeoutMs)
    let hold = idle
    if (!o.control) {
      attacker.send({ type: 'stop' })
      hold = (await attacker.next('done')).stats
    }
    print(`hold: ${heldAtJoin} idle connections open; C joined in ${joinMs.toFixed(0)} ms`)
    await kill9(c.proc)

    // 3. Memory after the flood.
    const wait = o.settleMs - (performance.now() - streamEnded)
    if (wait > 0) await sleep(wait)
    phase = 'done'
    clearInterval(rssTimer)
    const after = rssMb(pid)
    print(`RSS ${o.settleMs / 1000} s after the stream: ${after.toFixed(0)} MB`)
    return {
      rssMb: { baseline, peak, after },
      health: summarize(health),
      replication: { ...summarize(lags), lost },
      joinMs,
      heldAtJoin,
      stream,
      hold,
    }
  } finally {
    attacker?.proc.kill('SIGKILL')
    await Promise.all(nodes.map((n) => kill9(n.proc)))
    rmSync(dir, { recursive: true, force: true })
  }
}

function put(value: unknown): RequestInit {
  return {
    method: 'PUT',
    body: JSON.stringify(value),
    headers: { 'content-type': 'application/json' },
  }
}
