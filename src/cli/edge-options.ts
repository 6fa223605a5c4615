/**
 * The flags of `meshcache node` for its edges beyond the HTTP API's basics: the RESP
 * listener (`--resp*`) and credentials (`--http-token-file`, `--metrics-public`,
 * `--resp-password-file`), each with its environment variable and config file key.
 * @module
 */
import { type Command, Option } from 'commander'
import { RESP_DEFAULTS } from '../resp/resp-defaults.js'

/** Config file keys of these flags, and the flag attribute each one sets. */
export const EDGE_CONFIG_KEYS: Readonly<Record<string, string>> = {
  resp: 'resp',
  respPasswordFile: 'respPasswordFile',
  respKeyspaces: 'respKeyspaces',
  respPrefixRouting: 'respPrefixRouting',
  respMaxClients: 'respMaxClients',
  httpTokenFile: 'httpTokenFile',
  metricsPublic: 'metricsPublic',
  httpTlsCert: 'httpTlsCert',
  httpTlsKey: 'httpTlsKey',
}

/** Adds the edge flags to `cmd`. */
export function addEdgeOptions(cmd: Command): Command {
  const opt = (flags: string, description: string, env: string) =>
    new Option(flags, description).env(env)
  return cmd
    .addOption(
      opt(
        '--resp <host:port>',
        'also serve the Redis protocol (RESP2/RESP3) here, e.g. 127.0.0.1:6379',
        'MESHCACHE_RESP',
      ).default('', 'off'),
    )
    .addOption(
      opt(
        '--resp-password-file <file>',
        'RESP clients must AUTH with a password of this file (one per line)',
        'MESHCACHE_RESP_PASSWORD_FILE',
      ).default('', 'none'),
    )
    .addOption(
      opt(
        '--resp-keyspaces <names>',
        'keyspaces of Redis databases 0, 1, ... (SELECT n), comma-separated',
        'MESHCACHE_RESP_KEYSPACES',
      ).default(RESP_DEFAULTS.keyspaces.join(',')),
    )
    .addOption(
      opt(
        '--resp-prefix-routing',
        'in database 0, key NAME:rest is key rest of keyspace NAME (a listed keyspace; env: 1 or 0)',
        'MESHCACHE_RESP_PREFIX_ROUTING',
      ).default(false, 'off'),
    )
    .addOption(
      opt(
        '--resp-max-clients <n>',
        'most RESP connections at once',
        'MESHCACHE_RESP_MAX_CLIENTS',
      ).default(String(RESP_DEFAULTS.maxClients)),
    )
    .addOption(
      opt(
        '--http-token-file <file>',
        'every HTTP route but /health/* needs Authorization: Bearer <a token of this file, one per line>',
        'MESHCACHE_HTTP_TOKEN_FILE',
      ).default('', 'none'),
    )
    .addOption(
      opt(
        '--metrics-public',
        'serve /metrics, /status and /status/mesh without the token (env: 1 or 0)',
        'MESHCACHE_METRICS_PUBLIC',
      ).default(false, 'off'),
    )
    .addOption(
      opt(
        '--http-tls-cert <file>',
        'serve HTTPS with this PEM certificate (chain) and --http-tls-key',
        'MESHCACHE_HTTP_TLS_CERT',
      ).default('', 'none'),
    )
    .addOption(
      opt(
        '--http-tls-key <file>',
        'PEM private key of --http-tls-cert',
        'MESHCACHE_HTTP_TLS_KEY',
      ).default('', 'none'),
    )
}
