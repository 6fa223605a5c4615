import { InvalidKeyError, InvalidOptionError } from '../errors.js'
import type { WrapOptions } from './call-options.js'

/**
 * The names under which functions are memoized in one keyspace. Keys are
 * `${name}:${JSON.stringify(args)}`, the same on every node (so nodes share memoized
 * results); two different live functions cannot take one name, so their keys never
 * collide. Functions are held weakly: a name frees up when its function is collected.
 */
export class WrapNames {
  private readonly byName = new Map<string, WeakRef<object>>()

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
        text = JSON.stringify(args)
      } catch (cause) {
        throw new InvalidKeyError(
          `wrap '${name}': the arguments cannot be turned into a key with JSON.stringify; pass a \`key\` function`,
          { cause },
        )
      }
      return `${name}:${text}`
    }
  }
}
