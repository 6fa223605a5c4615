/**
 * Bulk routes: `POST /v1/{ks}:mget`, `:mset` (one batch on the wire), `:invalidate`
 * (tags) and `:clear`. Bodies are JSON (or msgpack by content type).
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SetManyEntry, SetOptions } from '../api/call-options.js'
import { formatVersion } from '../clock/version.js'
import { checkTags, msgpack } from '../replication/value-codec.js'
import { type HttpContext, keyspaceOf } from './http-context.js'
import { badBody } from './http-errors.js'
import { checkFields } from './known-names.js'
import { type AckParams, ackParams, type Query, type Ttl, ttlOf, ttlWithin } from './params.js'
import { checkNewWrite, checkRequestKey, limitsOf } from './request-checks.js'
import type { Router } from './routing.js'
import { checkRawBytesType, jsonSafe, jsonText, structuredBody, wantsMsgpack } from './values.js'

type BulkRequest = FastifyRequest<{ Params: { ks: string }; Querystring: Query }>

/** Bulk operations, each served at `/v1/{ks}:{op}`. */
export const BULK_OPS = ['mget', 'mset', 'invalidate', 'clear'] as const

/** The fields each operation's body may hold (any other is a 400). */
export const BULK_FIELDS = {
  mget: ['keys'],
  mset: ['entries', 'ttl', 'tags', 'ack', 'ackTimeout'],
  invalidate: ['tags', 'ack', 'ackTimeout'],
  clear: ['ack', 'ackTimeout'],
} as const satisfies Record<(typeof BULK_OPS)[number], readonly string[]>

/** The fields of one `:mset` entry. */
export const MSET_ENTRY_FIELDS = ['key', 'value', 'ttl', 'tags'] as const

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
  // `ack` and `ackTimeout` may come in the query string of the writing operations.
  const acked = { POST: ['ack', 'ackTimeout'] }
  router.add(bulkRoute('mget'), post(mget))
  router.add(bulkRoute('mset'), post(mset), acked)
  router.add(bulkRoute('invalidate'), post(invalidate), acked)
  router.add(bulkRoute('clear'), post(clear), acked)
}

function bodyObject(
  req: BulkRequest,
  op: keyof typeof BULK_FIELDS,
  optional = false,
): Record<string, unknown> {
  if (optional && (req.body === undefined || (req.body as Buffer).length === 0)) return {}
  const body = structuredBody(req.headers['content-type'], req.body as Buffer | undefined)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badBody('the body must be a JSON object')
  }
  checkFields(body as Record<string, unknown>, BULK_FIELDS[op], `the :${op} body`)
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
function bodyTtl(value: unknown, what: string): Ttl | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw badBody(`${what} must be a duration string like '5m' or a number of seconds`)
  }
  return ttlOf(String(value), what)
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
  const keys = stringList(bodyObject(req, 'mget').keys, 'keys', ctx.maxBulkKeys)
  const ks = keyspaceOf(ctx, req.params.ks, false)
  for (const key of keys) checkRequestKey(ctx, ks, key)
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
  const body = bodyObject(req, 'mset')
  const list = body.entries
  if (!Array.isArray(list) || list.length === 0 || list.length > ctx.maxBulkKeys) {
    throw badBody(`entries must be a list of 1 to ${ctx.maxBulkKeys} {key, value} objects`)
  }
  const parsed = list.map((e: unknown, i) => {
    const item = e as Record<string, unknown> | null
    if (typeof item !== 'object' || item === null || typeof item.key !== 'string') {
      throw badBody(`entries[${i}] must be an object with a string key`)
    }
    checkFields(item, MSET_ENTRY_FIELDS, `entries[${i}]`)
    if (item.value === undefined) throw badBody(`entries[${i}] has no value`)
    checkRawBytesType(item.value, `entries[${i}].value`)
    return {
      key: item.key,
      value: item.value,
      ttl: bodyTtl(item.ttl, `entries[${i}].ttl`),
      tags: item.tags,
    }
  })
  const ttl = bodyTtl(body.ttl, 'ttl')
  const ack = bodyAck(body, req.query)
  let ks = keyspaceOf(ctx, req.params.ks, false)
  if (ks === undefined) {
    // A refused :mset opens nothing: every entry is checked as the new keyspace would.
    const limits = limitsOf(ctx, undefined)
    ttlWithin(ttl, limits.maxTtl)
    for (const p of parsed) {
      checkNewWrite(limits, { ...p, ttl: p.ttl ?? ttl, tags: p.tags ?? body.tags })
    }
    ks = keyspaceOf(ctx, req.params.ks, true)!
  }
  // TTLs are checked against this keyspace's maxTtl here, in the unit the client wrote.
  const maxTtl = ks.options.maxTtl
  const entries: SetManyEntry<unknown>[] = parsed.map((p) => {
    const own = ttlWithin(p.ttl, maxTtl)
    const options: SetOptions = {
      ...(own === undefined ? {} : { ttl: own }),
      ...(p.tags === undefined ? {} : { tags: p.tags as string[] }),
    }
    return [p.key, p.value, options] as const
  })
  const callTtl = ttlWithin(ttl, maxTtl)
  const versions = await ks.setMany(entries, {
    ...(callTtl === undefined ? {} : { ttl: callTtl }),
    ...(body.tags === undefined ? {} : { tags: body.tags as string[] }),
    ...ack,
  })
  const out = Object.fromEntries(entries.map(([key], i) => [key, formatVersion(versions[i]!)]))
  return send(reply, req.headers.accept, { versions: out })
}

async function invalidate(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const body = bodyObject(req, 'invalidate')
  const tags = stringList(body.tags, 'tags', ctx.maxBulkKeys)
  const ack = bodyAck(body, req.query)
  // Checked before the keyspace is opened: a refused call opens nothing.
  if (keyspaceOf(ctx, req.params.ks, false) === undefined) checkTags(tags)
  await keyspaceOf(ctx, req.params.ks, true)!.invalidateTags(tags, ack)
  return send(reply, req.headers.accept, { invalidated: tags })
}

async function clear(ctx: HttpContext, req: BulkRequest, reply: FastifyReply) {
  const body = bodyObject(req, 'clear', true)
  const ack = bodyAck(body, req.query)
  await keyspaceOf(ctx, req.params.ks, true)!.clear(ack)
  return send(reply, req.headers.accept, { cleared: true })
}
