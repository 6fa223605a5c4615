/**
 * Values over HTTP: request bodies to stored values, stored values to response bodies.
 *
 * - `application/json` (and `*+json`) bodies are parsed and stored as structures;
 *   `application/msgpack` bodies are decoded and stored as structures.
 * - `application/octet-stream`, a body without a content type, and every other type
 *   (`text/plain`, `application/x-www-form-urlencoded`, `image/png`, ...) are stored as
 *   raw bytes. `application/octet-stream` bytes are stored as a bare `Uint8Array` (what a
 *   Node service storing a Buffer stores too); other types as a {@link RawBytes} envelope
 *   that keeps the content type. GET answers raw bytes with the same bytes and type.
 * - Structures are answered as JSON, or msgpack when `Accept` names msgpack.
 * @module
 */
import { msgpack, unpackStrict } from '../replication/value-codec.js'
import { badBody, type ErrorAnswer, HttpError } from './http-errors.js'
import { checkJsonCharset, parseJson } from './json-body.js'

/** Key of the bytes in a {@link RawBytes} envelope. The `__mc` prefix is reserved. */
export const RAW_BYTES_FIELD = '__mcBytes'

/**
 * How a raw-bytes value with a content type is stored: exactly these two fields, the
 * bytes as a `Uint8Array`. JSON cannot produce a `Uint8Array`, so no JSON value is ever
 * mistaken for one; a msgpack body of exactly this shape is stored as raw bytes (the shape
 * is reserved). It round-trips through msgpack, replication and snapshots unchanged.
 */
export interface RawBytes {
  /** The bytes, as received. */
  __mcBytes: Uint8Array
  /** The `Content-Type` they were stored with, parameters included. */
  type: string
}

/** Longest media type stored with raw bytes (a `Content-Type`, or a msgpack envelope's `type`). */
export const MAX_RAW_TYPE_LENGTH = 1_024

/**
 * RFC 9110 8.3.1 `type/subtype`, then optional parameters in printable ASCII. Parameters
 * are not parsed (clients send `text/plain;` and worse, which fastify takes); what matters
 * is that the type can be sent back as a header: no CR, LF or other control, no non-ASCII.
 */
const MEDIA_TYPE =
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+[\t ]*(?:;[\t\x20-\x7e]*)?$/

/**
 * True when `type` is a media type that can be stored with raw bytes and sent back as
 * `Content-Type`: `type/subtype`, parameters in printable ASCII, at most
 * {@link MAX_RAW_TYPE_LENGTH} characters.
 */
export function isMediaType(type: string): boolean {
  return type.length <= MAX_RAW_TYPE_LENGTH && MEDIA_TYPE.test(type)
}

/**
 * Refuses a {@link RawBytes} envelope (from a msgpack body) whose `type` is not a media
 * type: GET sends it back as the `Content-Type`.
 * @param what - where the value is, for the message (`body`, `entries[2].value`)
 * @throws HttpError 400 `ERR_BAD_BODY`
 */
export function checkRawBytesType(value: unknown, what: string): void {
  if (!isRawBytes(value) || isMediaType(value.type)) return
  const shown = value.type.replaceAll(/[^\x20-\x7e]/g, '?').slice(0, 100)
  throw badBody(
    `${what} is a raw-bytes value (${RAW_BYTES_FIELD}) whose type '${shown}' is not a media type: type/subtype, parameters in printable ASCII, at most ${MAX_RAW_TYPE_LENGTH} characters`,
  )
}

/** True when `v` is a {@link RawBytes} envelope. */
export function isRawBytes(v: unknown): v is RawBytes {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) {
    return false
  }
  const r = v as Record<string, unknown>
  return (
    r[RAW_BYTES_FIELD] instanceof Uint8Array &&
    typeof r.type === 'string' &&
    Object.keys(r).length === 2
  )
}

/** What a PUT body's `Content-Type` may be, as 415 answers name it. */
export const ACCEPTED_TYPES =
  'application/json (or *+json), application/msgpack, application/octet-stream, or any other type/subtype (stored as bytes with its type)'

/**
 * The 415 answer to a `Content-Type` that is not a media type (fastify could not parse
 * it): the node cannot tell what the body is.
 */
export function malformedContentType(contentType: string | undefined): ErrorAnswer {
  const shown = (contentType ?? '').replaceAll(/[^\x20-\x7e]/g, '?').slice(0, 100)
  return {
    status: 415,
    body: {
      error: 'ERR_UNSUPPORTED_MEDIA_TYPE',
      message: `content-type '${shown}' is not a media type (type/subtype); send ${ACCEPTED_TYPES}`,
    },
  }
}

const MSGPACK_TYPES = new Set([
  'application/msgpack',
  'application/x-msgpack',
  'application/vnd.msgpack',
])

/** The media type of a `Content-Type` value, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json')
}

/** True when `Accept` asks for msgpack. */
export function wantsMsgpack(accept: string | undefined): boolean {
  return accept?.includes('msgpack') === true
}

/**
 * The stored value of a request body.
 * @param contentType - the request's `Content-Type`, if any
 * @param body - the body bytes; undefined when the request had none
 * @throws HttpError 400 `ERR_BAD_BODY` when a JSON or msgpack body does not decode, holds
 *   a number JSON parsing would change, or is a raw-bytes envelope with a bad `type`; 415
 *   `ERR_UNSUPPORTED_MEDIA_TYPE` for JSON in another charset than UTF-8, or a type that
 *   could not be sent back as `Content-Type`
 */
export function bodyToValue(contentType: string | undefined, body: Buffer | undefined): unknown {
  const bytes = body ?? Buffer.alloc(0)
  const type = mediaType(contentType)
  if (type !== undefined && isJsonType(type)) {
    checkJsonCharset(contentType)
    return parseJson(bytes, 'body')
  }
  if (type !== undefined && MSGPACK_TYPES.has(type)) {
    const value = parseMsgpack(bytes)
    checkRawBytesType(value, 'body')
    return value
  }
  if (type === undefined || type === 'application/octet-stream') return new Uint8Array(bytes)
  // The type is sent back as the Content-Type of every GET: stored only if it can be.
  if (!isMediaType(contentType!)) {
    const refusal = malformedContentType(contentType)
    throw new HttpError(refusal.status, refusal.body.error, refusal.body.message)
  }
  return { [RAW_BYTES_FIELD]: new Uint8Array(bytes), type: contentType! } satisfies RawBytes
}

/**
 * A structured body (bulk routes): JSON, or msgpack by content type.
 * @throws HttpError 400 when it does not decode, 415 for a type that is neither
 */
export function structuredBody(contentType: string | undefined, body: Buffer | undefined): unknown {
  const type = mediaType(contentType)
  const bytes = body ?? Buffer.alloc(0)
  if (type !== undefined && MSGPACK_TYPES.has(type)) return parseMsgpack(bytes)
  if (type === undefined || isJsonType(type)) {
    checkJsonCharset(contentType)
    return parseJson(bytes, 'body')
  }
  throw new HttpError(
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
    `this route takes application/json or application/msgpack, got ${contentType}`,
  )
}

function parseMsgpack(bytes: Buffer): unknown {
  try {
    return unpackStrict(bytes)
  } catch {
    throw badBody('body is not valid msgpack')
  }
}

const bigintAsString = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)

/** JSON text of a value; 64-bit integers from msgpack (bigint) become decimal strings. */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    return JSON.stringify(value, bigintAsString)
  }
}

/** A response body with its content type. */
export interface Representation {
  body: Buffer | string
  type: string
}

/** The representation of a stored value for a client that sent `accept`. */
export function valueToBody(value: unknown, accept: string | undefined): Representation {
  if (isRawBytes(value)) {
    // An embedded writer may have stored any type: one that is not a media type is not sent.
    const type = isMediaType(value.type) ? value.type : 'application/octet-stream'
    return { body: asBuffer(value.__mcBytes), type }
  }
  if (value instanceof Uint8Array)
    return { body: asBuffer(value), type: 'application/octet-stream' }
  if (wantsMsgpack(accept)) return { body: msgpack.pack(value), type: 'application/msgpack' }
  return { body: jsonText(value), type: 'application/json' }
}

/**
 * A stored value as a JSON-safe structure (bulk answers): raw bytes become
 * `{"__mcBytes": "<base64>", "type": "<content type>"}`.
 */
export function jsonSafe(value: unknown): unknown {
  if (isRawBytes(value)) {
    return { [RAW_BYTES_FIELD]: asBuffer(value.__mcBytes).toString('base64'), type: value.type }
  }
  if (value instanceof Uint8Array) {
    return {
      [RAW_BYTES_FIELD]: asBuffer(value).toString('base64'),
      type: 'application/octet-stream',
    }
  }
  return value
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
}
