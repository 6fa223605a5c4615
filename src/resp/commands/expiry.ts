/**
 * Expiry arguments (`EX PX EXAT PXAT`, `SETEX` seconds, `EXPIRE` seconds...) turned
 * into absolute times on the node's clock, with Redis's errors.
 * @module
 */
import { intArg } from '../args.js'
import { expireError } from '../resp-error.js'

/** The unit and base of an expiry argument. */
export type ExpiryUnit = 'ex' | 'px' | 'exat' | 'pxat'

/** Largest absolute time, ms, that Redis accepts (beyond it: invalid expire time). */
const MAX_MS = Number.MAX_SAFE_INTEGER

/**
 * The absolute expiry (node clock, ms) of `arg` in `unit`.
 * @param allowNonPositive - `EXPIRE` takes 0 and negatives (the key is deleted); `SET` does not
 * @throws RespError `value is not an integer or out of range`, `invalid expire time in '<command>' command`
 */
export function expiryOf(
  unit: ExpiryUnit,
  arg: Uint8Array,
  now: number,
  command: string,
  allowNonPositive = false,
): number {
  const n = intArg(arg)
  if (n <= 0 && !allowNonPositive) throw expireError(command)
  const ms = unit === 'ex' || unit === 'exat' ? n * 1000 : n
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_MS) throw expireError(command)
  const at = unit === 'ex' || unit === 'px' ? now + ms : ms
  if (!Number.isSafeInteger(at)) throw expireError(command)
  return at
}

/** The unit an option names (`ex`, `px`, `exat`, `pxat`), or undefined. */
export function expiryUnit(option: string): ExpiryUnit | undefined {
  return option === 'ex' || option === 'px' || option === 'exat' || option === 'pxat'
    ? option
    : undefined
}
