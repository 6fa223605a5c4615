import type { Cache } from '../api/cache.js'
import { meshNodeOf } from '../node/internals.js'

/** The parts of a libp2p node and its gossipsub that hold the timers below. */
interface Libp2pInternals {
  services: {
    pubsub: {
      status?: { heartbeatTimeout?: ReturnType<typeof setTimeout> }
      stop(): Promise<void>
    }
  }
  components: { addressManager?: { _updatePeerStoreAddresses?: { stop?: () => void } } }
}

/**
 * A stopped js-libp2p node leaves two timers behind, and each keeps the process alive for
 * up to a second after `close()` (found with `process.getActiveResourcesInfo()`):
 * - @libp2p/gossipsub 17.1.1: `stop()` replaces its `status` without clearing
 *   `status.heartbeatTimeout`, the next heartbeat (up to `heartbeatInterval`, 1 s, away);
 * - libp2p 3.3.11: the address manager debounces peer-store updates by 1 s on
 *   `transport:close`, which the listeners emit while the node stops, and never cancels it.
 * This clears both, for one cache: the heartbeat as gossipsub stops, the debounce once
 * the node stopped. Returns what to call after `cache.close()`. Nodes that are not
 * libp2p nodes, or whose internals changed shape, are left alone.
 */
export function releaseLibp2pTimers(cache: Cache<unknown>): () => void {
  const node = meshNodeOf(cache)?.node as unknown as Libp2pInternals | undefined
  const pubsub = node?.services?.pubsub
  if (pubsub !== undefined && typeof pubsub.stop === 'function') {
    const stop = pubsub.stop.bind(pubsub)
    pubsub.stop = () => {
      clearTimeout(pubsub.status?.heartbeatTimeout)
      return stop()
    }
  }
  return () => node?.components?.addressManager?._updatePeerStoreAddresses?.stop?.()
}
