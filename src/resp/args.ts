/**
 * Reading command arguments: names and options (ASCII, case-insensitive) and integers
 * parsed as strictly as Redis does (`string2ll`).
 * @module
 */

import { REDIS_ERRORS, RespError } from './resp-error.js'
import { parseDecimal } from './resp-parser.js'

/** An argument as lower-case ASCII text (command names, options). */
export function lowerArg(arg: Uint8Array): string {
  const n = arg.length
  let s = ''
  for (let i = 0; i < n; i++) {
    const c = arg[i]!
    s += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c)
  }
  return s
}

/** An argument as text (UTF-8). */
export function textArg(arg: Uint8Array): string {
  return Buffer.from(arg.buffer, arg.byteOffset, arg.length).toString('utf8')
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** A signed 64-bit integer, strictly (no blank, no `+`, no leading zero), or undefined. */
export function int64Of(arg: Uint8Array): bigint | undefined {
  if (arg.length <= 18) {
    const n = parseDecimal(arg, 0, arg.length)
    return n === undefined ? undefined : BigInt(n)
  }
  const text = Buffer.from(arg.buffer, arg.byteOffset, arg.length).toString('latin1')
  if (!/^(-?[1-9][0-9]*)$/.test(text) || text.length > 20) return undefined
  const n = BigInt(text)
  return n < INT64_MIN || n > INT64_MAX ? undefined : n
}

/**
 * An integer argument as a number (exact below 2^53; larger ones only compare as huge).
 * @throws RespError `ERR value is not an integer or out of range`
 */
export function intArg(arg: Uint8Array): number {
  if (arg.length <= 18) {
    const n = parseDecimal(arg, 0, arg.length)
    if (n !== undefined) return n
    throw new RespError(REDIS_ERRORS.notInteger)
  }
  const n = int64Of(arg)
  if (n === undefined) throw new RespError(REDIS_ERRORS.notInteger)
  return Number(n)
}
