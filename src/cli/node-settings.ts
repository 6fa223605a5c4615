/**
 * The settings of `meshcache node`: the `--config` file applied under flags and
 * environment, then every value checked and converted once. Any bad value is an
 * `InvalidOptionError` (exit 2) naming the flag.
 * @module
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { InvalidOptionError, shown } from '../errors.js'
import { secondsOrDuration } from '../http/duration-text.js'
import { closestName } from '../http/known-names.js'
import { NODE_DEFAULTS } from '../node/cache-options.js'
import {
  checkKeyspaceName,
  type KeyspaceOptions,
  resolveKeyspaceOptions,
} from '../replica/keyspace-options.js'
import { WIRE_LIMITS, type WireLimits } from '../replication/limits.js'
import {
  booleanFlag,
  type EdgeSettings,
  edgeSettingsOf,
  hostPort,
  positiveInt,
} from './edge-settings.js'
import { LOG_LEVELS, type LogLevel } from './logger.js'
import { addNodeOptions, CONFIG_KEYS } from './node-options.js'

/** Settings of a headless node after flags, environment and config file are merged. */
export interface NodeSettings extends EdgeSettings {
  region: string
  listen: string[]
  peers: string[]
  http: { host: string; port: number }
  dataDir?: string
  maxEntries: number
  defaultTtl: string
  maxTtl: string
  /** Keyspaces opened at start with their own options (`--keyspace`, config `keyspaces`). */
  keyspaces: Record<string, KeyspaceOptions>
  snapshotInterval: string
  /** Link bounds (`--local-peers`, `--remote-peers`); the library's defaults when absent. */
  localPeers?: number
  remotePeers?: number
  networkKey?: string
  /** Routes file of a WAN simulator running elsewhere (simulations only). */
  wanRoutes?: string
  allowPeers?: string[]
  /** Largest HTTP request body, bytes. */
  maxBodyBytes: number
  /** HTTP slow-client cut-offs, ms. */
  headersTimeoutMs: number
  requestTimeoutMs: number
  /** Limits on replicated input (config file `limits`: maxKeyLength, maxValueBytes, ...). */
  limits?: Partial<WireLimits>
  admin: boolean
  logLevel: LogLevel
}

/** What the config file holds besides flag values. */
interface FileExtras {
  keyspaces?: unknown
  limits?: unknown
}

/**
 * Reads the `--config` file (or `MESHCACHE_CONFIG`) and sets every value that neither a
 * flag nor the environment set (commander's value source `config`).
 * @throws InvalidOptionError for an unreadable file or an unknown key
 */
export function applyConfigFile(cmd: Command): FileExtras {
  const path = cmd.getOptionValue('config') as string | undefined
  if (!path) return {}
  let file: unknown
  try {
    file = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    // No cause: a missing or broken file named on the command line is bad usage (exit 2).
    throw new InvalidOptionError(`cannot read config file ${path}: ${(cause as Error).message}`)
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new InvalidOptionError(`config file ${path} must hold a JSON object`)
  }
  const { keyspaces, limits, ...rest } = file as Record<string, unknown>
  for (const [key, value] of Object.entries(rest)) {
    const attr = CONFIG_KEYS[key]
    if (attr === undefined) {
      throw new InvalidOptionError(
        `config file ${path}: ${unknownName('setting', key, [...Object.keys(CONFIG_KEYS), 'keyspaces', 'limits'])}`,
      )
    }
    const source = cmd.getOptionValueSource(attr)
    if (source === undefined || source === 'default') {
      cmd.setOptionValueWithSource(attr, value, 'config')
    }
  }
  return { keyspaces, limits }
}

/**
 * A duration flag, taken as the HTTP API takes durations: a bare number is seconds
 * (`--default-ttl 300`, or `300` in the config file), otherwise a number with a unit.
 * @returns the text with its unit, as written (`300` becomes `300s`), for the library
 *   (which reads a bare number as ms) and for messages in the user's own unit
 */
function duration(value: unknown, flag: string): string {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string') {
    throw new InvalidOptionError(
      `${flag} must be a duration like '30s', '5m' or a number of seconds, got ${shown(value)}`,
    )
  }
  secondsOrDuration(text, flag)
  return /^\s*[\d.]+\s*$/.test(text) ? `${text.trim()}s` : text.trim()
}

/** Milliseconds of a duration text returned by {@link duration}. */
function ms(text: string): number {
  return secondsOrDuration(text, 'duration')
}

/**
 * A default TTL must not be longer than the maximum: said in the units the user wrote
 * (the library's own check speaks ms).
 * @param names - how the message names the two (`--default-ttl`, `--max-ttl`)
 */
function checkTtls(defaultTtl: string, maxTtl: string, names: [string, string], prefix = ''): void {
  if (ms(defaultTtl) > ms(maxTtl)) {
    const [d, m] = names
    throw new InvalidOptionError(
      `${prefix}${d} ${defaultTtl} is longer than ${m} (${maxTtl}); raise ${m} or lower ${d}`,
    )
  }
}

/** The message part naming an unknown `name` and, when one is near, the known one meant. */
function unknownName(kind: string, name: string, known: readonly string[]): string {
  const near = closestName(name, known)
  return `unknown ${kind} '${name}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; known: ${known.join(', ')}`
}

function stringList(value: unknown, flag: string): string[] | undefined {
  if (value === undefined || value === '') return undefined
  const list = typeof value === 'string' ? value.split(',') : value
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw new InvalidOptionError(`${flag} must be a list of strings`)
  }
  return list.map((s) => s.trim()).filter(Boolean)
}

const NUMERIC_KEYSPACE_OPTIONS = new Set([
  'maxEntries',
  'maxBytes',
  'maxKeyLength',
  'maxValueBytes',
  'maxIndexKeys',
])
const DURATION_KEYSPACE_OPTIONS = new Set(['defaultTtl', 'maxTtl'])

/** Checks one keyspace's options (numbers, durations with units); the library checks the rest. */
function keyspaceOptions(
  name: string,
  raw: Record<string, unknown>,
  where: string,
): KeyspaceOptions {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (NUMERIC_KEYSPACE_OPTIONS.has(k)) out[k] = positiveInt(v, `${where} ${name}.${k}`)
    else if (DURATION_KEYSPACE_OPTIONS.has(k)) out[k] = duration(v, `${where} ${name}.${k}`)
    else {
      throw new InvalidOptionError(
        `${where} ${name}: ${unknownName('option', k, [...NUMERIC_KEYSPACE_OPTIONS, ...DURATION_KEYSPACE_OPTIONS])}`,
      )
    }
  }
  return out as KeyspaceOptions
}

/**
 * Parses `--keyspace name:maxEntries=1000,defaultTtl=5m,maxTtl=7d` (options optional).
 * @throws InvalidOptionError naming what is wrong
 */
export function parseKeyspaceSpec(spec: string): [string, KeyspaceOptions] {
  const colon = spec.indexOf(':')
  const name = (colon === -1 ? spec : spec.slice(0, colon)).trim()
  try {
    checkKeyspaceName(name)
  } catch (err) {
    throw new InvalidOptionError(`--keyspace ${spec}: ${(err as Error).message}`)
  }
  const raw = Object.create(null) as Record<string, string>
  const rest = colon === -1 ? '' : spec.slice(colon + 1)
  for (const pair of rest.split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) {
      throw new InvalidOptionError(`--keyspace ${spec}: '${pair}' is not option=value`)
    }
    const option = pair.slice(0, eq).trim()
    if (Object.hasOwn(raw, option))
      throw new InvalidOptionError(`--keyspace ${spec}: ${option} is given twice`)
    raw[option] = pair.slice(eq + 1).trim()
  }
  return [name, keyspaceOptions(name, raw, '--keyspace')]
}

/** The configured keyspaces: the file's, with `--keyspace` (or env) options over them. */
function keyspacesOf(specs: unknown, fileKeyspaces: unknown): Record<string, KeyspaceOptions> {
  const out: Record<string, KeyspaceOptions> = {}
  if (fileKeyspaces !== undefined) {
    if (
      typeof fileKeyspaces !== 'object' ||
      fileKeyspaces === null ||
      Array.isArray(fileKeyspaces)
    ) {
      throw new InvalidOptionError('config keyspaces must be an object: {"name": {"maxTtl": "7d"}}')
    }
    for (const [name, raw] of Object.entries(fileKeyspaces)) {
      try {
        checkKeyspaceName(name)
      } catch (err) {
        throw new InvalidOptionError(`config keyspaces: ${(err as Error).message}`)
      }
      if (typeof raw !== 'object' || raw === null) {
        throw new InvalidOptionError(`config keyspaces.${name} must be an object of options`)
      }
      out[name] = keyspaceOptions(name, raw as Record<string, unknown>, 'config keyspaces')
    }
  }
  // Flags override the file; two flags setting one option of one keyspace are a mistake.
  const byFlags = new Map<string, string>()
  for (const spec of (specs as string[] | undefined) ?? []) {
    const [name, options] = parseKeyspaceSpec(spec)
    for (const option of Object.keys(options)) {
      const earlier = byFlags.get(`${name}.${option}`)
      if (earlier !== undefined) {
        throw new InvalidOptionError(
          `--keyspace ${spec}: ${name}.${option} is already set by --keyspace ${earlier}`,
        )
      }
      byFlags.set(`${name}.${option}`, spec)
    }
    out[name] = { ...out[name], ...options }
  }
  return out
}

function limitsOf(limits: unknown): Partial<WireLimits> | undefined {
  if (limits === undefined) return undefined
  if (typeof limits !== 'object' || limits === null) {
    throw new InvalidOptionError('config limits must be an object')
  }
  for (const [k, v] of Object.entries(limits)) {
    if (!(k in WIRE_LIMITS) || !Number.isSafeInteger(v) || (v as number) < 1) {
      throw new InvalidOptionError(
        `config limits.${k} must be a positive integer and one of ${Object.keys(WIRE_LIMITS).join(', ')}`,
      )
    }
  }
  return limits as Partial<WireLimits>
}

function readKeyFile(file: unknown): string | undefined {
  if (file === undefined || file === '') return undefined
  try {
    return readFileSync(String(file), 'utf8')
  } catch (cause) {
    // No cause: a missing file named on the command line is bad usage (exit 2).
    throw new InvalidOptionError(
      `cannot read network key file ${String(file)}: ${(cause as Error).message}`,
    )
  }
}

/**
 * Checks and converts the parsed values of `meshcache node` (flags, environment and
 * config file already merged by commander and {@link applyConfigFile}).
 * @throws InvalidOptionError naming the flag and what it accepts
 */
export function settingsOf(cmd: Command, extras: FileExtras): NodeSettings {
  const v = cmd.opts() as Record<string, unknown>
  const maxEntries = positiveInt(v.maxEntries, '--max-entries')
  const defaultTtl = duration(v.defaultTtl, '--default-ttl')
  const maxTtl = duration(v.maxTtl, '--max-ttl')
  checkTtls(defaultTtl, maxTtl, ['--default-ttl', '--max-ttl'])
  const cacheWide: KeyspaceOptions = { maxEntries, defaultTtl, maxTtl }
  resolveKeyspaceOptions(cacheWide)
  const keyspaces = keyspacesOf(v.keyspace, extras.keyspaces)
  for (const [name, options] of Object.entries(keyspaces)) {
    checkTtls(
      (options.defaultTtl as string | undefined) ?? defaultTtl,
      (options.maxTtl as string | undefined) ?? maxTtl,
      ['defaultTtl', 'maxTtl'],
      `keyspace ${name}: `,
    )
    resolveKeyspaceOptions(options, cacheWide)
  }
  const headersTimeoutMs = ms(duration(v.httpHeadersTimeout, '--http-headers-timeout'))
  const requestTimeoutMs = ms(duration(v.httpRequestTimeout, '--http-request-timeout'))
  if (headersTimeoutMs < 1 || requestTimeoutMs < headersTimeoutMs) {
    throw new InvalidOptionError(
      '--http-request-timeout must be at least --http-headers-timeout, and both above 0',
    )
  }
  const snapshotInterval = duration(v.snapshotInterval, '--snapshot-interval')
  if (ms(snapshotInterval) < NODE_DEFAULTS.minSnapshotIntervalMs) {
    throw new InvalidOptionError(
      `--snapshot-interval must be at least ${NODE_DEFAULTS.minSnapshotIntervalMs}ms, got ${snapshotInterval}`,
    )
  }
  const networkKey = readKeyFile(v.networkKeyFile)
  // An empty allowlist means no allowlist (everyone with the network key), as by default.
  const allowPeers = stringList(v.allowPeer, '--allow-peer')?.filter(Boolean)
  const limits = limitsOf(extras.limits)
  if (!(LOG_LEVELS as readonly unknown[]).includes(v.logLevel)) {
    throw new InvalidOptionError(
      `--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${String(v.logLevel)}`,
    )
  }
  const admin = booleanFlag(cmd, 'admin', 'MESHCACHE_ADMIN')
  if (v.dataDir !== undefined && typeof v.dataDir !== 'string') {
    throw new InvalidOptionError(`config dataDir must be a directory path, got ${shown(v.dataDir)}`)
  }
  const http = hostPort(v.http, '--http')
  if (typeof v.region !== 'string') {
    throw new InvalidOptionError(`config region must be a string, got ${shown(v.region)}`)
  }
  return {
    region: v.region,
    listen: stringList(v.listen, '--listen') ?? [],
    peers: stringList(v.peer, '--peer') ?? [],
    http,
    ...edgeSettingsOf(cmd, http),
    ...(v.dataDir ? { dataDir: String(v.dataDir) } : {}),
    maxEntries,
    defaultTtl,
    maxTtl,
    keyspaces,
    snapshotInterval,
    ...(v.localPeers !== undefined
      ? { localPeers: positiveInt(v.localPeers, '--local-peers') }
      : {}),
    ...(v.remotePeers !== undefined
      ? { remotePeers: positiveInt(v.remotePeers, '--remote-peers') }
      : {}),
    ...(networkKey ? { networkKey } : {}),
    ...(allowPeers && allowPeers.length > 0 ? { allowPeers } : {}),
    maxBodyBytes: positiveInt(v.maxBodyBytes, '--max-body-bytes'),
    headersTimeoutMs,
    requestTimeoutMs,
    ...(v.wanRoutes ? { wanRoutes: String(v.wanRoutes) } : {}),
    ...(limits ? { limits } : {}),
    admin,
    logLevel: v.logLevel as LogLevel,
  }
}

/**
 * The settings `meshcache node <argv>` would run with (flags, `process.env`, config
 * file), without running it: for tests and tools.
 * @throws InvalidOptionError for bad values; CommanderError for unknown flags
 */
export function parseNodeSettings(argv: readonly string[]): NodeSettings {
  const cmd = addNodeOptions(new Command('node'))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
  cmd.parse([...argv], { from: 'user' })
  return settingsOf(cmd, applyConfigFile(cmd))
}
