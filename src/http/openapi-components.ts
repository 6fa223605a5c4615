/**
 * Components (shared parameters and body schemas) of the OpenAPI document.
 * @module
 */
/** How every duration parameter is written. */
export const DURATION =
  'A duration: a number of seconds (`300`) or a string with a unit (`500ms`, `30s`, `5m`, `1h`, `1d`).'

const ackTimeoutText = `Longest wait for ack (default 5s, at most 5m). ${DURATION}`

const num = { type: 'number' }
const int = { type: 'integer' }
const str = { type: 'string' }

/** `GET /status/mesh` (src/ports/mesh-view.ts has each field's meaning). */
const MESH_VIEW = {
  type: 'object',
  description:
    "The whole mesh as this node sees it, from the summaries members put in their announcements (docs/operations.md, 'The mesh view')",
  required: [
    'node',
    'region',
    'at',
    'recentWindowMs',
    'regions',
    'lag',
    'members',
    'edges',
    'totals',
  ],
  properties: {
    node: str,
    region: str,
    at: { type: 'integer', description: 'When the view was built, ms since the epoch' },
    recentWindowMs: int,
    regions: { type: 'array', items: str },
    lag: {
      type: 'array',
      description: 'The region x region lag matrix: writes of `from` received in `to`, ms',
      items: {
        type: 'object',
        properties: {
          to: str,
          from: str,
          nodes: int,
          count: int,
          p50Ms: num,
          p99Ms: num,
          maxMs: num,
          recentCount: int,
          recentP50Ms: num,
          recentP99Ms: num,
        },
      },
    },
    members: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'region', 'self', 'hub', 'flags', 'behind'],
        properties: {
          id: str,
          region: str,
          self: { type: 'boolean' },
          hub: { type: 'boolean' },
          parent: str,
          summaryAgeMs: num,
          ready: { type: 'boolean' },
          links: {
            type: 'object',
            properties: { planned: int, connected: int, down: { type: 'array', items: str } },
          },
          clock: {
            type: 'object',
            properties: {
              correctionMs: num,
              meshOffsetMs: num,
              peersMeasured: int,
              skewed: { type: 'boolean' },
              refusingWrites: { type: 'boolean' },
              measuredOffsetMs: num,
            },
          },
          queuedItems: int,
          droppedRecently: int,
          flags: {
            type: 'array',
            items: {
              enum: [
                'no-summary',
                'stale',
                'catching-up',
                'clock-skewed',
                'refusing-writes',
                'lagging',
                'dropping',
                'backlog',
                'links-down',
              ],
            },
          },
          behind: { type: 'boolean' },
        },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        properties: { a: str, b: str, kind: { enum: ['tree', 'hubs', 'down'] } },
      },
    },
    totals: {
      type: 'object',
      properties: { members: int, summarized: int, flagged: int, behind: int },
    },
  },
}

/** Shared parameters and schemas of the OpenAPI document. */
export const COMPONENTS = {
  parameters: {
    ks: {
      name: 'ks',
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
    },
    key: {
      name: 'key',
      in: 'path',
      required: true,
      schema: { type: 'string', minLength: 1 },
      description:
        "The rest of the path, percent-decoded; may contain `/`. 1 to the keyspace's maxKeyLength (1,024) characters, not starting with U+0000 (checked before any read, lease or keyspace is opened: 400 `ERR_INVALID_KEY`). A `#` must be sent as `%23`: a raw one is 400 `ERR_BAD_URL`",
    },
    ttl: {
      name: 'ttl',
      in: 'query',
      schema: { type: 'string' },
      description: `Time to live (default: the keyspace's defaultTtl; at most its maxTtl). ${DURATION}`,
    },
    xTtl: {
      name: 'x-ttl',
      in: 'header',
      schema: { type: 'string' },
      description: 'Same as `ttl` (the query parameter wins)',
    },
    ack: {
      name: 'ack',
      in: 'query',
      schema: { enum: ['local', 'peer', 'quorum'] },
      description:
        'Wait until another region (`peer`) or a majority of regions (`quorum`) applied the write',
    },
    ackTimeout: {
      name: 'ackTimeout',
      in: 'query',
      schema: { type: 'string' },
      description: ackTimeoutText,
    },
    ifMatch: {
      name: 'If-Match',
      in: 'header',
      schema: { type: 'string' },
      description:
        'Compare-and-set: `"<version>"` (an ETag) or `*`; 412 when the newest version this node knows differs',
    },
  },
  schemas: {
    Error: {
      type: 'object',
      required: ['error', 'message'],
      properties: {
        error: { type: 'string', description: 'Stable code, e.g. ERR_NOT_FOUND' },
        message: { type: 'string' },
        lease: { type: 'string' },
      },
    },
    Written: { type: 'object', required: ['version'], properties: { version: { type: 'string' } } },
    Deleted: {
      type: 'object',
      required: ['deleted', 'version'],
      properties: {
        deleted: { type: 'boolean', description: 'A live value was held here' },
        version: { type: 'string' },
      },
    },
    MgetRequest: {
      type: 'object',
      required: ['keys'],
      properties: {
        keys: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1000 },
      },
    },
    MgetResponse: {
      type: 'object',
      properties: {
        values: {
          type: 'object',
          additionalProperties: true,
          description:
            'Value by key, null for a miss; raw bytes as {"__mcBytes": base64, "type": content type}',
        },
      },
    },
    MsetRequest: {
      type: 'object',
      required: ['entries'],
      properties: {
        entries: {
          type: 'array',
          minItems: 1,
          maxItems: 1000,
          items: {
            type: 'object',
            required: ['key', 'value'],
            properties: {
              key: { type: 'string' },
              value: {},
              ttl: { type: ['string', 'number'] },
              tags: { type: 'array', items: { type: 'string' } },
            },
          },
        },
        ttl: {
          type: ['string', 'number'],
          description: 'Default TTL of the entries (seconds or a duration string)',
        },
        tags: { type: 'array', items: { type: 'string' } },
        ack: { enum: ['local', 'peer', 'quorum'] },
        ackTimeout: { type: ['string', 'number'] },
      },
    },
    MsetResponse: {
      type: 'object',
      properties: { versions: { type: 'object', additionalProperties: { type: 'string' } } },
    },
    InvalidateRequest: {
      type: 'object',
      required: ['tags'],
      properties: {
        tags: { type: 'array', items: { type: 'string' } },
        ack: { enum: ['local', 'peer', 'quorum'] },
        ackTimeout: { type: ['string', 'number'] },
      },
    },
    InvalidateResponse: {
      type: 'object',
      properties: { invalidated: { type: 'array', items: { type: 'string' } } },
    },
    ClearRequest: {
      type: 'object',
      properties: {
        ack: { enum: ['local', 'peer', 'quorum'] },
        ackTimeout: { type: ['string', 'number'] },
      },
    },
    ClearResponse: { type: 'object', properties: { cleared: { type: 'boolean' } } },
    MeshView: MESH_VIEW,
  },
}
