/** Gossipsub topic prefix of keyspace topics. */
export const TOPIC_PREFIX = '/meshcache/1/ks/'

/** The gossipsub topic that carries a keyspace's writes. */
export function topicOf(keyspace: string): string {
  return TOPIC_PREFIX + keyspace
}

/** The keyspace of a topic, or undefined for topics that are not meshcache's. */
export function keyspaceOf(topic: string): string | undefined {
  return topic.startsWith(TOPIC_PREFIX) ? topic.slice(TOPIC_PREFIX.length) : undefined
}

/** Request/response protocols. */
export const PROTOCOLS = {
  /** Region and membership exchange on every new connection. */
  hello: '/meshcache/hello/1',
  /** Read-through: the nearest peers are asked for a key on a local miss. */
  get: '/meshcache/get/1',
  /** Direct write for `ack: 'peer' | 'quorum'`: the receiver applies, then answers. */
  write: '/meshcache/write/1',
  /** Anti-entropy: digest comparison and repair. */
  sync: '/meshcache/sync/1',
  /** Clock offsets: an NTP-style exchange of four timestamps. */
  time: '/meshcache/time/1',
} as const
