import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** What a started `meshcache node` printed in its `ready` line. */
export interface NodeInfo {
  peerId: string
  region: string
  addresses: string[]
  http: string
}

/** A `meshcache node` child process. */
export interface NodeProcess {
  proc: ChildProcess
  info: NodeInfo
  output: () => string
}

/** Every process spawned; {@link killAll} in afterEach ends them. */
const running = new Set<ChildProcess>()

/** Runs the CLI on the pinned Node with tsx (no build needed); resolves at its `ready` line. */
export function spawnNode(args: string[], timeoutMs = 20_000): Promise<NodeProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'node', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBUG: '' },
  })
  running.add(proc)
  proc.on('exit', () => running.delete(proc))
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node did not get ready in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    )
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /^ready (.+)$/m.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ proc, info: JSON.parse(m[1]!) as NodeInfo, output: () => out })
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before ready:\n${out}`))
    })
  })
}

/** Runs the CLI to completion; resolves with its exit code and output. */
export function runCli(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(proc)
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      running.delete(proc)
      resolve({ code, out })
    })
  })
}

/** Kills every spawned process (SIGKILL) and waits for them to exit. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve()
          p.once('exit', () => resolve())
          p.kill('SIGKILL')
        }),
    ),
  )
}
