import { Cache, type CacheOptions } from './cache.js'

/**
 * Creates a cache. With no options: an in-process LRU+TTL cache (100k entries, 10 min
 * default TTL). With `listen` or `peers`: a node of a replicated mesh, same API.
 * @throws InvalidOptionError for invalid options, with what to change
 */
export async function createCache<V = unknown>(options: CacheOptions = {}): Promise<Cache<V>> {
  if (options.listen === undefined && options.peers === undefined) {
    return new Cache<V>(options)
  }
  // The mesh pulls in libp2p; embedded users never load it.
  const { startMesh } = await import('../mesh/start-mesh.js')
  return startMesh<V>(options)
}
