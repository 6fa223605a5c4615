/**
 * The flags of `meshcache node`, each with its default and environment variable
 * (commander's `Option.default()` and `Option.env()`): `--help` lists both. Precedence:
 * flags > environment > `--config` file > defaults; the file is applied by
 * `applyConfigFile` after commander has parsed flags and environment. Durations are
 * taken as over HTTP: a bare number is seconds (`--default-ttl 300`), or a unit (`5m`).
 * @module
 */
import { type Command, Option } from 'commander'
import { HTTP_DEFAULTS } from '../http/http-api.js'
import { KEYSPACE_DEFAULTS } from '../replica/keyspace-options.js'
import { addEdgeOptions, EDGE_CONFIG_KEYS } from './edge-options.js'
import { LOG_LEVELS } from './logger.js'

/** Defaults of `meshcache node` that are not the library's. */
export const NODE_COMMAND_DEFAULTS = {
  region: 'local',
  listen: '/ip4/127.0.0.1/tcp/7946',
  http: `${HTTP_DEFAULTS.host}:${HTTP_DEFAULTS.port}`,
  snapshotInterval: '5s',
  logLevel: 'info',
  headersTimeout: `${HTTP_DEFAULTS.headersTimeoutMs / 1_000}s`,
  requestTimeout: `${HTTP_DEFAULTS.requestTimeoutMs / 1_000}s`,
} as const

/** A repeatable flag whose values may also be lists (`a,b` from the environment). */
function listOf(separator: string, defaults?: readonly string[]) {
  return (value: string, previous: string[] | undefined): string[] => [
    ...(previous === undefined || previous === defaults ? [] : previous),
    ...value
      .split(separator)
      .map((s) => s.trim())
      .filter(Boolean),
  ]
}

const LISTEN_DEFAULT: readonly string[] = [NODE_COMMAND_DEFAULTS.listen]
const NONE: readonly string[] = []

/**
 * Config file keys and the flag attribute each one sets. `keyspaces` and `limits` have
 * no flag of their own (`--keyspace` adds to `keyspaces`).
 */
export const CONFIG_KEYS: Readonly<Record<string, string>> = {
  region: 'region',
  listen: 'listen',
  peers: 'peer',
  http: 'http',
  dataDir: 'dataDir',
  maxEntries: 'maxEntries',
  defaultTtl: 'defaultTtl',
  maxTtl: 'maxTtl',
  snapshotInterval: 'snapshotInterval',
  networkKeyFile: 'networkKeyFile',
  allowPeers: 'allowPeer',
  maxBodyBytes: 'maxBodyBytes',
  httpHeadersTimeout: 'httpHeadersTimeout',
  httpRequestTimeout: 'httpRequestTimeout',
  logLevel: 'logLevel',
  admin: 'admin',
  ...EDGE_CONFIG_KEYS,
}

/** Adds every flag of `meshcache node` to `cmd`. */
export function addNodeOptions(cmd: Command): Command {
  const opt = (flags: string, description: string, env: string) =>
    new Option(flags, description).env(env)
  cmd
    .addOption(
      opt('--region <name>', 'region tag of this node', 'MESHCACHE_REGION').default(
        NODE_COMMAND_DEFAULTS.region,
      ),
    )
    .addOption(
      opt(
        '--listen <multiaddr>',
        'libp2p address to listen on; repeatable, or comma-separated',
        'MESHCACHE_LISTEN',
      )
        .argParser(listOf(',', LISTEN_DEFAULT))
        .default(LISTEN_DEFAULT, NODE_COMMAND_DEFAULTS.listen),
    )
    .addOption(
      opt(
        '--peer <multiaddr>',
        'bootstrap peer with /p2p/<id>; repeatable, or comma-separated',
        'MESHCACHE_PEERS',
      )
        .argParser(listOf(',', NONE))
        .default(NONE, 'none'),
    )
    .addOption(
      opt('--http <host:port>', 'HTTP API address', 'MESHCACHE_HTTP').default(
        NODE_COMMAND_DEFAULTS.http,
      ),
    )
    .addOption(
      opt(
        '--data-dir <dir>',
        'identity and snapshots: the peer id and entries survive restarts',
        'MESHCACHE_DATA_DIR',
      ).default('', 'none, memory only'),
    )
    .addOption(
      opt('--max-entries <n>', 'most entries per keyspace', 'MESHCACHE_MAX_ENTRIES').default(
        String(KEYSPACE_DEFAULTS.maxEntries),
      ),
    )
    .addOption(
      opt(
        '--default-ttl <duration>',
        'TTL of writes that name none: seconds, or a duration (500ms, 30s, 5m, 1h, 1d)',
        'MESHCACHE_DEFAULT_TTL',
      ).default(KEYSPACE_DEFAULTS.defaultTtl),
    )
    .addOption(
      opt(
        '--max-ttl <duration>',
        'longest TTL and tombstone lifetime (seconds or a duration); must match across the mesh',
        'MESHCACHE_MAX_TTL',
      ).default(KEYSPACE_DEFAULTS.maxTtl),
    )
    .addOption(
      opt(
        '--keyspace <spec>',
        'open keyspace at start with its own options, e.g. sessions:maxEntries=1000,defaultTtl=5m,maxTtl=7d; repeatable (env: ;-separated)',
        'MESHCACHE_KEYSPACES',
      )
        .argParser(listOf(';', NONE))
        .default(NONE, 'none'),
    )
    .addOption(
      opt(
        '--local-peers <n>',
        'most same-region peers to keep connections to (library default: 6)',
        'MESHCACHE_LOCAL_PEERS',
      ),
    )
    .addOption(
      opt(
        '--remote-peers <n>',
        'peers to link to in each other region (library default: 2)',
        'MESHCACHE_REMOTE_PEERS',
      ),
    )
    .addOption(
      opt(
        '--snapshot-interval <duration>',
        'how often entries are saved to --data-dir (at least 100ms)',
        'MESHCACHE_SNAPSHOT_INTERVAL',
      ).default(NODE_COMMAND_DEFAULTS.snapshotInterval),
    )
    .addOption(
      opt(
        '--network-key-file <file>',
        'pre-shared key from `meshcache keygen`: only nodes holding it can connect',
        'MESHCACHE_NETWORK_KEY_FILE',
      ).default('', 'none'),
    )
    .addOption(
      opt(
        '--allow-peer <peer id>',
        'only these peers may connect; repeatable, or comma-separated',
        'MESHCACHE_ALLOW_PEERS',
      )
        .argParser(listOf(',', NONE))
        .default(NONE, 'everyone'),
    )
    .addOption(
      opt('--max-body-bytes <n>', 'largest HTTP request body', 'MESHCACHE_MAX_BODY_BYTES').default(
        String(HTTP_DEFAULTS.maxBodyBytes),
      ),
    )
    .addOption(
      opt(
        '--http-headers-timeout <duration>',
        'cut HTTP clients that take longer to send their headers',
        'MESHCACHE_HTTP_HEADERS_TIMEOUT',
      ).default(NODE_COMMAND_DEFAULTS.headersTimeout),
    )
    .addOption(
      opt(
        '--http-request-timeout <duration>',
        'cut HTTP clients that take longer to send a whole request',
        'MESHCACHE_HTTP_REQUEST_TIMEOUT',
      ).default(NODE_COMMAND_DEFAULTS.requestTimeout),
    )
    .addOption(
      opt('--log-level <level>', 'level of the JSON logs on stderr', 'MESHCACHE_LOG_LEVEL')
        .choices(LOG_LEVELS)
        .default(NODE_COMMAND_DEFAULTS.logLevel),
    )
    .addOption(
      opt(
        '--admin',
        'serve POST /admin/block and /admin/unblock (partition drills; env: 1 or 0)',
        'MESHCACHE_ADMIN',
      ).default(false, 'off'),
    )
    .addOption(
      opt(
        '--config <file>',
        'JSON file with the same settings, plus keyspaces and limits (flags and env win)',
        'MESHCACHE_CONFIG',
      ).default('', 'none'),
    )
    .addOption(new Option('--verbose', 'print the stack of a startup failure'))
    .addOption(
      // Simulations only: not part of the operator's interface.
      new Option(
        '--wan-routes <file>',
        "dial through a WAN simulator's proxies listed in this JSON file",
      ).hideHelp(),
    )
  return addEdgeOptions(cmd)
}
