/**
 * The `meshcache` command line: `node`, `status`, `keygen`, `demo`. Failures are one
 * line on stderr with exit code 2 (bad usage) or 1 (runtime); `--verbose` adds the stack.
 * Loaded by main.ts once the Node.js version is known to be recent enough.
 * @module
 */
import { Command, CommanderError } from 'commander'
import { InvalidOptionError } from '../errors.js'
import { createNetworkKey } from '../mesh/network-key.js'
import { loadMatrix } from '../sim/latency-matrix.js'
import { runDemo } from './demo.js'
import { EXIT_CODES, reportFailure } from './failures.js'
import { createLogger } from './logger.js'
import { runMeshStatus } from './mesh-status-command.js'
import { runNode } from './node-command.js'
import { addNodeOptions } from './node-options.js'
import { applyConfigFile, settingsOf } from './node-settings.js'
import { packageVersion } from './package-version.js'
import { runStatus } from './status-command.js'

const version = packageVersion()
const program = new Command()
program
  .name('meshcache')
  .description('A geo-distributed LRU cache with time expiration, on a libp2p mesh.')
  .version(version, '-V, --version', 'print the version')
  .configureOutput({ outputError: (text, write) => write(`meshcache: ${text}`) })
  .exitOverride()

addNodeOptions(
  program
    .command('node')
    .description('run a headless node with an HTTP API (a sidecar for services in any language)'),
).action(async (_opts: unknown, cmd: Command) => {
  const settings = settingsOf(cmd, applyConfigFile(cmd))
  await runNode(settings, createLogger(settings.logLevel), version)
  process.exit(EXIT_CODES.ok)
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
  .option(
    '--mesh',
    'print the whole mesh as the node sees it: region x region lag (p50/p99), hubs, flagged nodes',
  )
  .option('--token-file <file>', 'bearer token for a node with --http-token-file (its first line)')
  .option('--verbose', 'print the stack of a failure')
  .action(async (opts: { http: string; mesh?: boolean; tokenFile?: string }) => {
    const at = { http: opts.http, ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}) }
    await (opts.mesh ? runMeshStatus(at) : runStatus(at))
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
  if (err instanceof CommanderError) {
    // Commander printed its own one-line message (or the help / version).
    process.exit(err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage)
  }
  process.exit(reportFailure(err, process.argv.includes('--verbose')))
}
