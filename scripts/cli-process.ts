/**
 * Starts `meshcache node` as a child process on the pinned Node with tsx (no build
 * needed) and waits for its `ready` line. Shared by the process tests and bench:chaos.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What a started `meshcache node` printed in its `ready` line. */
export interface NodeInfo {
  peerId: string
  region: string
  addresses: string[]
  http: string
  /** `redis://host:port` when started with `--resp`. */
  resp?: string
}

/** A `meshcache node` child process. */
export interface NodeProcess {
  proc: ChildProcess
  info: NodeInfo
  output: () => string
}

/** Every process spawned here and not yet exited. */
export const running = new Set<ChildProcess>()

/** How to start a CLI process. */
export interface SpawnOptions {
  /** Runs the process with its wall clock shifted by this many ms (scripts/clock-skew.mjs). */
  clockSkewMs?: number
}

/** Spawns `meshcache <args>` (the CLI source, through tsx). */
export function spawnCli(args: string[], options: SpawnOptions = {}): ChildProcess {
  const skew = options.clockSkewMs ?? 0
  const preload = skew === 0 ? [] : ['--import', './scripts/clock-skew.mjs']
  const proc = spawn(
    process.execPath,
    [...preload, '--import', 'tsx', 'src/cli/main.ts', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBUG: '', MESHCACHE_CLOCK_SKEW_MS: String(skew) },
    },
  )
  running.add(proc)
  proc.on('exit', () => running.delete(proc))
  return proc
}

/** Runs `meshcache node <args>`; resolves at its `ready` line. */
export function spawnNode(
  args: string[],
  timeoutMs = 20_000,
  options: SpawnOptions = {},
): Promise<NodeProcess> {
  const proc = spawnCli(['node', ...args], options)
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`node did not get ready in ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^ready (.+)$/m.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ proc, info: JSON.parse(m[1]!) as NodeInfo, output: () => out })
      }
    })
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before ready:\n${out}`))
    })
  })
}

/** Kills (SIGKILL) a process and waits for it to exit. */
export function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', () => resolve())
    proc.kill('SIGKILL')
  })
}

/** Kills every process spawned here. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map(kill9))
}
