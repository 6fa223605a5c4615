import { InvalidKeyError, InvalidOptionError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import { WRAP_OPTION_NAMES, type WrapOptions } from './call-options.js'
import { checkTtl } from './write-checks.js'

/**
 * The names under which functions are memoized in one keyspace. Keys are
 * `${name}:${JSON.stringify(args)}`, the same on every node (so nodes share memoized
 * results); two different live functions cannot take one name, so their keys never
 * collide. Functions are held weakly: a name frees up when its function is collected.
 */
export class WrapNames {
  private readonly byName = new Map<string, WeakRef<object>>()

  /**
   * `fn` memoized through `fetch`, under the keys {@link keyFor} gives: each call is a
   * `fetch` of its key with `fn` as the load (`this` passed on).
   * @param limits - the keyspace's, for the wrap's TTL
   * @throws InvalidOptionError for a bad `fn` or options, and as {@link keyFor}
   */
  memoize<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    options: WrapOptions<A> | undefined,
    limits: Readonly<ResolvedKeyspaceOptions>,
    keyspace: string,
    fetch: (key: string, call: { load: () => R | Promise<R>; ttl?: number }) => Promise<unknown>,
  ): (...args: A) => Promise<R> {
    if (typeof fn !== 'function') throw new InvalidOptionError('wrap needs a function')
    checkOptionNames(options, WRAP_OPTION_NAMES, 'wrap')
    // Checked now, as ms: a bad TTL fails where it is written, not at the first miss, and
    // each call checks a number rather than parsing a duration string again.
    const ttl = options?.ttl === undefined ? undefined : checkTtl(options.ttl, limits)
    const keyOf = this.keyFor(fn, options, keyspace)
    return function (this: unknown, ...args: A): Promise<R> {
      try {
        const load = () => fn.apply(this, args)
        return fetch(keyOf(...args), ttl === undefined ? { load } : { load, ttl }) as Promise<R>
      } catch (err) {
        return Promise.reject(err)
      }
    }
  }

  /**
   * The key function for `fn`.
   * @throws InvalidOptionError when `fn` has no name and none is given, or when another
   *   live function was wrapped under the same name
   */
  keyFor<A extends unknown[]>(
    fn: (...args: A) => unknown,
    options: WrapOptions<A> | undefined,
    keyspace: string,
  ): (...args: A) => string {
    if (options?.key !== undefined) {
      if (typeof options.key !== 'function')
        throw new InvalidOptionError('wrap: key must be a function of the call arguments')
      return options.key
    }
    const name = options?.name ?? fn.name
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidOptionError(
        'wrap: an anonymous function needs a `name` (or a `key` function), so its cached results cannot be mistaken for another function’s',
      )
    }
    const held = this.byName.get(name)?.deref()
    if (held !== undefined && held !== fn) {
      throw new InvalidOptionError(
        `wrap: another function is already memoized as '${name}' in keyspace '${keyspace}'; give this one its own \`name\``,
      )
    }
    this.byName.set(name, new WeakRef(fn))
    return (...args: A) => {
      let text: string
      try {
        // Strings, finite numbers, booleans and null (the common case) are what JSON
        // writes them as; anything else goes through the check of what JSON would change.
        text = JSON.stringify(args, args.every(plainArg) ? undefined : keepsMeaning)
      } catch (cause) {
        throw new InvalidKeyError(
          `wrap '${name}': ${cause instanceof KeyArgError ? cause.message : 'the arguments cannot be turned into a key with JSON.stringify'}; pass a \`key\` function`,
          { cause },
        )
      }
      return `${name}:${text}`
    }
  }
}

/** What JSON would write differently from the argument (and so confuse with another). */
class KeyArgError extends Error {}

function plainArg(v: unknown): boolean {
  const t = typeof v
  return (
    t === 'string' ||
    t === 'boolean' ||
    v === null ||
    (t === 'number' && Number.isFinite(v) && !Object.is(v, -0))
  )
}

/**
 * A `JSON.stringify` replacer that refuses what JSON writes as something else: undefined,
 * NaN and ±Infinity (all `null`), -0 (`0`), functions and symbols (dropped or `null`), and objects
 * other than plain ones and arrays (a Map or Set writes `{}`, a Date its ISO string, a class
 * instance its fields): two different calls would share one cached result.
 */
function keepsMeaning(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key]
  const t = typeof original
  if (original === undefined || t === 'function' || t === 'symbol')
    throw new KeyArgError(
      `an argument holds ${t === 'undefined' ? 'undefined' : `a ${t}`}, which JSON drops or writes as null`,
    )
  if (t === 'number' && !Number.isFinite(original))
    throw new KeyArgError(`an argument holds ${String(original)}, which JSON writes as null`)
  if (Object.is(original, -0)) throw new KeyArgError('an argument holds -0, which JSON writes as 0')
  if (t === 'object' && original !== null && !Array.isArray(original)) {
    const proto = Object.getPrototypeOf(original)
    if (proto !== Object.prototype && proto !== null)
      throw new KeyArgError(
        `an argument holds a ${(original as object).constructor?.name ?? 'non-plain object'}, which JSON does not write as itself`,
      )
  }
  return value
}
