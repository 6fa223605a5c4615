/**
 * Markdown tables from bench/profile/fleet.ts runs (OUT/fleet.json and the probes'
 * LABEL.json): join, idle, receive; the probed nodes' wake-ups, timer sites, streams and
 * gossipsub counts.
 * Run: node --import tsx bench/profile/fleet-tables.ts OUT_DIR...
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'

// biome-ignore lint/suspicious/noExplicitAny: JSON written by fleet.ts and probe.mjs
type J = any
const f1 = (x: number | undefined | null, d = 1) =>
  x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(d)
const ld = (l: number[][] | number[] | undefined) =>
  l === undefined
    ? '-'
    : Array.isArray(l[0])
      ? (l as number[][]).map((x) => x[0]!.toFixed(1)).join('→')
      : (l as number[])[0]!.toFixed(1)

const dirs = process.argv.slice(2)
const runs = dirs.map((d) => ({
  dir: d,
  r: JSON.parse(readFileSync(`${d}/fleet.json`, 'utf8')) as J,
}))

console.log('\n#### Join\n')
console.log(
  '| run | N | processes ready, s | all joined, s | joined after processes ready, s | links per node | CPU to join, s: seed / joiner (start-up incl.) | load (1 min) |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
for (const { dir, r } of runs) {
  const j = r.join
  if (!j) continue
  console.log(
    `| ${dir.split('/').pop()} | ${r.n} | ${f1(j.processesReadyMs / 1000)} | ${f1(j.joinedMs / 1000)} | ${f1((j.joinedMs - j.processesReadyMs) / 1000)} | ${f1(j.connsMean)} (${j.connsMin}-${j.connsMax}) | ${j.cpuMsSeed === undefined ? '-' : `${f1(j.cpuMsSeed / 1000)} / ${f1(j.cpuMsPerJoinerMean / 1000)}`} | ${ld(j.load)} |`,
  )
}

console.log('\n#### Idle\n')
console.log(
  '| run | N | CPU per node, % of a core (mean / median, unprobed) | all nodes, % of a core | RSS per node, MiB | bytes read+written per node per s | context switches per node per s | load (1 min, start→end) |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
for (const { dir, r } of runs) {
  for (const k of Object.keys(r).filter((x) => x.startsWith('idle'))) {
    const i = r[k]
    console.log(
      `| ${dir.split('/').pop()} ${k} | ${r.n} | ${f1(i.cpuPctMeanUnprobed, 2)} / ${f1(i.cpuPctMedianUnprobed, 2)} | ${f1(i.cpuPctSumAll)} | ${f1(i.rssMiBMean, 0)} | ${f1(i.readBytesPerS + i.writeBytesPerS, 0)} | ${f1(i.ctxSwitchesPerS, 0)} | ${ld(i.load)} |`,
    )
  }
}

console.log('\n#### Receive (unprobed nodes)\n')
console.log(
  '| run | regime | writes ok / intended | window, s | records in per node per s | batches in per node per s | records per batch | CPU above idle per received write per node, µs (all unprobed / receivers only) | driver, % of a core | load (1 min) |',
)
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const { dir, r } of runs) {
  for (const k of Object.keys(r).filter((x) => x.startsWith('recv'))) {
    const x = r[k]
    console.log(
      `| ${dir.split('/').pop()} | ${k} | ${x.writes.ok} / ${f1(x.writes.intended, 0)}${x.writes.failed ? ` (${x.writes.failed} failed)` : ''} | ${f1(x.ms / 1000)} | ${f1(x.recordsInPerSMean)} | ${f1(x.batchesInPerSMean)} | ${f1(x.recordsPerBatchInMean, 2)} | ${f1(x.usPerReceivedWriteAggUnprobed, 0)} / ${f1(x.usPerReceivedWriteAggPureReceivers, 0)} | ${f1(x.driverCpuPctOfCore)} | ${ld(x.load)} |`,
    )
  }
}

/** Per-message and per-record cost: least squares over unprobed nodes and regimes of
 * (CPU above idle) = a x batches in + b x records in + c x records written here. */
console.log(
  '\n#### Fit: CPU above idle = a·batches received + b·records received + c·writes taken over HTTP\n',
)
const rows: number[][] = []
const ys: number[] = []
for (const { r } of runs) {
  for (const k of Object.keys(r).filter((x) => x.startsWith('recv'))) {
    const x = r[k]
    for (const row of x.rows) {
      if (row.probed) continue
      const s = x.ms / 1000
      rows.push([row.batchesInPerS * s, row.recordsInPerS * s, row.recordsOut])
      ys.push(((row.cpuPct - row.idlePct) / 100) * x.ms * 1000) // µs
    }
  }
}
if (rows.length >= 3) {
  // Normal equations, 3x3.
  const m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0)))
  const v = [0, 1, 2].map((i) => rows.reduce((s, r, n) => s + r[i]! * ys[n]!, 0))
  const det = (a: number[][]) =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!)
  const d = det(m)
  const sol = [0, 1, 2].map(
    (c) => det(m.map((row, i) => row.map((x, j) => (j === c ? v[i]! : x)))) / d,
  )
  const pred = rows.map((r) => r[0]! * sol[0]! + r[1]! * sol[1]! + r[2]! * sol[2]!)
  const my = ys.reduce((s, y) => s + y, 0) / ys.length
  const r2 =
    1 -
    ys.reduce((s, y, i) => s + (y - pred[i]!) ** 2, 0) / ys.reduce((s, y) => s + (y - my) ** 2, 0)
  console.log(
    `| a: per batch received, µs | b: per record received, µs | c: per write taken over HTTP (and published), µs | R² | node-windows |`,
  )
  console.log('|---:|---:|---:|---:|---:|')
  console.log(
    `| ${f1(sol[0], 0)} | ${f1(sol[1], 0)} | ${f1(sol[2], 0)} | ${f1(r2, 2)} | ${rows.length} |`,
  )
}

{
  // Nodes that took no writes: CPU above idle = a x batches + b x records.
  const xs: number[][] = []
  const y: number[] = []
  for (const { r } of runs)
    for (const k of Object.keys(r).filter((x) => x.startsWith('recv')))
      for (const row of r[k].rows) {
        if (row.probed || row.writer) continue
        const s = r[k].ms / 1000
        xs.push([row.batchesInPerS * s, row.recordsInPerS * s])
        y.push(((row.cpuPct - row.idlePct) / 100) * r[k].ms * 1000)
      }
  if (xs.length >= 2) {
    const sxx = xs.reduce((s, x) => s + x[0]! * x[0]!, 0)
    const sxy = xs.reduce((s, x) => s + x[0]! * x[1]!, 0)
    const syy = xs.reduce((s, x) => s + x[1]! * x[1]!, 0)
    const v0 = xs.reduce((s, x, i) => s + x[0]! * y[i]!, 0)
    const v1 = xs.reduce((s, x, i) => s + x[1]! * y[i]!, 0)
    const d = sxx * syy - sxy * sxy
    const a = (v0 * syy - v1 * sxy) / d
    const b = (sxx * v1 - sxy * v0) / d
    console.log('\nNodes that took no writes only (CPU above idle = a·batches + b·records):\n')
    console.log(
      '| a: per batch received, µs | b: per record received, µs | node-windows |\n|---:|---:|---:|',
    )
    console.log(`| ${f1(a, 0)} | ${f1(b, 0)} | ${xs.length} |`)
  }
}

console.log('\n#### Probed nodes (windows)\n')
console.log(
  '| run | window | CPU, % of a core (probe incl.) | callbacks per s (by kind) | top timer sites (fires per s) | streams opened per s | gossipsub RPCs in/out per s | messages in per s | valid / ignored / duplicate / IWANT ids in | IHAVE ids in per s | heartbeat ms per s |',
)
console.log('|---|---|---:|---|---|---|---:|---:|---|---:|---:|')
for (const { dir } of runs) {
  for (const file of readdirSync(dir).filter((x) => x.endsWith('.json') && x !== 'fleet.json')) {
    const p = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as J
    const s = p.ms / 1000
    const cb = Object.entries(p.callbacks as Record<string, { perS: number }>)
      .map(([k, v]) => `${k} ${v.perS.toFixed(1)}`)
      .join(', ')
    const timers = Object.entries(p.timerFires as Record<string, { perS: number }>)
      .slice(0, 6)
      .map(([k, v]) => `${v.perS.toFixed(1)} ${k.replace(/ \(.*/, '').replace(/^.*\//, '')}`)
      .join('; ')
    const streams = Object.entries(p.streamsOut as Record<string, { perS: number }>)
      .map(([k, v]) => `${k.replace(/^\/(meshcache|ipfs)\//, '')} ${v.perS.toFixed(2)}`)
      .join(', ')
    const g = p.gossip
    console.log(
      `| ${dir.split('/').pop()} | ${p.label} | ${f1(p.cpuPctOfCore, 1)} | ${cb || '-'} | ${timers || '-'} | ${streams || '-'} | ${f1(g.rpcIn / s)} / ${f1(g.rpcOut / s)} | ${f1(g.msgIn / s)} | ${g.valid} / ${g['invalid:ignore'] ?? 0} / ${g.duplicate} / ${g.iwantIdsIn} | ${f1(g.ihaveIdsIn / s)} | ${f1(g.heartbeatMs / s, 2)} |`,
    )
  }
}
if (existsSync(`${dirs[0]}/fleet.json`)) console.log('')
