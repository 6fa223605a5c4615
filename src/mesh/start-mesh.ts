import createDebug from 'debug'
import { Cache, type CacheOptions } from '../api/cache.js'
import { parseDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { loadOrCreateIdentity } from '../persist/identity.js'
import { loadSnapshot, saveSnapshot } from '../persist/snapshot.js'
import { createMeshLibp2p } from './libp2p-node.js'
import { MeshNode } from './mesh-node.js'
import { parseNetworkKey } from './network-key.js'
import { PeerGate } from './peer-gate.js'

const log = createDebug('meshcache:persist')

/**
 * Starts a cache that is a node of a mesh: builds libp2p, wires the mesh adapter,
 * dials the bootstrap peers (in the background; unreachable peers are retried).
 * @throws InvalidOptionError for bad listen or peer addresses
 */
export async function startMesh<V>(options: CacheOptions): Promise<Cache<V>> {
  const listen = options.listen ?? ['/ip4/127.0.0.1/tcp/0']
  const peers = options.peers ?? []
  if (!Array.isArray(listen) || !listen.every((a) => typeof a === 'string')) {
    throw new InvalidOptionError(
      `listen must be an array of multiaddr strings, e.g. ['/ip4/0.0.0.0/tcp/7946']`,
    )
  }
  if (!Array.isArray(peers) || !peers.every((a) => typeof a === 'string' && a.includes('/p2p/'))) {
    throw new InvalidOptionError(
      `peers must be multiaddr strings that end in /p2p/<peer id>, e.g. '/ip4/10.0.0.1/tcp/7946/p2p/12D3Koo...'`,
    )
  }
  // Validate cache options before any socket is opened.
  void new Cache(options, 'validate').close()
  const dataDir = options.dataDir
  const snapshotMs = parseDuration(options.snapshotInterval ?? '5s', 'snapshotInterval')
  if (snapshotMs < 100)
    throw new InvalidOptionError(`snapshotInterval must be at least 100 ms, got ${snapshotMs}`)
  const privateKey = dataDir === undefined ? undefined : await loadOrCreateIdentity(dataDir)
  const networkKey =
    options.networkKey === undefined ? undefined : parseNetworkKey(options.networkKey)
  if (
    options.allowPeers !== undefined &&
    !(Array.isArray(options.allowPeers) && options.allowPeers.every((p) => typeof p === 'string'))
  ) {
    throw new InvalidOptionError('allowPeers must be an array of peer id strings')
  }
  const gate = new PeerGate(options.allowPeers)
  let node: Awaited<ReturnType<typeof createMeshLibp2p>>
  try {
    node = await createMeshLibp2p({
      listen,
      gate,
      ...(privateKey ? { privateKey } : {}),
      ...(networkKey ? { networkKey } : {}),
      ...(options.mesh?.dialRewrite ? { dialRewrite: options.mesh.dialRewrite } : {}),
    })
  } catch (cause) {
    throw new InvalidOptionError(
      `cannot listen on ${listen.join(', ')}: ${(cause as Error).message}`,
      { cause },
    )
  }
  const cache = new Cache<V>(options, node.peerId.toString())
  const mesh = new MeshNode(node, cache as Cache<unknown>, options.mesh ?? {}, gate)
  if (dataDir !== undefined) {
    loadSnapshot(cache as Cache<unknown>, dataDir)
    const timer = setInterval(() => {
      try {
        saveSnapshot(cache as Cache<unknown>, dataDir)
      } catch (err) {
        log('snapshot failed: %s', (err as Error).message)
      }
    }, snapshotMs)
    timer.unref()
    mesh.beforeClose(() => {
      clearInterval(timer)
      try {
        saveSnapshot(cache as Cache<unknown>, dataDir)
      } catch (err) {
        log('final snapshot failed: %s', (err as Error).message)
      }
    })
  }
  cache.attachMesh(mesh)
  await mesh.start(peers)
  return cache
}
