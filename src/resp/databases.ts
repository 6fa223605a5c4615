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
import { keyBytes, keyOf } from './key-codec.js'

/** A key of a keyspace, as a Redis key names it. */
export interface Target {
  readonly space: Keyspace<unknown>
  readonly key: string
}

/** A key of a database, with the bytes Redis clients see. */
export interface VisibleKey extends Target {
  readonly bytes: Buffer
}

interface Route {
  readonly prefix: Buffer
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
  #routed(bytes: Buffer): boolean {
    for (const r of this.#routes) {
      if (bytes.length >= r.prefix.length && bytes.subarray(0, r.prefix.length).equals(r.prefix))
        return true
    }
    return false
  }

  /** Live keys of this database with their Redis bytes, keyspace by keyspace. */
  *keys(): IterableIterator<VisibleKey> {
    const hasRoutes = this.#routes.length > 0
    for (const key of this.main.keys()) {
      const bytes = keyBytes(key)
      if (!hasRoutes || !this.#routed(bytes)) yield { space: this.main, key, bytes }
    }
    for (const r of this.#routes) {
      for (const key of r.space.keys()) {
        yield { space: r.space, key, bytes: Buffer.concat([r.prefix, keyBytes(key)]) }
      }
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
      ? spaces.slice(1).map((space) => ({ prefix: Buffer.from(`${space.name}:`), space }))
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
