/**
 * The edge settings of `meshcache node`: the RESP listener and the credentials of both
 * edges, checked once. An edge bound beyond loopback without a credential is refused
 * (exit 2): anything on the network could otherwise read and write the cache.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { isLoopbackHost } from '../edge/bind-address.js'
import { readCredentialFile } from '../edge/credentials.js'
import { InvalidOptionError, shown } from '../errors.js'
import { checkKeyspaceName } from '../replica/keyspace-options.js'

/** Settings of the RESP listener. */
export interface RespSettings {
  host: string
  port: number
  /** Accepted `AUTH` passwords; absent: no `AUTH`. */
  passwords?: string[]
  /** Keyspaces of databases 0, 1, ... */
  keyspaces: string[]
  prefixRouting: boolean
  maxClients: number
}

/** The edge part of {@link NodeSettings}. */
export interface EdgeSettings {
  /** The RESP listener; absent: off. */
  resp?: RespSettings
  /** Accepted HTTP bearer tokens; absent: no authentication. */
  httpTokens?: string[]
  /** `/metrics` and `/status` without the token. */
  metricsPublic: boolean
  /** PEM certificate and key: the HTTP API serves HTTPS. */
  httpTls?: { cert: string; key: string }
}

/** A `host:port` flag. @throws InvalidOptionError */
export function hostPort(value: unknown, flag: string): { host: string; port: number } {
  // An IPv6 host is bracketed ([::1]:6379); any other host has no colon.
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(String(value))
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || port > 65_535) {
    throw new InvalidOptionError(
      `${flag} must be HOST:PORT, e.g. 127.0.0.1:6379 or [::1]:6379, got ${String(value)}`,
    )
  }
  return { host: (m[1] ?? m[2])!, port }
}

/**
 * A boolean flag: from the environment `0`, `false` and the empty string are off
 * (commander takes any value as on); from a config file it must be a boolean.
 */
export function booleanFlag(cmd: Command, attr: string, env: string): boolean {
  const source = cmd.getOptionValueSource(attr)
  if (source === 'env') return !['0', 'false', ''].includes(process.env[env] ?? '')
  const v = cmd.getOptionValue(attr) as unknown
  if (source === 'config' && typeof v !== 'boolean') {
    throw new InvalidOptionError(`config ${attr} must be true or false, got ${shown(v)}`)
  }
  return v === true
}

/**
 * A count from a flag or a config file: decimal digits only (`0x10`, `1e3` and `0b1000`
 * are typos more often than intent). @throws InvalidOptionError
 */
export function positiveInt(value: unknown, flag: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : Number.NaN
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidOptionError(`${flag} must be a positive integer, got ${String(value)}`)
  }
  return n
}

function keyspaceList(value: unknown): string[] {
  const list = Array.isArray(value) ? value.map(String) : String(value).split(',')
  const names = list.map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new InvalidOptionError('--resp-keyspaces needs at least one name')
  for (const name of names) {
    try {
      checkKeyspaceName(name)
    } catch (err) {
      throw new InvalidOptionError(`--resp-keyspaces: ${(err as Error).message}`)
    }
  }
  if (new Set(names).size !== names.length) {
    throw new InvalidOptionError(`--resp-keyspaces lists a keyspace twice: ${names.join(',')}`)
  }
  return names
}

function pemFile(path: unknown, flag: string): string {
  try {
    return readFileSync(String(path), 'utf8')
  } catch (cause) {
    throw new InvalidOptionError(`cannot read ${flag} ${String(path)}: ${(cause as Error).message}`)
  }
}

/** Refuses an edge reachable from other hosts without a credential. */
function requireCredential(
  address: { host: string; port: number },
  flag: string,
  credential: string,
  has: boolean,
): void {
  if (has || isLoopbackHost(address.host)) return
  throw new InvalidOptionError(
    `${flag} ${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port} is reachable from other hosts: give ${credential}, or bind a loopback address such as 127.0.0.1`,
  )
}

/**
 * Checks and converts the edge flags.
 * @param http - the checked `--http` address (its bind is checked against the tokens)
 * @throws InvalidOptionError naming the flag
 */
export function edgeSettingsOf(cmd: Command, http: { host: string; port: number }): EdgeSettings {
  const v = cmd.opts() as Record<string, unknown>
  const httpTokens = v.httpTokenFile
    ? readCredentialFile(String(v.httpTokenFile), '--http-token-file')
    : undefined
  requireCredential(http, '--http', '--http-token-file', httpTokens !== undefined)
  const certFile = v.httpTlsCert ? String(v.httpTlsCert) : ''
  const keyFile = v.httpTlsKey ? String(v.httpTlsKey) : ''
  if ((certFile === '') !== (keyFile === '')) {
    throw new InvalidOptionError(
      '--http-tls-cert and --http-tls-key go together: give both or neither',
    )
  }
  const httpTls =
    certFile === ''
      ? undefined
      : { cert: pemFile(certFile, '--http-tls-cert'), key: pemFile(keyFile, '--http-tls-key') }
  let resp: RespSettings | undefined
  if (v.resp) {
    const address = hostPort(v.resp, '--resp')
    const passwords = v.respPasswordFile
      ? readCredentialFile(String(v.respPasswordFile), '--resp-password-file')
      : undefined
    requireCredential(address, '--resp', '--resp-password-file', passwords !== undefined)
    resp = {
      ...address,
      ...(passwords ? { passwords } : {}),
      keyspaces: keyspaceList(v.respKeyspaces),
      prefixRouting: booleanFlag(cmd, 'respPrefixRouting', 'MESHCACHE_RESP_PREFIX_ROUTING'),
      maxClients: positiveInt(v.respMaxClients, '--resp-max-clients'),
    }
  } else if (v.respPasswordFile) {
    throw new InvalidOptionError('--resp-password-file needs --resp')
  }
  return {
    ...(resp ? { resp } : {}),
    ...(httpTokens ? { httpTokens } : {}),
    metricsPublic: booleanFlag(cmd, 'metricsPublic', 'MESHCACHE_METRICS_PUBLIC'),
    ...(httpTls ? { httpTls } : {}),
  }
}
