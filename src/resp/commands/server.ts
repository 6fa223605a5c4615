/**
 * Server commands: `COMMAND` (`COUNT INFO DOCS LIST`, what clients ask at connect) and
 * `INFO` (the sections and fields clients read: `loading`, `redis_version`, `role`,
 * keyspace sizes), plus meshcache's own section.
 * @module
 */
import { arch, hostname, platform, release } from 'node:os'
import { lowerArg } from '../args.js'
import { RESP_PROTOCOL } from '../resp-defaults.js'
import { unknownSubcommand } from '../resp-error.js'
import type { CommandSpec, Session } from '../session.js'

/** ACL categories of a command, from its group and flags (`COMMAND INFO`). */
function categories(spec: CommandSpec): string[] {
  const out: string[] = []
  if (spec.flags.includes('write')) out.push('@write')
  if (spec.flags.includes('readonly')) out.push('@read')
  out.push(spec.group === 'generic' ? '@keyspace' : `@${spec.group}`)
  if (spec.flags.includes('fast')) out.push('@fast')
  else out.push('@slow')
  return out
}

/** One command's `COMMAND INFO` entry (Redis 7's ten fields). */
function writeInfo(s: Session, spec: CommandSpec): void {
  const out = s.out
  out.array(10)
  out.bulkText(spec.name)
  out.integer(spec.arity)
  out.array(spec.flags.length)
  for (const f of spec.flags) out.simple(f)
  out.integer(spec.keys[0])
  out.integer(spec.keys[1])
  out.integer(spec.keys[2])
  const cats = categories(spec)
  out.array(cats.length)
  for (const c of cats) out.simple(c)
  out.array(0) // tips
  out.array(0) // key specifications
  out.array(0) // subcommands
}

/** One command's `COMMAND DOCS` entry: summary, since, group, complexity. */
function writeDocs(s: Session, spec: CommandSpec): void {
  const out = s.out
  out.bulkText(spec.name)
  out.map(3)
  out.bulkText('summary')
  out.bulkText(spec.summary)
  out.bulkText('since')
  out.bulkText(spec.since)
  out.bulkText('group')
  out.bulkText(spec.group)
}

function command(s: Session, args: Buffer[]): void {
  const table = s.server.commands
  if (args.length === 1) {
    s.out.array(table.size)
    for (const spec of table.values()) writeInfo(s, spec)
    return
  }
  const sub = lowerArg(args[1]!)
  const named = args.slice(2).map((a) => lowerArg(a))
  switch (sub) {
    case 'count':
      s.out.integer(table.size)
      return
    case 'list':
      s.out.array(table.size)
      for (const name of table.keys()) s.out.bulkText(name)
      return
    case 'info': {
      const specs = named.length === 0 ? [...table.values()] : named.map((n) => table.get(n))
      s.out.array(specs.length)
      for (const spec of specs) {
        if (spec === undefined) s.out.nilArray()
        else writeInfo(s, spec)
      }
      return
    }
    case 'docs': {
      const specs = (
        named.length === 0 ? [...table.values()] : named.map((n) => table.get(n))
      ).filter((spec) => spec !== undefined)
      s.out.map(specs.length)
      for (const spec of specs) writeDocs(s, spec)
      return
    }
    default:
      throw unknownSubcommand('command', args[1]!)
  }
}

/** The text of `INFO`: sections `server clients persistence stats replication keyspace meshcache`. */
function infoText(s: Session, wanted: ReadonlySet<string>): string {
  const srv = s.server
  const all =
    wanted.size === 0 || wanted.has('all') || wanted.has('everything') || wanted.has('default')
  const parts: string[] = []
  const section = (name: string, lines: Record<string, string | number>) => {
    if (!all && !wanted.has(name)) return
    const title = name[0]!.toUpperCase() + name.slice(1)
    const body = Object.entries(lines)
      .map(([k, v]) => `${k}:${v}`)
      .join('\r\n')
    parts.push(`# ${title}\r\n${body}\r\n`)
  }
  const [host, port] = splitAddress(srv.address)
  const uptime = Math.floor((srv.clock.monotonic() - srv.startedAt) / 1000)
  section('server', {
    redis_version: RESP_PROTOCOL.redisVersion,
    redis_mode: 'standalone',
    os: `${platform()} ${release()} ${arch()}`,
    arch_bits: 64,
    process_id: process.pid,
    tcp_port: port,
    uptime_in_seconds: uptime,
    uptime_in_days: Math.floor(uptime / 86_400),
    executable: 'meshcache',
    server_name: 'meshcache',
    meshcache_version: srv.version,
    bind: host,
  })
  section('clients', {
    connected_clients: srv.stats.connections,
    maxclients: srv.limits.maxClients,
    blocked_clients: 0,
  })
  section('persistence', { loading: 0, async_loading: 0 })
  const cs = srv.cache.stats()
  let commands = 0
  for (const c of srv.stats.commands().values()) commands += c.calls
  section('stats', {
    total_connections_received: srv.stats.connectionsTotal,
    total_commands_processed: commands,
    rejected_connections: srv.stats.connectionsRejected,
    keyspace_hits: cs.hits,
    keyspace_misses: cs.misses,
    evicted_keys: Object.values(cs.keyspaces).reduce((n, k) => n + k.evictions, 0),
    expired_keys: Object.values(cs.keyspaces).reduce((n, k) => n + k.expirations, 0),
  })
  section('replication', { role: 'master', connected_slaves: 0 })
  const dbs: Record<string, string> = {}
  for (const db of srv.databases.all()) {
    const n = db.size()
    if (n > 0) dbs[`db${db.index}`] = `keys=${n},expires=${n},avg_ttl=0`
  }
  section('keyspace', dbs)
  section('meshcache', {
    node: srv.cache.nodeId,
    region: srv.cache.region,
    host: hostname(),
    peers: cs.mesh?.peers.length ?? 0,
    keyspaces: srv.databases
      .all()
      .map((db) => db.main.name)
      .join(','),
    ready: cs.ready ? 1 : 0,
  })
  return parts.join('\r\n')
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), address.slice(i + 1)]
}

function info(s: Session, args: Buffer[]): void {
  const wanted = new Set(args.slice(1).map((a) => lowerArg(a)))
  s.out.bulkText(infoText(s, wanted))
}

/** The server commands. */
export const SERVER_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'command',
    arity: -1,
    flags: ['loading', 'stale'],
    keys: [0, 0, 0],
    group: 'server',
    since: '2.8.13',
    summary: 'Returns detailed information about all commands (COUNT, INFO, DOCS, LIST).',
    run: command,
  },
  {
    name: 'info',
    arity: -1,
    flags: ['loading', 'stale'],
    keys: [0, 0, 0],
    group: 'server',
    since: '1.0.0',
    summary: 'Returns information and statistics about the server.',
    run: info,
  },
]
