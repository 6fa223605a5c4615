/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function and per package
 * (node_modules package, node core, meshcache source directory, GC, idle).
 * Run: node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  /** Wall time covered, ms. */
  totalMs: number
  /** Non-idle time, ms (the base of `share`). */
  busyMs: number
  packages: { name: string; ms: number; share: number }[]
  functions: { name: string; package: string; where: string; ms: number; share: number }[]
}

/** The package a frame belongs to. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node (core)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const src = /\/(src|bench|test)\/([^/]+)\//.exec(url)
  if (src) return `meshcache ${src[1]}/${src[2]}`
  if (/\/(src|bench)\/[^/]+$/.test(url)) return 'meshcache'
  return url
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i + 1] is the time from sample i to the next one: sample i's duration.
    const us = p.timeDeltas[i + 1] ?? 0
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + us)
  }
  const fns = new Map<string, { name: string; package: string; where: string; ms: number }>()
  const pkgs = new Map<string, number>()
  let totalMs = 0
  let idleMs = 0
  for (const [id, us] of self) {
    const n = byId.get(id)!
    const { functionName, url, lineNumber, columnNumber } = n.callFrame
    const ms = us / 1000
    totalMs += ms
    const pkg = packageOf(url, functionName)
    if (pkg === '(idle)') {
      idleMs += ms
      continue
    }
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + ms)
    const where =
      url === ''
        ? ''
        : `${url.replace(`file://${process.cwd()}/`, '').replace(/^.*\/node_modules\//, '')}:${lineNumber + 1}:${columnNumber + 1}`
    const key = `${functionName}@${where}`
    const f = fns.get(key) ?? { name: functionName || '(anonymous)', package: pkg, where, ms: 0 }
    f.ms += ms
    fns.set(key, f)
  }
  const busyMs = totalMs - idleMs
  return {
    totalMs,
    busyMs,
    packages: [...pkgs.entries()]
      .map(([name, ms]) => ({ name, ms, share: ms / busyMs }))
      .sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()]
      .map((f) => ({ ...f, share: f.ms / busyMs }))
      .sort((a, b) => b.ms - a.ms),
  }
}

export function printSummary(s: ProfileSummary, top = 25): void {
  const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6)
  console.log(
    `  ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy (not idle); shares are of busy time`,
  )
  console.log('  self time by package:')
  for (const p of s.packages.slice(0, 15))
    console.log(`    ${pctOf(p.share)}  ${p.ms.toFixed(0).padStart(7)} ms  ${p.name}`)
  console.log(`  top ${top} functions by self time:`)
  for (const f of s.functions.slice(0, top))
    console.log(
      `    ${pctOf(f.share)}  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  [${f.package}] ${f.where}`,
    )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (file === undefined) {
    console.error('usage: profile-summary FILE.cpuprofile [TOP]')
    process.exit(2)
  }
  printSummary(summarizeProfile(file), Number(process.argv[3] ?? 25))
}
