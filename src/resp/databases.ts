/**
 * How Redis databases and keys map onto keyspaces (docs/resp.md, "Keyspaces"):
 *
 * - `SELECT n` picks the n-th keyspace of the configured list (`--resp-keyspaces`,
 *   default `default`): database 0 is the first.
 * - With prefix routing (`--resp-prefix-routing`), in database 0 a key `NAME:rest`
 *   whose NAME is one of the other listed keyspaces is key `rest` of keyspace NAME, so a
 *   service that names its keys `sessions:...` uses keyspace `sessions` unchanged, and
 *   `GET sessions:abc` reads `/v1/sessions/abc`.
 * @module
 */
import type { Cache } from '../api/cache.js'
import type { Keyspace } from '../api/keyspace.js'
import { BYTES_KEY_MARK, hasByteForm, keyBytes, keyOf } from './key-codec.js'

/** A key of a keyspace, as a Redis key names it. */
export interface Target {
  readonly space: Keyspace<unknown>
  readonly key: string
}

/** A key of a database as Redis clients name it: a route's prefix (if any), then the key. */
export interface VisibleKey extends Target {
  /** The route's prefix (`sessions:`) when the key was reached through one. */
  readonly prefix: string | undefined
}

/** The bytes Redis clients see for a listed key. */
export function visibleBytes(k: VisibleKey): Buffer {
  const bytes = keyBytes(k.key)
  return k.prefix === undefined ? bytes : Buffer.concat([Buffer.from(k.prefix, 'latin1'), bytes])
}

interface Route {
  readonly prefix: Buffer
  /** The prefix as text (ASCII: a keyspace name and ':'). */
  readonly name: string
  readonly space: Keyspace<unknown>
}

/** One Redis database: its keyspace, and in database 0 the prefix routes. */
export class Database {
  /** Index of this database (`SELECT n`). */
  readonly index: number
  /** The keyspace of keys that no route claims. */
  readonly main: Keyspace<unknown>
  readonly #routes: readonly Route[]

  constructor(index: number, main: Keyspace<unknown>, routes: readonly Route[]) {
    this.index = index
    this.main = main
    this.#routes = routes
  }

  /** Every keyspace this database reaches (its main one first). */
  get spaces(): Keyspace<unknown>[] {
    return [this.main, ...this.#routes.map((r) => r.space)]
  }

  /** The keyspace and key that Redis key `bytes` names. */
  resolve(bytes: Uint8Array): Target {
    for (const r of this.#routes) {
      const p = r.prefix
      if (bytes.length >= p.length && Buffer.compare(p, bytes.subarray(0, p.length)) === 0) {
        return { space: r.space, key: keyOf(bytes.subarray(p.length)) }
      }
    }
    return { space: this.main, key: keyOf(bytes) }
  }

  /** True when the main keyspace's `key` is shadowed by a route (it cannot be named over RESP). */
  #routed(key: string): boolean {
    for (const r of this.#routes) {
      // The key's bytes start with the (ASCII) prefix: as text, or after the bytes mark.
      if (key.startsWith(r.name) || (key.startsWith(BYTES_KEY_MARK) && key.startsWith(r.name, 1)))
        return true
    }
    return false
  }

  /**
   * Live keys of this database, keyspace by keyspace (their bytes: {@link visibleBytes}).
   * Keys that no Redis key names are skipped (a route shadows them, or they have no byte
   * form): listed, their bytes would name another key, which a `SCAN` then `DEL` deletes.
   */
  *keys(): IterableIterator<VisibleKey> {
    const hasRoutes = this.#routes.length > 0
    for (const key of this.main.keys()) {
      if (hasByteForm(key) && (!hasRoutes || !this.#routed(key)))
        yield { space: this.main, key, prefix: undefined }
    }
    for (const r of this.#routes) {
      for (const key of r.space.keys())
        if (hasByteForm(key)) yield { space: r.space, key, prefix: r.name }
    }
  }

  /** Values held (expired ones count until the sweep frees them, as Redis's `DBSIZE`). */
  size(): number {
    let n = 0
    for (const space of this.spaces) n += space.size
    return n
  }
}

/** The databases of a RESP listener. */
export class Databases {
  readonly #dbs: readonly Database[]

  /**
   * Opens the listed keyspaces (the first is database 0).
   * @throws InvalidOptionError for a bad keyspace name
   */
  constructor(cache: Cache<unknown>, names: readonly string[], prefixRouting: boolean) {
    const spaces = names.map((name) => cache.keyspace(name))
    const routes: Route[] = prefixRouting
      ? spaces.slice(1).map((space) => ({
          prefix: Buffer.from(`${space.name}:`),
          name: `${space.name}:`,
          space,
        }))
      : []
    // Keyspace names hold no ':', so no prefix is a prefix of another: order does not matter.
    this.#dbs = spaces.map((space, i) => new Database(i, space, i === 0 ? routes : []))
  }

  /** How many databases (`SELECT 0` to `count - 1`). */
  get count(): number {
    return this.#dbs.length
  }

  /** Database `index`, or undefined when out of range. */
  get(index: number): Database | undefined {
    return this.#dbs[index]
  }

  /** Every database, in order. */
  all(): readonly Database[] {
    return this.#dbs
  }
}
