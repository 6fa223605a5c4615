/**
 * Bulk routes: `POST /v1/{ks}:mget`, `:mset` (one batch on the wire), `:invalidate`
 * (tags) and `:clear`. Bodies are JSON (or msgpack by content type).
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SetManyEntry, SetOptions } from '../api/call-options.js'
import { formatVersion } from '../clock/version.js'
import { msgpack } from '../replication/value-codec.js'
import { type HttpContext, keyspaceOf } from './http-context.js'
import { badBody } from './http-errors.js'
import { type AckParams, ackParams, durationParam, type Query } from './params.js'
import type { Router } from './routing.js'
import { jsonSafe, jsonText, structuredBody, wantsMsgpack } from './values.js'

type BulkRequest = FastifyRequest<{ Params: { ks: string }; Querystring: Query }>

/** Bulk operations, each served at `/v1/{ks}:{op}`. */
export const BULK_OPS = ['mget', 'mset', 'invalidate', 'clear'] as const

/** The fastify path of a bulk operation (the keyspace part stops at `/` and `:`). */
export function bulkRoute(op: (typeof BULK_OPS)[number]): string {
  return `/v1/:ks(^[^/:]+)::${op}`
}

/** Registers the bulk routes. */
export function addBulkRoutes(router: Router, ctx: HttpContext): void {
  const post = (
    fn: (ctx: HttpContext, req: BulkRequest, reply: FastifyReply) => Promise<unknown>,
  ) => ({
    POST: (req: FastifyRequest, reply: FastifyReply) => fn(ctx, req as BulkRequest, reply),
  })
  router.add(bulkRoute('mget'), post(mget))
  router.add(bulkRoute('mset'), post(mset))
  router.add(bulkRoute('invalidate'), post(invalidate))
  router.add(bulkRoute('clear'), post(clear))
}

function bodyObject(req: BulkRequest, optional = false): Record<string, unknown> {
  if (optional && (req.body === undefined || (req.body as Buffer).length === 0)) return {}
  const body = structuredBody(req.headers['content-type'], req.body as Buffer | undefined)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badBody('the body must be a JSON object')
  }
  return body as Record<string, unknown>
}

function stringList(value: unknown, what: string, max: number): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > max ||
    !value.every((k) => typeof k === 'string')
  ) {
    throw badBody(`${what} must be a list of 1 to ${max} strings`)
  }
  return value as string[]
}

/** A TTL inside a body: a duration string or a number of seconds, as in query strings. */
function bodyTtl(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw badBody(`${what} must be a duration string like '5m' or a number of seconds`)
  }
  return durationParam(String(value), what, 1, Number.MAX_SAFE_INTEGER)
}

/** `ack`/`ackTimeout` from the body, or else from the query string. */
function bodyAck(body: Record<string, unknown>, query: Query): AckParams {
  const fromBody: Record<string, string> = {}
  for (const name of ['ack', 'ackTimeout']) {
    const v = body[name]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string' && typeof v !== 'number') throw badBody(`${name} must be a string`)
    fromBody[name] = String(v)
  }
  return ackParams({ ...query, ...fromBody })
}

function send(reply: FastifyReply, accept: string | undefined, body: Record<string, unknown>) {
  if (wantsMsgpack(accept)) {
    return reply.code(200).header('content-type', 'application/msgpack').send(msgpack.pack(body))
  }
  return reply.code(200).header('content-type', 'application/json').send(jsonText(body))
}

async function mget(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const keys = stringList(bodyObject(req).keys, 'keys', ctx.maxBulkKeys)
  const ks = keyspaceOf(ctx, req.params.ks, false)
  const values = ks === undefined ? keys.map(() => undefined) : ks.getMany(keys)
  const binary = wantsMsgpack(req.headers.accept)
  // fromEntries defines own properties: a key named __proto__ stays a key.
  const out = Object.fromEntries(
    keys.map((k, i) => [
      k,
      values[i] === undefined ? null : binary ? values[i] : jsonSafe(values[i]),
    ]),
  )
  return send(reply, req.headers.accept, { values: out })
}

async function mset(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const body = bodyObject(req)
  const list = body.entries
  if (!Array.isArray(list) || list.length === 0 || list.length > ctx.maxBulkKeys) {
    throw badBody(`entries must be a list of 1 to ${ctx.maxBulkKeys} {key, value} objects`)
  }
  const entries: SetManyEntry<unknown>[] = list.map((e: unknown, i) => {
    const item = e as Record<string, unknown> | null
    if (typeof item !== 'object' || item === null || typeof item.key !== 'string') {
      throw badBody(`entries[${i}] must be an object with a string key`)
    }
    if (item.value === undefined) throw badBody(`entries[${i}] has no value`)
    const ttl = bodyTtl(item.ttl, `entries[${i}].ttl`)
    const own: SetOptions = {
      ...(ttl === undefined ? {} : { ttl }),
      ...(item.tags === undefined ? {} : { tags: item.tags as string[] }),
    }
    return [item.key, item.value, own] as const
  })
  const ttl = bodyTtl(body.ttl, 'ttl')
  const ack = bodyAck(body, req.query)
  const ks = keyspaceOf(ctx, req.params.ks, true)!
  const versions = await ks.setMany(entries, {
    ...(ttl === undefined ? {} : { ttl }),
    ...(body.tags === undefined ? {} : { tags: body.tags as string[] }),
    ...ack,
  })
  const out = Object.fromEntries(entries.map(([key], i) => [key, formatVersion(versions[i]!)]))
  return send(reply, req.headers.accept, { versions: out })
}

async function invalidate(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const body = bodyObject(req)
  const tags = stringList(body.tags, 'tags', ctx.maxBulkKeys)
  const ack = bodyAck(body, req.query)
  await keyspaceOf(ctx, req.params.ks, true)!.invalidateTags(tags, ack)
  return send(reply, req.headers.accept, { invalidated: tags })
}

async function clear(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const body = bodyObject(req, true)
  const ack = bodyAck(body, req.query)
  await keyspaceOf(ctx, req.params.ks, true)!.clear(ack)
  return send(reply, req.headers.accept, { cleared: true })
}
