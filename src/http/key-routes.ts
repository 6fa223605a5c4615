/**
 * `GET`, `HEAD`, `PUT` and `DELETE /v1/{ks}/{key}`: one key, with ETags, compare-and-set
 * (`If-Match`), TTLs in seconds or duration strings, and load leases.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Keyspace } from '../api/keyspace.js'
import { compareVersions, formatVersion } from '../clock/version.js'
import type { Entry } from '../store/entry.js'
import { type HttpContext, keyId, keyspaceOf } from './http-context.js'
import { HttpError, invalidOption } from './http-errors.js'
import { leaseRead } from './lease-reads.js'
import {
  ackParams,
  flagParam,
  header,
  type IfMatch,
  ifMatchHeader,
  ifMatchPasses,
  ifNoneMatchHeader,
  leaseParams,
  one,
  type Query,
  tagsParam,
  ttlParam,
  ttlWithin,
} from './params.js'
import { checkNewWrite, checkRequestKey, limitsOf } from './request-checks.js'
import type { Router } from './routing.js'
import { bodyToValue, valueToBody } from './values.js'

type KeyRequest = FastifyRequest<{ Params: { ks: string; '*': string }; Querystring: Query }>

/** The path of the single-key routes (fastify syntax). */
export const KEY_ROUTE = '/v1/:ks/*'

/** The query parameters each method of the single-key routes reads. */
export const KEY_QUERY = {
  GET: ['fetch', 'lease', 'lease_ttl', 'wait', 'stale_while_revalidate', 'stale_if_error'],
  PUT: ['ttl', 'tags', 'ack', 'ackTimeout', 'lease'],
  DELETE: ['ack', 'ackTimeout'],
} as const

/** Registers the single-key routes. */
export function addKeyRoutes(router: Router, ctx: HttpContext): void {
  router.add(
    KEY_ROUTE,
    {
      GET: (req, reply) => getKey(ctx, req as KeyRequest, reply),
      PUT: (req, reply) => putKey(ctx, req as KeyRequest, reply),
      DELETE: (req, reply) => deleteKey(ctx, req as KeyRequest, reply),
    },
    KEY_QUERY,
  )
}

/** How a read answers: the client's `Accept` and `If-None-Match`. */
interface ReadPreferences {
  accept: string | undefined
  ifNoneMatch: IfMatch | undefined
}

function sendEntry(reply: FastifyReply, entry: Entry<unknown>, prefs: ReadPreferences) {
  const token = formatVersion(entry.version)
  reply
    .header('etag', `"${token}"`)
    .header('x-version', token)
    .header('x-expires-at', String(entry.expiresAt))
  const cond = prefs.ifNoneMatch
  if (cond !== undefined && (cond.any || cond.tokens.includes(token))) {
    // The client holds this version already (RFC 9110 15.4.5: 304 with the validators).
    return reply.code(304).send()
  }
  const rep = valueToBody(entry.value, prefs.accept)
  return reply.code(200).header('content-type', rep.type).send(rep.body)
}

/** A live entry, counted as a read (hit or miss) and marked recently used. */
function readEntry(ks: Keyspace<unknown> | undefined, key: string): Entry<unknown> | undefined {
  if (ks === undefined || ks.get(key) === undefined) return undefined
  return ks.entry(key)
}

function notFound(ctx: HttpContext, reply: FastifyReply, name: string, key: string) {
  // A known newer delete or expired write still has a version: tell the client.
  const known = ctx.cache.admin.version(name, key)
  if (known !== undefined) {
    reply.header('x-version', formatVersion(known.version))
    reply.header('x-deleted', known.deleted ? '1' : '0')
  }
  return reply
    .code(404)
    .send({ error: 'ERR_NOT_FOUND', message: `no live value for ${name}/${key}` })
}

async function getKey(ctx: HttpContext, req: KeyRequest, reply: FastifyReply) {
  const { ks: name, '*': key } = req.params
  const fetch = one(req.query, 'fetch')
  if (fetch !== undefined && fetch !== 'nearest') {
    throw invalidOption(`fetch must be 'nearest', got '${fetch}'`)
  }
  const lease = flagParam(req.query, 'lease') ? leaseParams(req.query) : undefined
  const prefs: ReadPreferences = {
    accept: req.headers.accept,
    ifNoneMatch: ifNoneMatchHeader(req.headers['if-none-match']),
  }
  const nearest = fetch === 'nearest'
  // The key is checked before anything is read, leased or opened (read-through opens).
  let ks = keyspaceOf(ctx, name, false)
  checkRequestKey(ctx, ks, key)
  if (nearest) ks ??= keyspaceOf(ctx, name, true)
  let entry: Entry<unknown> | undefined
  if (ks !== undefined && nearest) {
    await ks.fetch(key)
    entry = ks.entry(key)
  } else {
    entry = readEntry(ks, key)
  }
  if (entry !== undefined) return sendEntry(reply, entry, prefs)
  if (lease === undefined) return notFound(ctx, reply, name, key)

  const gone = new AbortController()
  const onClose = () => {
    if (!reply.raw.writableFinished) gone.abort()
  }
  reply.raw.once('close', onClose)
  const result = await leaseRead(
    {
      leases: ctx.leases,
      now: Date.now,
      live: () => keyspaceOf(ctx, name, false)?.entry(key) !== undefined,
      stale: (windowMs) => keyspaceOf(ctx, name, false)?.peekStale(key, windowMs),
    },
    keyId(name, key),
    lease,
    gone.signal,
  ).finally(() => reply.raw.off('close', onClose))
  switch (result.kind) {
    case 'value': {
      const found = readEntry(keyspaceOf(ctx, name, false), key)
      return found ? sendEntry(reply, found, prefs) : notFound(ctx, reply, name, key)
    }
    case 'stale': {
      const known = ctx.cache.admin.version(name, key)
      if (known !== undefined) reply.header('x-version', formatVersion(known.version))
      const rep = valueToBody(result.value, prefs.accept)
      return reply.code(200).header('content-type', rep.type).header('x-stale', '1').send(rep.body)
    }
    case 'lease':
      return reply
        .code(404)
        .header('x-lease', result.token)
        .send({
          error: 'ERR_NOT_FOUND',
          message: `no live value for ${name}/${key}; this caller holds the lease: load it and PUT it with ?lease=<token>`,
          lease: result.token,
        })
    case 'miss':
      return notFound(ctx, reply, name, key)
  }
}

/** 412 unless `cond` holds for the key's newest version on this node. */
function checkPrecondition(
  ctx: HttpContext,
  ks: Keyspace<unknown>,
  name: string,
  key: string,
  cond: IfMatch | undefined,
): void {
  if (cond === undefined) return
  const current = ctx.cache.admin.version(name, key)
  if (!ifMatchPasses(cond, current, ks.entry(key) !== undefined)) {
    throw new HttpError(
      412,
      'ERR_PRECONDITION_FAILED',
      current
        ? 'the key was written since that version (If-Match): read it again'
        : 'no version of the key is known here (If-Match)',
      current ? { version: formatVersion(current.version) } : {},
    )
  }
}

function rejectContentEncoding(value: string | string[] | undefined): void {
  const coding = header(value, 'content-encoding')?.trim().toLowerCase()
  if (coding !== undefined && coding !== '' && coding !== 'identity') {
    throw new HttpError(
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `content-encoding '${coding}' is not supported: send the body uncompressed (identity)`,
    )
  }
}

async function putKey(ctx: HttpContext, req: KeyRequest, reply: FastifyReply) {
  const { ks: name, '*': key } = req.params
  rejectContentEncoding(req.headers['content-encoding'])
  const ttl = ttlParam(req.query, req.headers['x-ttl'])
  const tags = tagsParam(req.query)
  const ack = ackParams(req.query)
  const token = one(req.query, 'lease') ?? header(req.headers['x-lease'], 'x-lease')
  const cond = ifMatchHeader(req.headers['if-match'])
  const value = bodyToValue(req.headers['content-type'], req.body as Buffer | undefined)
  let ks = keyspaceOf(ctx, name, false)
  if (ks === undefined) {
    // Everything that could refuse this write is checked before the keyspace is opened:
    // a refused write opens nothing (HTTP clients may open only maxKeyspaces).
    checkNewWrite(limitsOf(ctx, undefined), { key, value, ttl, tags })
    if (cond !== undefined) checkPreconditionUnopened()
    ks = keyspaceOf(ctx, name, true)!
  } else {
    checkRequestKey(ctx, ks, key)
  }
  const ttlMs = ttlWithin(ttl, ks.options.maxTtl)
  checkPrecondition(ctx, ks, name, key, cond)
  // Compare and set in one synchronous block: no other request runs in between.
  const leased = token !== undefined && token !== ''
  const admin = leased ? ctx.cache.admin : undefined
  const before = admin?.version(name, key)
  const pending = ks.set(key, value, {
    ...(ttlMs === undefined ? {} : { ttl: ttlMs }),
    ...(tags === undefined ? {} : { tags }),
    ...ack,
  })
  if (admin !== undefined) {
    // The write is applied before any ack wait (waiters are woken by its change event):
    // the lease ends now, unless the write was refused.
    const after = admin.version(name, key)
    const applied =
      after !== undefined &&
      (before === undefined || compareVersions(after.version, before.version) > 0)
    if (applied) reply.header('x-lease-status', ctx.leases.release(keyId(name, key), token!))
  }
  const version = formatVersion(await pending)
  return reply
    .code(200)
    .header('etag', `"${version}"`)
    .header('x-version', version)
    .send({ version })
}

async function deleteKey(ctx: HttpContext, req: KeyRequest, reply: FastifyReply) {
  const { ks: name, '*': key } = req.params
  const cond = ifMatchHeader(req.headers['if-match'])
  const ack = ackParams(req.query)
  const ks = keyspaceOf(ctx, name, false)
  checkRequestKey(ctx, ks, key)
  if (ks === undefined) {
    // Never written here: opening the keyspace would store a tombstone for nothing.
    if (cond !== undefined) checkPreconditionUnopened()
    throw new HttpError(404, 'ERR_NOT_FOUND', `keyspace ${name} holds nothing on this node`)
  }
  checkPrecondition(ctx, ks, name, key, cond)
  const pending = ks.delete(key, ack)
  // The delete is applied within the call: its version is the one known now. After the
  // ack wait a newer write of the key may have arrived (found by bench:chaos).
  const known = ctx.cache.admin.version(name, key)
  const deleted = await pending
  const version = formatVersion(known!.version)
  return reply.code(200).header('x-version', version).send({ deleted, version })
}

function checkPreconditionUnopened(): never {
  throw new HttpError(
    412,
    'ERR_PRECONDITION_FAILED',
    'no version of the key is known here (If-Match)',
  )
}
