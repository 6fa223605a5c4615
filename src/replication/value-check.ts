import { UnencodableValueError } from '../errors.js'

/**
 * Deepest nesting a stored value may have. Deeper values are refused: they are almost
 * always cycles, and msgpack would need as deep a stack on every node.
 */
export const MAX_VALUE_DEPTH = 256

/**
 * What a value becomes on the wire, decided per type (docs/values.md has the table):
 * - stored as is: `null`, booleans, strings, numbers (NaN and ±Infinity too), bigints,
 *   `undefined` inside objects and arrays, plain objects, arrays, `Set`, `Date`,
 *   `RegExp`, `Uint8Array`/`Buffer` and the other typed arrays, `ArrayBuffer`, `DataView`;
 * - stored in the one form every node reads (the writer keeps that form too): `-0` (as
 *   0), holes of sparse arrays (as `undefined`), objects without a prototype (as plain
 *   objects), and, where bytes are made, strings and property names with a lone
 *   surrogate (UTF-8 has no form for one: each is read back as U+FFFD; decided on the
 *   encoded bytes, see `holdsReplacementChar`, not here: a check per string cost a
 *   `set` ~15 % more, and with no bytes the writer is the only reader);
 * - refused, naming the path: functions, symbols, `Map` (msgpack maps are read back as
 *   plain objects), `Error`s, boxed primitives, `WeakMap`/`Promise` and other class
 *   instances (their prototype would exist on the writer only), an own property named
 *   `__proto__`, nesting deeper than {@link MAX_VALUE_DEPTH}.
 * Not seen by the check (documented): symbol-keyed and non-index array properties, which
 * msgpack does not carry.
 */
const AS_IS = new Set<unknown>([
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  Buffer.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Uint16Array.prototype,
  Uint32Array.prototype,
  Int8Array.prototype,
  Int16Array.prototype,
  Int32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
  BigInt64Array.prototype,
  BigUint64Array.prototype,
])

/** Advice per refused type, by prototype. */
const REFUSED = new Map<unknown, string>([
  [Map.prototype, 'a Map (store Object.fromEntries(map) or an array of [key, value] pairs)'],
  [WeakMap.prototype, 'a WeakMap'],
  [WeakSet.prototype, 'a WeakSet'],
  [Promise.prototype, 'a Promise (store the value it resolves to)'],
  [Number.prototype, 'a boxed Number (store the number)'],
  [String.prototype, 'a boxed String (store the string)'],
  [Boolean.prototype, 'a boxed Boolean (store the boolean)'],
])

/**
 * True when `s` is well-formed UTF-16 (no lone surrogate), so that UTF-8, and so msgpack,
 * carries it unchanged; a lone surrogate is read back as U+FFFD on every other node.
 */
export function isWellFormed(s: string): boolean {
  // ES2024 (every Node this package supports); the compiler's lib is ES2023.
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/** A refusal deep inside a value: the path is built on the way out, only on failure. */
class Refusal {
  readonly path: string[] = []
  constructor(readonly what: string) {}
}

/**
 * Bytes msgpack needs at most for a header (map, array, string, bin, ext): type byte and
 * a 32-bit length, plus an ext type byte.
 */
const HEADER = 6
/** Most bytes msgpack takes for a number, a bigint of 64 bits, a Date. */
const SCALAR = 15

/** Set by a walk that met something stored in another form (-0, a hole, a bare object). */
let normalized = false

/**
 * Checks that `value` is data every node (and a restart) reads back as the writer does,
 * and bounds its encoded size (so a write that needs no bytes need not encode: the bound
 * decides `maxValueBytes` unless it is close, then the caller encodes to know).
 * @param key - the key, named in the error
 * @returns an upper bound of the value's msgpack size in bytes, positive when the value is
 *   stored as is, negative (its opposite) when it is accepted but stored in another form
 *   (the caller keeps the decoded form, so the writer reads what replicas read)
 * @throws UnencodableValueError naming the path inside the value and what is there
 */
export function storableSize(key: string, value: unknown): number {
  normalized = false
  try {
    const bound = walk(value, 0)
    return normalized ? -bound : bound
  } catch (err) {
    if (!(err instanceof Refusal)) throw err
    const at = `value${err.path.reverse().join('')}`
    throw new UnencodableValueError(
      `cannot store the value of key '${key}': ${at} is ${err.what}; values must be data that reads the same on every node (docs/values.md)`,
    )
  }
}

/** True when `value` is stored as is (see {@link storableSize}, which also throws). */
export function checkStorable(key: string, value: unknown): boolean {
  return storableSize(key, value) > 0
}

function walk(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string':
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      return HEADER + 3 * v.length
    case 'boolean':
    case 'undefined':
      return 3
    case 'bigint':
      return SCALAR + (v < 0n ? -v : v).toString(16).length
    case 'number':
      // msgpack has one zero: -0 is read back as 0.
      if (v === 0 && 1 / v < 0) normalized = true
      return SCALAR
    case 'function':
      throw new Refusal(`a function${v.name ? ` (${v.name})` : ''}`)
    case 'symbol':
      throw new Refusal('a symbol')
  }
  if (v === null) return 1
  if (depth >= MAX_VALUE_DEPTH)
    throw new Refusal(`nested deeper than ${MAX_VALUE_DEPTH} levels (a cycle?)`)
  const proto = Object.getPrototypeOf(v)
  if (proto === Object.prototype) return walkObject(v as Record<string, unknown>, depth)
  if (proto === Array.prototype) return walkArray(v as unknown[], depth)
  if (proto === null) {
    normalized = true
    return walkObject(v as Record<string, unknown>, depth)
  }
  if (AS_IS.has(proto)) {
    if (proto === Date.prototype) return SCALAR
    if (proto === RegExp.prototype) {
      const r = v as RegExp
      return 2 * HEADER + 3 * (r.source.length + r.flags.length)
    }
    return 2 * HEADER + (v as ArrayBufferLike | ArrayBufferView).byteLength
  }
  if (proto === Set.prototype) {
    let size = 2 * HEADER
    for (const m of v as Set<unknown>) size += walkAt(m, depth, '[Set member]')
    return size
  }
  const refused = REFUSED.get(proto)
  if (refused !== undefined) throw new Refusal(refused)
  if (v instanceof Error) throw new Refusal('an Error (store its message or a plain object)')
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name
  throw new Refusal(
    `an instance of ${typeof name === 'string' && name ? name : 'a class'} (its prototype exists on the writer only; store plain data)`,
  )
}

function walkObject(o: Record<string, unknown>, depth: number): number {
  let size = HEADER
  // Plain objects only inherit from Object.prototype, whose properties are not enumerable.
  for (const k in o) {
    if (k === '__proto__') {
      const r = new Refusal('an own property named __proto__ (msgpack renames it)')
      r.path.push(segment(k))
      throw r
    }
    size += HEADER + 3 * k.length + walkAt(o[k], depth, k)
  }
  return size
}

function walkArray(a: unknown[], depth: number): number {
  let size = HEADER
  for (let i = 0; i < a.length; i++) {
    const el = a[i]
    // A hole is read back as undefined.
    if (el === undefined) {
      if (!(i in a)) normalized = true
      size += 3
      continue
    }
    size += walkAt(el, depth, i)
  }
  return size
}

function walkAt(v: unknown, depth: number, at: string | number): number {
  try {
    return walk(v, depth + 1)
  } catch (err) {
    if (err instanceof Refusal) err.path.push(segment(at))
    throw err
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/

function segment(at: string | number): string {
  if (typeof at === 'number') return `[${at}]`
  if (at.startsWith('[')) return at
  return IDENT.test(at) ? `.${at}` : `[${JSON.stringify(at)}]`
}
