import { randomBytes } from 'node:crypto'
import { DEFAULT_MAX_DRIFT_MS } from '../clock/hlc.js'
import { type Duration, parseDuration } from '../duration.js'
import { InvalidOptionError, shown } from '../errors.js'
import { type ResolvedMeshOptions, resolveMeshOptions } from '../mesh/defaults.js'
import { checkOptionNames } from '../option-names.js'
import type { MeshOptions } from '../ports/mesh-options.js'
import {
  KEYSPACE_OPTION_NAMES,
  type KeyspaceOptions,
  NAME_RE,
  resolveKeyspaceOptions,
  stripUndefined,
} from '../replica/keyspace-options.js'
import { checkWireLimits } from '../replica/replica-registry.js'
import type { WireLimits } from '../replication/limits.js'
import { isWellFormed } from '../replication/value-check.js'

/** Options of `createCache`; every one is optional. Keyspace options are defaults for every keyspace. */
export interface CacheOptions extends KeyspaceOptions {
  /** Region tag of this node; peers in the same region are preferred for reads. @default 'local' */
  region?: string
  /** libp2p multiaddrs to listen on; giving `listen` or `peers` makes this node join a mesh. */
  listen?: string[]
  /** Bootstrap peers' multiaddrs (with `/p2p/<peer id>`). */
  peers?: string[]
  /**
   * Pre-shared network key (libp2p pnet swarm key text, from `meshcache keygen`): nodes
   * without it cannot connect at all. Links are Noise-encrypted either way.
   */
  networkKey?: string | Uint8Array
  /** Peer ids allowed to connect; others are refused at connection time. @default everyone (with the network key) */
  allowPeers?: string[]
  /** Largest amount a remote write's clock may run ahead of ours; later ones are rejected. @default '1m' */
  maxClockDrift?: Duration
  /**
   * Least time between two steps of the background sweep that frees expired entries
   * (reads never return them anyway); each step examines up to 5,000 keys per keyspace.
   * The sweep sleeps until an entry is due, so an idle cache does not wake. @default '100ms'
   */
  purgeInterval?: Duration
  /**
   * Id of this node in versions, for an embedded cache (a mesh node's is its libp2p peer
   * id: refused with `listen`/`peers`). @default random
   */
  nodeId?: string
  /**
   * Directory for the node's identity (in a mesh, its peer id survives restarts) and
   * periodic snapshots of its entries (a restarted node, embedded or in a mesh, starts
   * warm; in a mesh anti-entropy then catches up).
   */
  dataDir?: string
  /** How often entries are snapshotted to `dataDir`. @default '5s' */
  snapshotInterval?: Duration
  /** Mesh-only tuning: batching, timers, wire limits. */
  mesh?: MeshOptions
}

/** Defaults of the node layer; times in ms. */
export const NODE_DEFAULTS = {
  region: 'local',
  maxClockDriftMs: DEFAULT_MAX_DRIFT_MS,
  purgeIntervalMs: 100,
  minPurgeIntervalMs: 10,
  snapshotIntervalMs: 5_000,
  minSnapshotIntervalMs: 100,
  /** Listen address of a node given `peers` but no `listen`. */
  listen: ['/ip4/127.0.0.1/tcp/0'],
} as const

/** {@link CacheOptions} checked once, defaults applied, times in ms. */
export interface ResolvedCacheOptions {
  region: string
  nodeId: string | undefined
  maxClockDriftMs: number
  purgeIntervalMs: number
  snapshotIntervalMs: number
  dataDir: string | undefined
  keyspaceDefaults: KeyspaceOptions
  /** Set when the cache joins a mesh (`listen` or `peers` given). */
  mesh: ResolvedMeshStart | undefined
}

/** What a mesh node starts from: addresses, access, mesh options with defaults applied. */
export interface ResolvedMeshStart {
  listen: string[]
  peers: string[]
  allowPeers: string[] | undefined
  /** The pre-shared key text or bytes, unparsed (libp2p parses it where it is loaded). */
  networkKey: CacheOptions['networkKey']
  opts: ResolvedMeshOptions
  limits: WireLimits
  dialRewrite: MeshOptions['dialRewrite']
}

const KNOWN_OPTIONS = new Set([
  'region',
  'listen',
  'peers',
  'networkKey',
  'allowPeers',
  'maxClockDrift',
  'purgeInterval',
  'nodeId',
  'dataDir',
  'snapshotInterval',
  'mesh',
  ...KEYSPACE_OPTION_NAMES,
])

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((a) => typeof a === 'string')

/**
 * Checks every option of `createCache` once, before anything is built or opened.
 * (libp2p-specific checks of addresses, keys and peer ids happen where libp2p is loaded.)
 * @throws InvalidOptionError naming the option and what it accepts
 */
export function resolveCacheOptions(options: CacheOptions): ResolvedCacheOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('createCache options must be an object')
  checkOptionNames(options, KNOWN_OPTIONS, '')
  const region = options.region ?? NODE_DEFAULTS.region
  if (typeof region !== 'string' || !NAME_RE.test(region)) {
    throw new InvalidOptionError(
      `region must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${shown(region)}`,
    )
  }
  if (
    options.nodeId !== undefined &&
    (typeof options.nodeId !== 'string' ||
      !options.nodeId ||
      options.nodeId.length > 128 ||
      !isWellFormed(options.nodeId))
  )
    throw new InvalidOptionError(
      'nodeId must be a string of 1 to 128 characters, without lone surrogates (UTF-8 cannot carry them)',
    )
  const purgeIntervalMs =
    options.purgeInterval === undefined
      ? NODE_DEFAULTS.purgeIntervalMs
      : parseDuration(options.purgeInterval, 'purgeInterval')
  if (purgeIntervalMs < NODE_DEFAULTS.minPurgeIntervalMs)
    throw new InvalidOptionError(
      `purgeInterval must be at least ${NODE_DEFAULTS.minPurgeIntervalMs} ms, got ${purgeIntervalMs}`,
    )
  const snapshotIntervalMs =
    options.snapshotInterval === undefined
      ? NODE_DEFAULTS.snapshotIntervalMs
      : parseDuration(options.snapshotInterval, 'snapshotInterval')
  if (snapshotIntervalMs < NODE_DEFAULTS.minSnapshotIntervalMs)
    throw new InvalidOptionError(
      `snapshotInterval must be at least ${NODE_DEFAULTS.minSnapshotIntervalMs} ms, got ${snapshotIntervalMs}`,
    )
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || !options.dataDir))
    throw new InvalidOptionError('dataDir must be a directory path')
  const { maxEntries, maxBytes, defaultTtl, maxTtl, maxKeyLength, maxValueBytes, maxIndexKeys } =
    options
  const keyspaceDefaults = stripUndefined({
    maxEntries,
    maxBytes,
    defaultTtl,
    maxTtl,
    maxKeyLength,
    maxValueBytes,
    maxIndexKeys,
  })
  // Validate the cache-wide keyspace defaults now, so a bad option fails at createCache().
  const defaultsResolved = resolveKeyspaceOptions(keyspaceDefaults)
  let mesh: ResolvedCacheOptions['mesh']
  if (options.listen !== undefined || options.peers !== undefined) {
    const listen = options.listen ?? [...NODE_DEFAULTS.listen]
    const peers = options.peers ?? []
    if (!isStringArray(listen)) {
      throw new InvalidOptionError(
        `listen must be an array of multiaddr strings, e.g. ['/ip4/0.0.0.0/tcp/7946']`,
      )
    }
    if (!isStringArray(peers) || !peers.every((a) => a.includes('/p2p/'))) {
      throw new InvalidOptionError(
        `peers must be multiaddr strings that end in /p2p/<peer id>, e.g. '/ip4/10.0.0.1/tcp/7946/p2p/12D3Koo...'`,
      )
    }
    if (options.allowPeers !== undefined && !isStringArray(options.allowPeers))
      throw new InvalidOptionError('allowPeers must be an array of peer id strings')
    // A mesh node's id is its peer id (peers check a batch's origin against the link
    // that carried it): a nodeId given here would be replaced without a word.
    if (options.nodeId !== undefined)
      throw new InvalidOptionError(
        'nodeId is for an embedded cache: in a mesh a node is named by its libp2p peer id (kept in dataDir); leave nodeId out',
      )
    const { opts, limits } = resolveMeshOptions(options.mesh)
    checkWireLimits('default', defaultsResolved, limits)
    mesh = {
      listen,
      peers,
      allowPeers: options.allowPeers,
      networkKey: options.networkKey,
      opts,
      limits,
      dialRewrite: options.mesh?.dialRewrite,
    }
  } else {
    if (options.allowPeers !== undefined && !isStringArray(options.allowPeers))
      throw new InvalidOptionError('allowPeers must be an array of peer id strings')
    // Checked even without a mesh: a typo is an error whether or not it would matter now.
    resolveMeshOptions(options.mesh)
  }
  return {
    region,
    nodeId: options.nodeId,
    maxClockDriftMs:
      options.maxClockDrift === undefined
        ? NODE_DEFAULTS.maxClockDriftMs
        : parseDuration(options.maxClockDrift, 'maxClockDrift'),
    purgeIntervalMs,
    snapshotIntervalMs,
    dataDir: options.dataDir,
    keyspaceDefaults,
    mesh,
  }
}

/** A random node id for a cache outside a mesh. */
export function randomNodeId(): string {
  return randomBytes(8).toString('hex')
}
