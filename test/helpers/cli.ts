import { spawnCli } from '../../scripts/cli-process.js'

export { killAll, type NodeProcess, spawnNode } from '../../scripts/cli-process.js'

/** Runs the CLI to completion; resolves with its exit code and output. */
export function runCli(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; out: string }> {
  const proc = spawnCli(args)
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}
