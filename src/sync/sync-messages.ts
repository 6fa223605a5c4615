import { InvalidMessageError } from '../errors.js'
import { type EntryTuple, isEntryTuple, type TupleLimits } from '../replication/entry-tuple.js'

/** An entry as anti-entropy carries it: the one entry tuple (value, tombstone or version only). */
export type SyncEntry = EntryTuple

/**
 * A key's version as compared in a leaf: `[key, wall, logical, origin]`, where origin
 * indexes the request's `origins` table (node ids are ~52 characters and few).
 */
export type SyncSummary = [key: string, wall: number, logical: number, origin: number]

/** Requests of `/meshcache/sync/1`; each carries the keyspace. */
export type SyncRequest =
  | { t: 'root'; ks: string; depth: number; root: [number, number] }
  | { t: 'children'; ks: string; level: number; nodes: number[] }
  | {
      t: 'leaves'
      ks: string
      level: number
      nodes: number[]
      origins: string[]
      have: SyncSummary[]
    }
  | { t: 'push'; ks: string; entries: SyncEntry[] }

/** Responses, in request order. */
export type SyncResponse =
  | { t: 'equal' }
  | { t: 'digests'; depth: number; digests: Uint8Array }
  | { t: 'diff'; entries: SyncEntry[]; want: string[]; more: boolean }
  | { t: 'pushed'; applied: number }
  | { t: 'unknown-keyspace' }

const isU32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
const isSafe = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isStr = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max
const isDigest = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && isU32(v[0]) && isU32(v[1])

/** Limits on anti-entropy messages. */
export interface SyncLimits extends TupleLimits {
  /** Most nodes, summaries or entries in one message. */
  maxItems: number
}

function nodesOk(nodes: unknown, level: number, limits: SyncLimits): nodes is number[] {
  return (
    Array.isArray(nodes) &&
    nodes.length > 0 &&
    nodes.length <= limits.maxItems &&
    nodes.every((n) => isU32(n) && n < 16 ** level)
  )
}

/**
 * Structural validation of a request from the wire.
 * @throws InvalidMessageError
 */
export function parseSyncRequest(raw: unknown, limits: SyncLimits): SyncRequest {
  const r = raw as Record<string, unknown>
  const bad = (why: string): never => {
    throw new InvalidMessageError(`sync request: ${why}`)
  }
  if (typeof r !== 'object' || r === null || !isStr(r.ks, limits.maxNameLength))
    return bad('no keyspace')
  switch (r.t) {
    case 'root':
      if (!isU32(r.depth) || r.depth < 1 || r.depth > 6 || !isDigest(r.root)) bad('bad root')
      break
    case 'children':
      if (!isU32(r.level) || r.level > 5 || !nodesOk(r.nodes, r.level as number, limits))
        bad('bad children')
      break
    case 'leaves': {
      if (!isU32(r.level) || r.level > 6 || !nodesOk(r.nodes, r.level as number, limits))
        bad('bad leaves')
      const have = r.have
      const origins = r.origins
      if (
        !Array.isArray(origins) ||
        origins.length > limits.maxItems ||
        !origins.every((o) => isStr(o, limits.maxNameLength))
      ) {
        bad('bad origins')
      }
      if (!Array.isArray(have) || have.length > limits.maxItems * 64) bad('bad summaries')
      const originCount = (origins as unknown[]).length
      for (const s of have as unknown[]) {
        if (
          !Array.isArray(s) ||
          s.length !== 4 ||
          !isStr(s[0], limits.maxKeyLength) ||
          !isSafe(s[1]) ||
          !isSafe(s[2]) ||
          !isU32(s[3]) ||
          s[3] >= originCount
        ) {
          bad('bad summary')
        }
      }
      break
    }
    case 'push':
      if (!Array.isArray(r.entries) || r.entries.length > limits.maxItems) bad('bad push')
      for (const e of r.entries as unknown[]) if (!isEntryTuple(e, limits)) bad('bad entry')
      break
    default:
      bad('unknown type')
  }
  return r as unknown as SyncRequest
}

/**
 * Structural validation of a response from the wire (the initiator trusts no peer).
 * @throws InvalidMessageError
 */
export function parseSyncResponse(raw: unknown, limits: SyncLimits): SyncResponse {
  const r = raw as Record<string, unknown>
  const bad = (why: string): never => {
    throw new InvalidMessageError(`sync response: ${why}`)
  }
  if (typeof r !== 'object' || r === null) return bad('not an object')
  switch (r.t) {
    case 'equal':
    case 'unknown-keyspace':
      break
    case 'digests':
      if (!isU32(r.depth) || r.depth < 1 || r.depth > 6 || !(r.digests instanceof Uint8Array))
        bad('bad digests')
      break
    case 'diff':
      if (!Array.isArray(r.entries) || r.entries.length > limits.maxItems) bad('bad entries')
      for (const e of r.entries as unknown[]) if (!isEntryTuple(e, limits)) bad('bad entry')
      if (
        !Array.isArray(r.want) ||
        r.want.length > limits.maxItems ||
        !r.want.every((k) => isStr(k, limits.maxKeyLength))
      ) {
        bad('bad want')
      }
      if (typeof r.more !== 'boolean') bad('bad more')
      break
    case 'pushed':
      if (!isSafe(r.applied)) bad('bad pushed')
      break
    default:
      bad('unknown type')
  }
  return r as unknown as SyncResponse
}
