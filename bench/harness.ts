/**
 * A small benchmark harness: runs a function over many iterations after a warm-up and
 * reports ns/op; writes results as JSON beside a printed table.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname } from 'node:path'

/** One measured row. */
export interface BenchRow {
  name: string
  [column: string]: unknown
}

/** Times `ops` calls of `fn(i)`, best of `rounds` rounds, after a warm-up round. */
export function timeOps(ops: number, fn: (i: number) => void, rounds = 5): number {
  for (let i = 0; i < Math.min(ops, 50_000); i++) fn(i)
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) fn(i)
    const ns = Number(process.hrtime.bigint() - t0) / ops
    if (ns < best) best = ns
  }
  return best
}

/** Machine facts printed with every result. */
export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    date: new Date().toISOString(),
  }
}

/** Prints rows as an aligned table and writes `{ machine, rows }` to `file`. */
export function report(
  title: string,
  rows: BenchRow[],
  file: string,
  extra: Record<string, unknown> = {},
): void {
  console.log(`\n${title}  (${JSON.stringify(machine())})`)
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const fmt = (v: unknown) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v ?? '')
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => fmt(r[k]).length)))
  console.log(keys.map((k, i) => k.padEnd(widths[i]!)).join('  '))
  for (const r of rows) console.log(keys.map((k, i) => fmt(r[k]).padEnd(widths[i]!)).join('  '))
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify({ title, machine: machine(), ...extra, rows }, null, 2)}\n`)
}
