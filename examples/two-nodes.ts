/** The README's "two nodes that share data", runnable: `npx tsx examples/two-nodes.ts`. */
import { createCache } from '../src/index.js'

const a = await createCache({ region: 'eu-west', listen: ['/ip4/127.0.0.1/tcp/7946'] })
console.log('a listens on', a.addresses())
const b = await createCache({
  region: 'us-east',
  listen: ['/ip4/127.0.0.2/tcp/7946'],
  peers: [a.addresses()[0]!],
})
await Promise.all([a.waitForPeers(1), b.waitForPeers(1)])
await b.set('greeting', 'hello from us-east')
while (a.get('greeting') === undefined) await new Promise((r) => setTimeout(r, 5))
console.log('a.get("greeting") ->', a.get('greeting'))
await b.set('order:7', { total: 42 }, { ack: 'quorum' })
console.log('quorum write acknowledged; a has', a.get('order:7'))
await Promise.all([a.close(), b.close()])
