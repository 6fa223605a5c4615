/** The embedded cache in ten lines: run with `npm run example`. */
import { createCache } from '../src/index.js'

const cache = await createCache()
await cache.set('user:42', { name: 'Ada' }, { ttl: '5m' })
console.log('get user:42 ->', cache.get('user:42'))

let dbCalls = 0
const getUser = cache.wrap(async (id: number) => ({ id, loadedAt: ++dbCalls }), {
  key: (id) => `user:${id}`,
})
await Promise.all([getUser(7), getUser(7), getUser(7)])
console.log('three concurrent getUser(7) calls ->', dbCalls, 'load')
console.log('stats ->', JSON.stringify(cache.stats().keyspaces.default))
await cache.close()
