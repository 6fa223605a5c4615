#!/usr/bin/env node
/**
 * The `meshcache` command line: `node`, `status`, `demo`.
 * @module
 */
import { Command, Option } from 'commander'
import { InvalidOptionError, MeshcacheError } from '../errors.js'
import { createNetworkKey } from '../mesh/network-key.js'
import { loadMatrix } from '../sim/latency-matrix.js'
import { runDemo } from './demo.js'
import { type NodeFlags, resolveNodeSettings, runNode } from './node-command.js'
import { runStatus } from './status-command.js'

const collect = (v: string, prev: string[] = []) => [...prev, v]

const program = new Command()
program
  .name('meshcache')
  .description('A geo-distributed LRU cache with time expiration, on a libp2p mesh.')
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2)
  })

program
  .command('node')
  .description('run a headless node with an HTTP API (a sidecar for services in any language)')
  .option('--region <name>', 'region tag of this node (env MESHCACHE_REGION)')
  .option(
    '--listen <multiaddr>',
    'libp2p address to listen on, repeatable (env MESHCACHE_LISTEN, comma-separated)',
    collect,
  )
  .option(
    '--peer <multiaddr>',
    'bootstrap peer with /p2p/<id>, repeatable (env MESHCACHE_PEERS)',
    collect,
  )
  .option('--http <host:port>', 'HTTP API address (env MESHCACHE_HTTP)', undefined)
  .option(
    '--data-dir <dir>',
    'identity and snapshots; the peer id survives restarts (env MESHCACHE_DATA_DIR)',
  )
  .option('--max-entries <n>', 'most entries per keyspace (env MESHCACHE_MAX_ENTRIES)')
  .option(
    '--default-ttl <duration>',
    "TTL of writes that name none, e.g. '10m' (env MESHCACHE_DEFAULT_TTL)",
  )
  .option(
    '--snapshot-interval <duration>',
    "how often entries are saved to --data-dir (default '5s')",
  )
  .option(
    '--network-key-file <file>',
    'pre-shared key from `meshcache keygen`: only nodes holding it can connect (env MESHCACHE_NETWORK_KEY_FILE)',
  )
  .option('--allow-peer <peer id>', 'only these peers may connect, repeatable', collect)
  .option('--max-body-bytes <n>', 'largest HTTP request body (env MESHCACHE_MAX_BODY_BYTES)')
  .option(
    '--wan-routes <file>',
    "simulations only: dial through a WAN simulator's proxies listed in this JSON file",
  )
  .option('--config <file>', 'JSON file with the same settings (flags and env win)')
  .addOption(new Option('--admin', 'serve POST /admin/block and /admin/unblock (partition drills)'))
  .action(async (flags: NodeFlags) => {
    await runNode(resolveNodeSettings(flags))
    process.exit(0)
  })

program
  .command('keygen')
  .description('print a new network key (libp2p pnet); nodes started with it form a private mesh')
  .action(() => {
    process.stdout.write(createNetworkKey())
  })

program
  .command('status')
  .description("print a node's peers by region, RTT, replication lag and hit ratio")
  .option('--http <host:port>', 'HTTP API of the node', '127.0.0.1:8080')
  .action(async (opts: { http: string }) => {
    await runStatus(opts.http)
  })

program
  .command('demo')
  .description(
    'run a local 3-region mesh behind a simulated WAN: replicate, partition, heal, verify',
  )
  .option('--seconds <n>', 'seconds of each writing phase', '3')
  .option('--rate <n>', 'writes per second per node', '100')
  .option(
    '--matrix <file>',
    'latency matrix JSON (see docs/wan-matrix.example.json); default: 3 regions',
  )
  .action(async (opts: { seconds: string; rate: string; matrix?: string }) => {
    const seconds = Number(opts.seconds)
    const rate = Number(opts.rate)
    if (!(seconds > 0 && seconds <= 600) || !(rate > 0 && rate <= 10_000)) {
      throw new InvalidOptionError('--seconds must be in (0, 600] and --rate in (0, 10000]')
    }
    const result = await runDemo({
      phaseSeconds: seconds,
      rate,
      ...(opts.matrix ? { matrix: loadMatrix(opts.matrix) } : {}),
    })
    process.exit(result.converged ? 0 : 1)
  })

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof MeshcacheError) {
    console.error(`meshcache: ${err.message}`)
    process.exit(2)
  }
  console.error(err)
  process.exit(1)
}
