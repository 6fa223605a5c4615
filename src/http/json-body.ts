/**
 * JSON request bodies, decoded strictly: a body is stored as it was sent, or refused.
 * `JSON.parse(buffer.toString())` stored `{"price":1e400,"id":9007199254740993}` as
 * `{"price":null,"id":9007199254740992}` and invalid UTF-8 as U+FFFD, answering 200.
 *
 * - The bytes must be UTF-8 (RFC 8259 8.1): invalid UTF-8 is 400 `ERR_BAD_BODY`, and a
 *   `charset` other than UTF-8 is 415 `ERR_UNSUPPORTED_MEDIA_TYPE` (the code of every
 *   content type the node cannot take). A leading BOM is ignored.
 * - Numbers are doubles: a number that parsing would change is 400 `ERR_BAD_BODY`. That is
 *   an integer literal (no fraction, no exponent) beyond ±(2^53 - 1), a literal beyond
 *   the range of a double (it became `Infinity`, stored as `null`), and a non-zero
 *   literal that rounds to 0 (`1e-400`). Decimals round to the nearest double as in every
 *   JSON parser (`0.1`, `1.5`, `1e3` are kept); `-0` is taken and stored as `0`, as the
 *   library stores `-0` (docs/values.md).
 * @module
 */
import { badBody, HttpError } from './http-errors.js'

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** The labels of UTF-8 in the WHATWG Encoding Standard (what browsers send). */
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8'])

/**
 * Text that may hold a number parsing would change: 16 digits in a row (integers from
 * 2^53 on; literals of 309+ digits) or an exponent of 3 digits (`1e400`, `1e-400`). Any
 * other body is parsed without a reviver, which is several times faster; this one may
 * also match digits inside strings, which only costs the slower parse.
 */
const MAY_CHANGE = /\d{16}|[eE][+-]?\d{3}/

const INTEGER_LITERAL = /^-?\d+$/

/**
 * {@link MAY_CHANGE} outside strings: long digit runs in strings (ids, timestamps) must
 * not send a body through the reviver (7x slower measured). The regex is the quick
 * filter; one pass over the text then skips strings.
 */
export function mayChange(text: string): boolean {
  if (!MAY_CHANGE.test(text)) return false
  let run = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the next character).
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c) i++
        else if (d === 0x22) break
      }
      run = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (++run >= 16) return true
    } else {
      run = 0
      if (c === 0x65 || c === 0x45) {
        // An exponent of 3+ digits (`true`/`false` have no digits after their `e`).
        let j = i + 1
        const sign = text.charCodeAt(j)
        if (sign === 0x2b || sign === 0x2d) j++
        let digits = 0
        while (text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) {
          digits++
          j++
        }
        if (digits >= 3) return true
      }
    }
  }
  return false
}

/**
 * Refuses a JSON body declared in another charset than UTF-8.
 * @throws HttpError 415 `ERR_UNSUPPORTED_MEDIA_TYPE`
 */
export function checkJsonCharset(contentType: string | undefined): void {
  const charset = charsetOf(contentType)
  if (charset !== undefined && !UTF8_LABELS.has(charset)) {
    throw new HttpError(
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `JSON bodies must be UTF-8, got charset=${charset.replaceAll(/[^\x21-\x7e]/g, '?').slice(0, 40)}; send charset=utf-8 or none`,
    )
  }
}

/** The `charset` parameter of a `Content-Type`, lower case and unquoted; undefined when absent. */
function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const params = contentType.split(';')
  for (let i = 1; i < params.length; i++) {
    const param = params[i]!
    const eq = param.indexOf('=')
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
  }
  return undefined
}

/**
 * Parses a JSON body: UTF-8, and no number that parsing would change.
 * @param what - what the body is, for messages (`body`)
 * @throws HttpError 400 `ERR_BAD_BODY`
 */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  let text: string
  try {
    text = UTF8.decode(bytes)
  } catch {
    throw badBody(`${what} is not valid UTF-8: JSON bodies must be UTF-8`)
  }
  try {
    return mayChange(text) ? JSON.parse(text, exactNumbers) : JSON.parse(text)
  } catch (err) {
    if (err instanceof HttpError) throw err
    // The reviver walks the parsed value recursively: a very deep body overflows the stack.
    if (err instanceof RangeError) throw badBody(`${what} is nested too deeply`)
    throw badBody(`${what} is not valid JSON`)
  }
}

/** A `JSON.parse` reviver that refuses numbers parsing changed (Node 22+ passes `source`). */
export function exactNumbers(key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number') checkNumber(key, value, context?.source)
  return value
}

function checkNumber(key: string, value: number, source: string | undefined): void {
  // Without the literal (an engine without JSON.parse source access), judge the value.
  const literal = source ?? String(value)
  const integer = source === undefined ? Number.isInteger(value) : INTEGER_LITERAL.test(literal)
  let why: string | undefined
  if (!Number.isFinite(value)) why = 'is beyond the range of a double (it would be stored as null)'
  else if (integer && !Number.isSafeInteger(value) && !exactInteger(literal, value)) {
    why = `is an integer a double cannot hold exactly (it would be stored as ${BigInt(value)}); send it as a string`
  } else if (value === 0 && /[1-9]/.test(literal.split(/[eE]/)[0]!)) {
    why = 'is too small for a double (it would be stored as 0)'
  }
  if (why !== undefined) {
    const shown = literal.length > 40 ? `${literal.slice(0, 40)}...` : literal
    const where = key === '' ? '' : ` (under ${JSON.stringify(key).slice(0, 60)})`
    throw badBody(`the number ${shown}${where} ${why}`)
  }
}

/**
 * True when an integer literal names exactly the double it parsed to: 1e20 written out
 * (`JSON.stringify` writes it as 100000000000000000000), 2^60 as JavaScript prints it
 * (1152921504606847000, its shortest form), 9007199254740992. Such a body is what a
 * GET of the value returns, so it must go back in; 9007199254740993 is refused.
 */
function exactInteger(literal: string, value: number): boolean {
  if (String(value) === literal) return true
  try {
    return BigInt(literal) === BigInt(value)
  } catch {
    return false
  }
}
