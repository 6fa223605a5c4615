/**
 * `meshcache status --mesh`: the whole mesh as one node sees it (`GET /status/mesh`) in
 * the terminal: the region x region lag matrix (p50/p99), members per region with their
 * hubs, and the flagged nodes.
 * @module
 */
import type { MeshView, RegionLag } from '../ports/mesh-view.js'
import { CliError, EXIT_CODES } from './failures.js'
import { getNodeJson, type NodeAddress } from './node-fetch.js'

/** Width of a matrix column (the region names and `p50/p99`), characters. */
const COLUMN = 14

/** A cell: recent p50/p99 when writes arrived in the recent window, else since start with `*`. */
function cellText(c: RegionLag | undefined): string {
  if (c === undefined || c.count === 0) return '-'
  if (c.recentCount > 0) return `${fmt(c.recentP50Ms)}/${fmt(c.recentP99Ms)}`
  return `${fmt(c.p50Ms)}/${fmt(c.p99Ms)}*`
}

const fmt = (ms: number) => (ms >= 10 ? String(Math.round(ms)) : String(Math.round(ms * 10) / 10))
const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n))

/** The lines `status --mesh` prints for `view`. */
export function meshStatusLines(view: MeshView): string[] {
  const t = view.totals
  const lines = [
    `mesh seen from ${view.node} (${view.region}): ${t.members} members in ${view.regions.length} regions, ` +
      `${t.summarized} summarized, ${t.flagged} flagged, ${t.behind} behind`,
    '',
    `replication lag p50/p99 ms over the last ${Math.round(view.recentWindowMs / 1_000)} s ` +
      '(row: receiving region, column: origin region; * no recent writes: since start)',
  ]
  const width = Math.max(COLUMN, ...view.regions.map((r) => r.length + 2))
  lines.push(
    pad('to \\ from', width) +
      view.regions
        .map((r) => pad(r, width))
        .join('')
        .trimEnd(),
  )
  const cells = new Map(view.lag.map((c) => [`${c.to}\u0000${c.from}`, c]))
  for (const to of view.regions) {
    const row = view.regions.map((from) => pad(cellText(cells.get(`${to}\u0000${from}`)), width))
    lines.push((pad(to, width) + row.join('')).trimEnd())
  }
  lines.push('', 'members per region')
  for (const region of view.regions) {
    const members = view.members.filter((m) => m.region === region)
    const hub = members.find((m) => m.hub)
    lines.push(
      `${pad(region, width)}${members.length} ${members.length === 1 ? 'node' : 'nodes'}` +
        (hub ? `, hub ${hub.id}` : ''),
    )
  }
  const flagged = view.members.filter((m) => m.flags.length > 0)
  lines.push('', flagged.length === 0 ? 'no flagged nodes' : 'flagged nodes')
  for (const m of flagged) {
    const clock = m.clock
      ? `  clock ${m.clock.correctionMs >= 0 ? '+' : ''}${m.clock.correctionMs} ms`
      : ''
    lines.push(
      `${m.id.padEnd(54)} ${pad(m.region, 12)}${m.behind ? 'BEHIND ' : ''}${m.flags.join(', ')}${clock}`,
    )
  }
  return lines
}

/** True when `v` has the fields a view is printed from (a node of another version may differ). */
function isView(v: unknown): v is MeshView {
  const x = v as Partial<MeshView> | null
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.node === 'string' &&
    Array.isArray(x.regions) &&
    Array.isArray(x.lag) &&
    Array.isArray(x.members) &&
    typeof x.totals === 'object'
  )
}

/**
 * Prints the node's view of the mesh.
 * @throws CliError (exit 1) when the node cannot be reached, is not in a mesh, or answers
 *   something that is not a mesh view
 */
export async function runMeshStatus(
  at: NodeAddress,
  print: (line: string) => void = console.log,
): Promise<void> {
  const view = await getNodeJson(at, '/status/mesh')
  if (!isView(view))
    throw new CliError(
      'GET /status/mesh answered something that is not a mesh view (is the node older than this command?)',
      EXIT_CODES.runtime,
    )
  for (const line of meshStatusLines(view)) print(line)
}
