/**
 * The solo node's CPU profiles in bench:scale (`--profile-solo DIR`): V8's sampling
 * profiler on the solo host's main thread through `node:inspector`, over a window the
 * caller chooses (a write window, or a second idle window after the measured one).
 */
import { join } from 'node:path'
import type { Host } from './scale-fleet.js'

/**
 * Sampling interval, µs: `--cpu-prof`'s default. Each sample costs the process ~25 µs of
 * CPU on the 2-core bench machine (mostly the sampler thread), so a finer interval would
 * weigh on the figures it profiles.
 */
const PROFILE_INTERVAL_US = 1_000

/** What a profile window measured: the host thread's CPU, the wall time and the counters' growth. */
export interface ProfileWindow {
  file: string
  threadCpuUs: number
  wallMs: number
  counters: Record<string, number>
}

/** The profile file of configuration `label` at size `n` for `phase` (undefined: no profiling). */
export function profileFileOf(
  dir: string | undefined,
  solo: Host,
  n: number,
  label: string,
  phase: string,
): string | undefined {
  if (dir === undefined || solo.dead) return undefined
  return join(dir, `n${n}-${label.replace(/[^a-z0-9]+/gi, '-')}-${phase}.cpuprofile`)
}

/** Starts profiling the solo host (no-op without a file). */
export async function startProfile(solo: Host, file: string | undefined): Promise<void> {
  if (file !== undefined) await solo.ask({ t: 'profile-start', intervalUs: PROFILE_INTERVAL_US })
}

/** Stops profiling and writes `file` (undefined without one). */
export async function stopProfile(
  solo: Host,
  file: string | undefined,
): Promise<ProfileWindow | undefined> {
  if (file === undefined) return undefined
  const p = await solo.ask({ t: 'profile-stop', file })
  return { file, threadCpuUs: p.threadCpuUs, wallMs: p.wallMs, counters: p.counters }
}
