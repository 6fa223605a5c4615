/**
 * Query parameters and headers of the HTTP API, parsed and range-checked: every bad or
 * out-of-range value is a 400 `ERR_INVALID_OPTION` naming the parameter.
 *
 * Durations over HTTP: a string with a unit (`500ms`, `30s`, `5m`, `1h`, `1d`) or a bare
 * number of **seconds** (as Redis `EX`); `ttl=300` is five minutes.
 * @module
 */
import type { AckLevel } from '../api/call-options.js'
import { formatVersion, type Version } from '../clock/version.js'
import { formatMs, secondsOrDuration } from './duration-text.js'
import { HTTP_LIMITS, LEASE_DEFAULTS } from './http-defaults.js'
import { invalidOption } from './http-errors.js'

/** A parsed query string (fastify: repeated names become arrays). */
export type Query = Readonly<Record<string, string | string[] | undefined>>

/** A header value as Node gives it. */
type Header = string | string[] | undefined

/**
 * The single value of query parameter `name`.
 * @throws HttpError 400 when it is given more than once
 */
export function one(query: Query | undefined, name: string): string | undefined {
  const v = query?.[name]
  if (Array.isArray(v)) throw invalidOption(`${name} is given ${v.length} times; give it once`)
  return v
}

/** The single value of a header (repeated headers are refused). */
export function header(value: Header, name: string): string | undefined {
  if (Array.isArray(value)) throw invalidOption(`header ${name} is given more than once`)
  return value
}

/**
 * A duration parameter in ms: `5m`, `300s`, `500ms`, or a bare number of seconds.
 * Messages speak the unit the client wrote (`ackTimeout=10m is longer than 5m`).
 * @param min - smallest accepted value, ms (inclusive)
 * @param max - largest accepted value, ms (inclusive)
 * @param maxWhat - what sets `max`, for the message (`this keyspace's maxTtl`)
 * @throws HttpError 400 naming the parameter when it does not parse or is out of range
 */
export function durationParam(
  text: string,
  name: string,
  min: number,
  max: number,
  maxWhat = 'the most allowed',
): number {
  let ms: number
  try {
    ms = secondsOrDuration(text, name)
  } catch (err) {
    throw invalidOption((err as Error).message)
  }
  if (!Number.isFinite(ms) || ms > max) {
    throw invalidOption(`${name}=${text} is longer than ${maxWhat} (${formatMs(max)})`)
  }
  if (ms < min) {
    throw invalidOption(
      min <= 1
        ? `${name}=${text} must be longer than 0`
        : `${name}=${text} is shorter than the least allowed (${formatMs(min)})`,
    )
  }
  return ms
}

/** A TTL as the client wrote it, and in ms. */
export interface Ttl {
  ms: number
  text: string
  /** The parameter or field that carried it (`ttl`, `entries[2].ttl`). */
  name: string
}

/** A TTL parameter, positive and finite; its upper bound is the keyspace's ({@link ttlWithin}). */
export function ttlOf(text: string, name: string): Ttl {
  return { ms: durationParam(text, name, 1, Number.MAX_SAFE_INTEGER), text, name }
}

/** `ttl` (query) or `x-ttl` (header); undefined when neither is given. */
export function ttlParam(query: Query | undefined, ttlHeader: Header): Ttl | undefined {
  const text = one(query, 'ttl') ?? header(ttlHeader, 'x-ttl')
  return text === undefined ? undefined : ttlOf(text, 'ttl')
}

/**
 * The TTL in ms, checked against the keyspace's `maxTtl` in the client's own unit
 * (`ttl=30d is longer than this keyspace's maxTtl (1d)`).
 * @throws HttpError 400 `ERR_INVALID_OPTION`
 */
export function ttlWithin(ttl: Ttl | undefined, maxTtlMs: number): number | undefined {
  if (ttl === undefined) return undefined
  return durationParam(ttl.text, ttl.name, 1, maxTtlMs, "this keyspace's maxTtl")
}

/** Options of a write's acknowledgement: `ack` and `ackTimeout`. */
export interface AckParams {
  ack?: AckLevel
  ackTimeout?: number
}

/** `ack=local|peer|quorum` and `ackTimeout` (at most 5 minutes). */
export function ackParams(query: Query | undefined): AckParams {
  const ack = one(query, 'ack')
  const timeout = one(query, 'ackTimeout')
  if (ack !== undefined && ack !== 'local' && ack !== 'peer' && ack !== 'quorum') {
    throw invalidOption(`ack must be local, peer or quorum, got '${ack}'`)
  }
  return {
    ...(ack ? { ack } : {}),
    ...(timeout !== undefined
      ? { ackTimeout: durationParam(timeout, 'ackTimeout', 1, HTTP_LIMITS.maxAckTimeoutMs) }
      : {}),
  }
}

/** `tags=a,b` as a list; the library checks count and lengths. */
export function tagsParam(query: Query | undefined): string[] | undefined {
  const text = one(query, 'tags')
  if (text === undefined) return undefined
  return text.split(',').map((t) => t.trim())
}

/** A yes/no parameter: `1`/`true` or `0`/`false`. */
export function flagParam(query: Query | undefined, name: string): boolean {
  const v = one(query, name)
  if (v === undefined || v === '0' || v === 'false') return false
  if (v === '1' || v === 'true' || v === '') return true
  throw invalidOption(`${name} must be 1 or 0, got '${v}'`)
}

/** Options of a lease request (`GET ...?lease=1`). */
export interface LeaseParams {
  /** How long the holder may take to PUT, ms. */
  leaseTtlMs: number
  /** How long other callers wait for its value, ms. */
  waitMs: number
  /** Serve a value expired at most this long ago while the lease is held, ms. */
  staleWhileRevalidateMs: number | undefined
  /** Serve a value expired at most this long ago when the wait ends without a value, ms. */
  staleIfErrorMs: number | undefined
}

/** `lease_ttl`, `wait`, `stale_while_revalidate`, `stale_if_error`. */
export function leaseParams(query: Query | undefined): LeaseParams {
  const opt = (name: string, min: number, max: number) => {
    const v = one(query, name)
    return v === undefined ? undefined : durationParam(v, name, min, max)
  }
  return {
    leaseTtlMs: opt('lease_ttl', 1, HTTP_LIMITS.maxLeaseTtlMs) ?? LEASE_DEFAULTS.leaseTtlMs,
    waitMs: opt('wait', 0, HTTP_LIMITS.maxWaitMs) ?? LEASE_DEFAULTS.waitMs,
    staleWhileRevalidateMs: opt('stale_while_revalidate', 0, HTTP_LIMITS.maxStaleMs),
    staleIfErrorMs: opt('stale_if_error', 0, HTTP_LIMITS.maxStaleMs),
  }
}

/** An `If-Match` precondition: any current value (`*`) or one of the listed version tokens. */
export type IfMatch = { any: true } | { any: false; tokens: string[] }

/**
 * Parses `If-Match` (RFC 9110 13.1.1): `*` or a list of strong entity tags. Weak tags
 * (`W/"..."`) never match, as the RFC's strong comparison requires.
 * @throws HttpError 400 for a malformed header
 */
export function ifMatchHeader(value: Header): IfMatch | undefined {
  const text = header(value, 'if-match')?.trim()
  if (text === undefined || text === '') return undefined
  if (text === '*') return { any: true }
  const tokens: string[] = []
  for (const part of text.split(',')) {
    const tag = part.trim()
    const m = /^(W\/)?"([^"]*)"$/.exec(tag)
    if (!m)
      throw invalidOption(`If-Match must be * or quoted ETags like "${'<version>'}", got '${text}'`)
    if (m[1] === undefined) tokens.push(m[2]!)
  }
  return { any: false, tokens }
}

/**
 * Parses `If-None-Match` (RFC 9110 13.1.2): `*` or a list of entity tags, compared weakly
 * (`W/"v"` matches the ETag `"v"`). Undefined when absent.
 * @throws HttpError 400 for a malformed header
 */
export function ifNoneMatchHeader(value: Header): IfMatch | undefined {
  const text = header(value, 'if-none-match')?.trim()
  if (text === undefined || text === '') return undefined
  if (text === '*') return { any: true }
  const tokens: string[] = []
  for (const part of text.split(',')) {
    const m = /^(?:W\/)?"([^"]*)"$/.exec(part.trim())
    if (!m) {
      throw invalidOption(`If-None-Match must be * or quoted ETags like "<version>", got '${text}'`)
    }
    tokens.push(m[1]!)
  }
  return { any: false, tokens }
}

/** True when a write may proceed: `current` is the newest version this node knows of the key. */
export function ifMatchPasses(
  cond: IfMatch,
  current: { version: Version; deleted: boolean } | undefined,
  live: boolean,
): boolean {
  if (cond.any) return live
  return current !== undefined && cond.tokens.includes(formatVersion(current.version))
}
