/**
 * The host processes of one bench:scale configuration and what the main process asks of
 * them: commands with deadlines (a stuck host is reported, never waited for forever), and
 * CPU marks that split the machine's CPU between the nodes, the simulated WAN, this
 * orchestrating process and everything else running on the machine.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { HostCommand, HostCpu, HostReply, NodeSpec } from './scale-protocol.js'

/** Longest wait for a host's answer, ms, unless a command says otherwise. */
const ASK_TIMEOUT_MS = 60_000
/** Longest wait for a host to close its nodes before it is killed, ms. */
const CLOSE_TIMEOUT_MS = 20_000
const CORES = cpus().length

type Reply<T extends HostReply['t']> = Extract<HostReply, { t: T }>

/** One host process: several nodes and, in a worker thread, their WAN proxies. */
export class Host {
  readonly proc: ChildProcess
  readonly nodes: NodeSpec[] = []
  /** Set when the host was killed on purpose, or exited. */
  dead = false

  /** @param proxyHost - the loopback address this host's WAN proxies listen on */
  constructor(
    readonly name: string,
    proxyHost: string,
    onExit: (host: Host, why: string) => void,
  ) {
    this.proc = fork(new URL('./scale-host.ts', import.meta.url), {
      execArgv: ['--import', 'tsx', '--max-old-space-size=6144'],
      env: { ...process.env, SCALE_PROXY_HOST: proxyHost },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.proc.once('exit', (code, signal) => {
      const wasDead = this.dead
      this.dead = true
      if (!wasDead) onExit(this, `exited (code ${code}, signal ${signal})`)
    })
  }

  /** Sends `cmd` and resolves with the host's answer. @throws Error on timeout or exit */
  ask<T extends HostCommand['t']>(
    cmd: Extract<HostCommand, { t: T }>,
    timeoutMs = ASK_TIMEOUT_MS,
  ): Promise<Reply<T>> {
    if (this.dead) return Promise.reject(new Error(`${this.name} is gone (${cmd.t})`))
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        this.proc.off('message', on)
        this.proc.off('exit', gone)
      }
      const on = (m: HostReply) => {
        if (m.t !== cmd.t) return
        done()
        resolve(m as Reply<T>)
      }
      const gone = () => {
        done()
        reject(new Error(`${this.name} exited during ${cmd.t}`))
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.name} did not answer ${cmd.t} within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      this.proc.on('message', on)
      this.proc.once('exit', gone)
      this.proc.send(cmd)
    })
  }

  /** SIGKILLs the host (its nodes and proxies vanish at once). */
  kill(): void {
    this.dead = true
    this.proc.kill('SIGKILL')
  }

  /** Closes the nodes, or kills the host when it does not answer in time. */
  async close(): Promise<void> {
    if (this.dead) return
    try {
      await this.ask({ t: 'close' }, CLOSE_TIMEOUT_MS)
      this.dead = true
    } catch {
      this.kill()
    }
  }
}

/** The machine's busy and total CPU time since boot (/proc/stat), in clock ticks. */
function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const total = v.reduce((a, b) => a + b, 0)
    // idle and iowait are not busy.
    return { busy: total - v[3]! - (v[4] ?? 0), total }
  } catch {
    return { busy: Number.NaN, total: Number.NaN }
  }
}

/** A CPU reading of every live host, this process and the machine, at one instant. */
export interface CpuMark {
  at: number
  hosts: Map<Host, HostCpu>
  benchUs: number
  machine: { busy: number; total: number }
}

/** Shares of the machine's cores (100 % = every core busy) over a window. */
export interface CpuShares {
  /** The nodes: the host processes minus their WAN threads. */
  nodes: number
  /** The simulated WAN: the hosts' WAN threads. */
  sim: number
  /** This orchestrating process. */
  bench: number
  /** Everything else on the machine (other people's work). */
  others: number
  /** The machine's 1-minute load average at the end of the window. */
  loadavg: number
}

/** CPU spent between two marks, by host and by kind. */
export interface CpuDelta {
  wallMs: number
  /** Node CPU per host (hosts live at both marks), µs. */
  nodesUs: Map<Host, number>
  /** Bytes the hosts' proxies carried between regions. */
  wanBytes: number
  shares: CpuShares
}

/** The hosts of one configuration. */
export class Fleet {
  readonly hosts: Host[] = []
  /** What went wrong (hosts that exited, commands that timed out), for the report. */
  readonly notes: string[] = []

  /** Starts one host process per name, the i-th with its WAN proxies on 127.0.254.(i + 1). */
  constructor(names: string[]) {
    for (const [i, name] of names.entries()) {
      this.hosts.push(
        new Host(name, `127.0.254.${i + 1}`, (h, why) => this.notes.push(`${h.name} ${why}`)),
      )
    }
  }

  get live(): Host[] {
    return this.hosts.filter((h) => !h.dead)
  }

  /** The host running node `idx`. */
  hostOf(idx: number): Host {
    return this.hosts.find((h) => h.nodes.some((s) => s.idx === idx))!
  }

  /** Asks every live host; hosts that fail to answer are noted and left out. */
  async all<T extends HostCommand['t']>(
    cmd: Extract<HostCommand, { t: T }>,
    timeoutMs?: number,
  ): Promise<{ host: Host; reply: Reply<T> }[]> {
    const live = this.live
    const got = await Promise.allSettled(live.map((h) => h.ask(cmd, timeoutMs)))
    const out: { host: Host; reply: Reply<T> }[] = []
    for (const [i, g] of got.entries()) {
      if (g.status === 'fulfilled') out.push({ host: live[i]!, reply: g.value })
      else this.notes.push(String((g.reason as Error).message))
    }
    return out
  }

  /** Reads every live host's CPU, this process's and the machine's. */
  async mark(): Promise<CpuMark> {
    const replies = await this.all({ t: 'cpu' })
    const u = process.cpuUsage()
    return {
      at: performance.now(),
      hosts: new Map(replies.map((r) => [r.host, r.reply])),
      benchUs: u.user + u.system,
      machine: machineTicks(),
    }
  }

  /** Closes every live host. */
  async close(): Promise<void> {
    await Promise.all(this.live.map((h) => h.close()))
  }
}

/** CPU between marks `a` and `b` (hosts present in both). */
export function cpuBetween(a: CpuMark, b: CpuMark, loadavg: number): CpuDelta {
  const wallMs = b.at - a.at
  const nodesUs = new Map<Host, number>()
  let nodes = 0
  let sim = 0
  let wanBytes = 0
  for (const [h, y] of b.hosts) {
    const x = a.hosts.get(h)
    if (x === undefined) continue
    const n = y.processUs - x.processUs - (y.simUs - x.simUs)
    nodesUs.set(h, n)
    nodes += n
    sim += y.simUs - x.simUs
    wanBytes += y.wanBytes - x.wanBytes
  }
  const share = (us: number) => (100 * us) / (wallMs * 1000 * CORES)
  const bench = b.benchUs - a.benchUs
  const machine =
    (100 * (b.machine.busy - a.machine.busy)) / (b.machine.total - a.machine.total || Number.NaN)
  const ours = share(nodes) + share(sim) + share(bench)
  return {
    wallMs,
    nodesUs,
    wanBytes,
    shares: {
      nodes: share(nodes),
      sim: share(sim),
      bench: share(bench),
      others: Math.max(0, machine - ours),
      loadavg,
    },
  }
}
