/**
 * A tiny service that embeds meshcache, as a user would write one: `GET /price/:sku`
 * reads through the cache (the origin is asked on a miss), `PUT /price/:sku` with
 * `{ "cents": 120 }` writes the origin and then the cache, which replicates the new price
 * to every region. Its test, `price-service.test.ts`, runs it on a test mesh.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Cache } from '../../src/index.js' // in your project: from 'meshcache'

/** One price. */
export interface Price {
  sku: string
  cents: number
}

/** Where prices live for good (a database in a real service). */
export interface PriceOrigin {
  load(sku: string): Promise<Price | undefined>
  save(price: Price): Promise<void>
}

const SKU_PATH = /^\/price\/([\w-]{1,64})$/

async function body(req: IncomingMessage): Promise<unknown> {
  let text = ''
  for await (const chunk of req) text += chunk
  return JSON.parse(text)
}

/** The service's HTTP server (not listening yet). */
export function priceService(cache: Cache<Price>, origin: PriceOrigin): Server {
  return createServer(async (req, res) => {
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(json))
    }
    const sku = SKU_PATH.exec(req.url ?? '')?.[1]
    if (sku === undefined) return reply(404, { error: 'not found' })
    try {
      if (req.method === 'GET') {
        const price = await cache.fetch(sku, { load: () => origin.load(sku), ttl: '10m' })
        return price === undefined
          ? reply(404, { error: `no price for ${sku}` })
          : reply(200, { ...price, servedBy: cache.region })
      }
      if (req.method === 'PUT') {
        const { cents } = (await body(req)) as { cents?: unknown }
        if (!Number.isInteger(cents)) return reply(400, { error: 'cents must be an integer' })
        const price = { sku, cents: cents as number }
        await origin.save(price)
        await cache.set(sku, price, { ttl: '10m' })
        return reply(200, price)
      }
      return reply(405, { error: 'GET or PUT' })
    } catch (err) {
      return reply(500, { error: (err as Error).message })
    }
  })
}
