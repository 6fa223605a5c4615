/**
 * The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`. A test checks it
 * against the routes the server registers (every route documented, every documented
 * path served). The prose reference is docs/http-api.md.
 * @module
 */
import { COMPONENTS, DURATION } from './openapi-components.js'

/** The OpenAPI path of a fastify route pattern: `/v1/:ks/*` is `/v1/{ks}/{key}`. */
export function openapiPath(url: string): string {
  return url
    .replace(/:ks\([^)]*\):/, '{ks}')
    .replace(':ks', '{ks}')
    .replace(/\*$/, '{key}')
}

const json = (schema: object) => ({ 'application/json': { schema } })
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` })
const error = (description: string) => ({ description, content: json(ref('Error')) })

const STANDARD_ERRORS = {
  '400': error(
    'Bad or unknown parameter, key, keyspace name or body (`ERR_INVALID_OPTION`, `ERR_INVALID_KEY`, `ERR_INVALID_KEYSPACE`, `ERR_BAD_BODY`, `ERR_BAD_URL`, `ERR_BAD_REQUEST`)',
  ),
  '405': error('Method not served on this path; the `Allow` header lists those that are'),
  '431': error('Request line and headers over 16 KB (`ERR_HEADERS_TOO_LARGE`)'),
  '503': error('The node is closing (`ERR_CACHE_CLOSED`)'),
}

const MAX_BODY_HEADERS = {
  'x-max-body-bytes': {
    description: 'The largest request body this node accepts, bytes (`--max-body-bytes`)',
    schema: { type: 'integer' },
  },
}

const WRITE_ERRORS = {
  ...STANDARD_ERRORS,
  '412': error(
    '`If-Match` did not match the newest version this node knows (`ERR_PRECONDITION_FAILED`)',
  ),
  '413': {
    description:
      'Body over the limit (`ERR_BODY_TOO_LARGE`, with `maxBodyBytes`; the node reads and discards the rest of the body before closing) or value over `maxValueBytes` (`ERR_VALUE_TOO_LARGE`)',
    headers: MAX_BODY_HEADERS,
    content: json(ref('Error')),
  },
  '415': error(
    'A `Content-Encoding` the API does not decode, a malformed `Content-Type` (or one that could not be sent back: control or non-ASCII characters, over 1,024 characters), or JSON in another charset than UTF-8 (`ERR_UNSUPPORTED_MEDIA_TYPE`)',
  ),
  '429': error('Too many keyspaces opened over HTTP (`ERR_TOO_MANY_KEYSPACES`)'),
  '503': error(
    "The node is closing (`ERR_CACHE_CLOSED`), or refuses writes because its clock is too far off its peers' (`ERR_CLOCK_SKEW`)",
  ),
  '504': error('`ack` not met in time (`ERR_ACK_TIMEOUT`; the write stands on this node)'),
}

const VERSION_HEADERS = {
  ETag: { description: 'The version token, quoted', schema: { type: 'string' } },
  'x-version': { description: 'The version token', schema: { type: 'string' } },
}

const keyGet = (head: boolean) => ({
  summary: head ? 'Like GET, without the body' : 'Read a value',
  operationId: head ? 'headValue' : 'getValue',
  parameters: [
    param('ks'),
    param('key'),
    {
      name: 'fetch',
      in: 'query',
      schema: { enum: ['nearest'] },
      description: 'On a miss, ask the nearest peers first (read-through).',
    },
    {
      name: 'lease',
      in: 'query',
      schema: { enum: ['1', '0'] },
      description: 'On a miss, take the load lease or wait for its holder (see docs/http-api.md).',
    },
    {
      name: 'lease_ttl',
      in: 'query',
      schema: { type: 'string' },
      description: `How long the lease holder has to PUT (default 5s, at most 5m). ${DURATION}`,
    },
    {
      name: 'wait',
      in: 'query',
      schema: { type: 'string' },
      description: `How long to wait for the lease holder's value (default 2s, at most 60s). ${DURATION}`,
    },
    {
      name: 'stale_while_revalidate',
      in: 'query',
      schema: { type: 'string' },
      description:
        'Serve a value expired at most this long ago while another caller holds the lease (at most 1m).',
    },
    {
      name: 'stale_if_error',
      in: 'query',
      schema: { type: 'string' },
      description:
        'Serve a value expired at most this long ago when the wait ends without a value (at most 1m).',
    },
    {
      name: 'Accept',
      in: 'header',
      schema: { type: 'string' },
      description: '`application/msgpack` for msgpack of a structured value',
    },
    {
      name: 'If-None-Match',
      in: 'header',
      schema: { type: 'string' },
      description:
        '`"<version>"` (ETags, weak ones match too) or `*`: 304 without a body when the live value has one of them',
    },
  ],
  responses: {
    '200': {
      description:
        'The value: JSON (or msgpack) for structured values, the stored bytes with their content type for raw values. `x-stale: 1` marks an expired value served by a stale option.',
      headers: {
        ...VERSION_HEADERS,
        'x-expires-at': { description: 'Expiry, epoch ms', schema: { type: 'integer' } },
        'x-stale': {
          description: '1 when the value expired (stale options)',
          schema: { type: 'string' },
        },
      },
      content: { 'application/json': {}, 'application/msgpack': {}, '*/*': {} },
    },
    '304': {
      description: '`If-None-Match` matched the live value: no body',
      headers: {
        ...VERSION_HEADERS,
        'x-expires-at': { description: 'Expiry, epoch ms', schema: { type: 'integer' } },
      },
    },
    '404': {
      description:
        "No live value. With `lease=1`, `x-lease` and the body's `lease` carry the token of the caller that must load the value. `x-version`/`x-deleted` tell of a newer delete or expired write.",
      headers: {
        'x-lease': { description: 'Lease token (this caller loads)', schema: { type: 'string' } },
        'x-version': { description: 'Newest known version', schema: { type: 'string' } },
        'x-deleted': { description: '1 when that version is a delete', schema: { type: 'string' } },
      },
      content: json(ref('Error')),
    },
    ...STANDARD_ERRORS,
  },
})

const bulk = (
  summary: string,
  operationId: string,
  request: string,
  response: string,
  acked = true,
) => ({
  post: {
    summary,
    operationId,
    parameters: acked ? [param('ks'), param('ack'), param('ackTimeout')] : [param('ks')],
    requestBody: { required: request !== 'ClearRequest', content: json(ref(request)) },
    responses: { '200': { description: 'Done', content: json(ref(response)) }, ...WRITE_ERRORS },
  },
})

const simple = (
  summary: string,
  operationId: string,
  description: string,
  content: object,
  extra = {},
) => ({
  get: { summary, operationId, responses: { '200': { description, content }, ...extra } },
})

/** The OpenAPI 3.1 document; admin routes only when they are served. */
export function openapiDocument(options: { version: string; admin: boolean }): object {
  const paths: Record<string, object> = {
    '/v1/{ks}/{key}': {
      get: keyGet(false),
      head: keyGet(true),
      put: {
        summary: 'Write a value',
        operationId: 'putValue',
        description:
          'JSON and msgpack bodies are stored as structures; any other content type (or none) as raw bytes returned with the same type. JSON must be UTF-8, and a number a double cannot hold exactly (an integer beyond ±(2^53 - 1), a literal that overflows or underflows) is refused with 400 `ERR_BAD_BODY` rather than stored changed. A msgpack `{"__mcBytes", "type"}` envelope needs a media type as `type`. A refused write opens no keyspace.',
        parameters: [
          param('ks'),
          param('key'),
          param('ttl'),
          param('xTtl'),
          param('ack'),
          param('ackTimeout'),
          {
            name: 'tags',
            in: 'query',
            schema: { type: 'string' },
            description: 'Comma-separated tags (`:invalidate` kills tagged entries)',
          },
          {
            name: 'lease',
            in: 'query',
            schema: { type: 'string' },
            description: 'Lease token from a lease GET (or header `x-lease`)',
          },
          param('ifMatch'),
        ],
        requestBody: { content: { 'application/json': {}, 'application/msgpack': {}, '*/*': {} } },
        responses: {
          '200': {
            description: 'Written',
            headers: {
              ...VERSION_HEADERS,
              ...MAX_BODY_HEADERS,
              'x-lease-status': {
                description:
                  '`ok`, or `expired` for a wrong or expired lease token (the write is applied anyway)',
                schema: { type: 'string' },
              },
            },
            content: json(ref('Written')),
          },
          ...WRITE_ERRORS,
        },
      },
      delete: {
        summary: 'Delete a key everywhere',
        operationId: 'deleteValue',
        parameters: [
          param('ks'),
          param('key'),
          param('ack'),
          param('ackTimeout'),
          param('ifMatch'),
        ],
        responses: {
          '200': { description: 'Deleted (a tombstone replicates)', content: json(ref('Deleted')) },
          '404': error('The keyspace is not open on this node: nothing to delete'),
          ...WRITE_ERRORS,
        },
      },
    },
    '/v1/{ks}:mget': bulk('Read many keys', 'mget', 'MgetRequest', 'MgetResponse', false),
    '/v1/{ks}:mset': bulk('Write many keys in one batch', 'mset', 'MsetRequest', 'MsetResponse'),
    '/v1/{ks}:invalidate': bulk(
      'Kill every entry with one of these tags, everywhere',
      'invalidate',
      'InvalidateRequest',
      'InvalidateResponse',
    ),
    '/v1/{ks}:clear': bulk(
      'Delete every entry of the keyspace, everywhere',
      'clear',
      'ClearRequest',
      'ClearResponse',
    ),
    '/health/live': simple('Liveness', 'live', 'The process runs', json({ type: 'object' })),
    '/healthz': simple(
      'Liveness (alias of /health/live)',
      'healthz',
      'The process runs',
      json({ type: 'object' }),
    ),
    '/health/ready': simple(
      'Readiness',
      'ready',
      'Ready: caught up with the mesh after a start (cache.ready) and, when peers are configured, at least one connected',
      json({ type: 'object' }),
      {
        '503': error(
          'Not ready (`ERR_NOT_READY`): catching up after a start, no peer connected, stopping, or refusing writes for its clock',
        ),
      },
    ),
    '/status': simple(
      'Node figures (cache.stats())',
      'status',
      "Peers, lag, counters, and `time`: the node's clock when they were read",
      json({ type: 'object' }),
    ),
    '/status/mesh': simple(
      'The whole mesh as this node sees it',
      'meshView',
      'Region x region lag matrix, members with relay role, clock, links and flags, links to draw',
      json(ref('MeshView')),
      { '409': error('Not in a mesh (`ERR_NO_MESH`)') },
    ),
    '/metrics': simple('Prometheus metrics', 'metrics', 'Text exposition format', {
      'text/plain': {},
    }),
    '/openapi.json': simple('This document', 'openapi', 'OpenAPI 3.1', json({ type: 'object' })),
    '/': simple('Status page', 'statusPage', 'HTML', { 'text/html': {} }),
    '/ui': simple('Status page (alias of /)', 'statusPageUi', 'HTML', { 'text/html': {} }),
  }
  if (options.admin) {
    const drill = (summary: string, operationId: string) => ({
      post: {
        summary,
        operationId,
        requestBody: {
          content: json({
            type: 'object',
            properties: { peers: { type: 'array', items: { type: 'string' } } },
          }),
        },
        responses: {
          '200': { description: 'Blocked peers now', content: json({ type: 'object' }) },
          '409': error('Not in a mesh (`ERR_NO_MESH`)'),
        },
      },
    })
    paths['/admin/block'] = drill('Cut links to peers (drills; served with --admin)', 'block')
    paths['/admin/unblock'] = drill('Heal links (all when no peers are named)', 'unblock')
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'meshcache sidecar HTTP API',
      version: options.version,
      description:
        'A geo-distributed LRU+TTL cache over HTTP. Reference: docs/http-api.md. Keys may contain `/` (the rest of the path is the key); percent-encode other reserved characters.',
    },
    paths,
    components: COMPONENTS,
  }
}
