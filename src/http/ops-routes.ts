/**
 * Operator routes: health probes, `/status`, `/status/mesh`, `/metrics`, `/openapi.json`, the status page
 * (`/` and `/ui`) and, with `admin`, the partition drills `/admin/block` and `/unblock`.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import type { HttpContext } from './http-context.js'
import { badBody, HttpError } from './http-errors.js'
import type { Router } from './routing.js'
import { statusPageHtml } from './status-page.js'
import { jsonText, structuredBody } from './values.js'

/** Registers the operator routes; `openapi` is the document served at `/openapi.json`. */
export function addOpsRoutes(
  router: Router,
  ctx: HttpContext,
  registry: Registry,
  openapi: () => object,
): void {
  const live = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).send({ status: 'live' })
  router.add('/health/live', { GET: live })
  router.add('/healthz', { GET: live })
  router.add('/health/ready', {
    GET: async (_req, reply) => {
      const r = ctx.cache.isClosed
        ? { ready: false, reason: 'the node is stopping' }
        : ctx.readiness()
      if (r.ready) return reply.code(200).send({ status: 'ready' })
      return reply
        .code(503)
        .send({ error: 'ERR_NOT_READY', message: r.reason ?? 'the node is not ready yet' })
    },
  })
  router.add('/status', {
    GET: async (_req, reply) =>
      reply
        .code(200)
        .header('content-type', 'application/json')
        // Stamped with the node's clock: the status page computes its rates on it.
        .send(jsonText({ time: ctx.clock.now(), ...ctx.cache.stats(), ...ctx.status?.() })),
  })
  router.add('/status/mesh', {
    GET: async (_req, reply) => {
      const mesh = ctx.cache.admin.mesh
      if (!mesh) throw new HttpError(409, 'ERR_NO_MESH', 'this node is not part of a mesh')
      return reply.code(200).header('content-type', 'application/json').send(jsonText(mesh.view()))
    },
  })
  router.add('/metrics', {
    GET: async (_req, reply) =>
      reply
        .code(200)
        .header('content-type', registry.contentType)
        .send(await registry.metrics()),
  })
  const doc = openapi()
  router.add('/openapi.json', {
    GET: async (_req, reply) => reply.code(200).send(doc),
  })
  const page = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(statusPageHtml())
  router.add('/', { GET: page })
  router.add('/ui', { GET: page })
  if (ctx.admin) {
    router.add('/admin/block', { POST: (req, reply) => block(ctx, req, reply, true) })
    router.add('/admin/unblock', { POST: (req, reply) => block(ctx, req, reply, false) })
  }
}

async function block(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply, cut: boolean) {
  const mesh = ctx.cache.admin.mesh
  if (!mesh) throw new HttpError(409, 'ERR_NO_MESH', 'this node is not part of a mesh')
  const raw = req.body as Buffer | undefined
  const body =
    raw === undefined || raw.length === 0 ? {} : structuredBody(req.headers['content-type'], raw)
  if (typeof body !== 'object' || body === null) throw badBody('the body must be a JSON object')
  const list = (body as { peers?: unknown }).peers
  const peers = Array.isArray(list)
    ? list.filter((p): p is string => typeof p === 'string')
    : undefined
  if (cut) await mesh.block(peers ?? [])
  else mesh.unblock(peers)
  return reply.code(200).send({ blocked: mesh.blockedPeers() })
}
