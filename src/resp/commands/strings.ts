/**
 * String commands: `GET SET SETEX PSETEX SETNX GETEX GETDEL MGET MSET MSETNX`. Values are
 * stored as bytes; every write goes through the facade and replicates like any write.
 * @module
 */
import { lowerArg } from '../args.js'
import type { Target } from '../databases.js'
import { arityError, REDIS_ERRORS, RespError } from '../resp-error.js'
import type { CommandSpec, Session } from '../session.js'
import { bytesOf, ownBytes } from '../value-bytes.js'
import { expiryOf, expiryUnit } from './expiry.js'
import { deleteKeys, type Pair, rewriteExpiry, writeMany, writeValue } from './writes.js'

const STRING = { group: 'string' } as const

function get(s: Session, args: Buffer[]): void {
  const t = s.db.resolve(args[1]!)
  const v = t.space.get(t.key)
  s.out.bulk(v === undefined ? undefined : bytesOf(v))
}

/** The bytes a key holds now, without touching recency. */
function peekBytes(t: Target): Uint8Array | undefined {
  const v = t.space.peek(t.key)
  return v === undefined ? undefined : bytesOf(v)
}

interface SetFlags {
  nx: boolean
  xx: boolean
  get: boolean
  keepTtl: boolean
  expiresAt: number | undefined
}

/** Parses SET's options from `args[3]` on, as Redis does (`parseExtendedStringArgumentsOrReply`). */
function setFlags(s: Session, args: Buffer[]): SetFlags {
  const f: SetFlags = { nx: false, xx: false, get: false, keepTtl: false, expiresAt: undefined }
  let expiry: string | undefined
  let expiryArg: Buffer | undefined
  for (let j = 3; j < args.length; j++) {
    const opt = lowerArg(args[j]!)
    const next = args[j + 1]
    const unit = expiryUnit(opt)
    if (opt === 'nx' && !f.xx) f.nx = true
    else if (opt === 'xx' && !f.nx) f.xx = true
    else if (opt === 'get') f.get = true
    else if (opt === 'keepttl' && expiry === undefined) f.keepTtl = true
    else if (unit !== undefined && next !== undefined && !f.keepTtl && (expiry ?? unit) === unit) {
      expiry = unit
      expiryArg = next
      j++
    } else throw new RespError(REDIS_ERRORS.syntax)
  }
  if (expiry !== undefined) {
    f.expiresAt = expiryOf(expiryUnit(expiry)!, expiryArg!, s.server.clock.now(), 'set')
  }
  return f
}

function set(s: Session, args: Buffer[]): void | Promise<void> {
  const f = setFlags(s, args)
  const t = s.db.resolve(args[1]!)
  const old = f.get ? peekBytes(t) : undefined
  if (f.nx || f.xx) {
    const exists = t.space.has(t.key)
    if ((f.nx && exists) || (f.xx && !exists)) {
      if (f.get) s.out.bulk(old)
      else s.out.nil()
      return
    }
  }
  let expiresAt = f.expiresAt
  if (f.keepTtl) expiresAt = t.space.entry(t.key)?.expiresAt
  s.beginWrites()
  const pending = writeValue(s, t, ownBytes(args[2]!), {
    expiresAt: finite(expiresAt),
    command: 'set',
  })
  if (pending === undefined) return setReply(s, f.get, old)
  return pending.then(() => setReply(s, f.get, old))
}

function setReply(s: Session, get: boolean, old: Uint8Array | undefined): void {
  if (get) s.out.bulk(old)
  else s.out.ok()
}

/** An expiry the facade can take (an entry that never expires is written with the default TTL). */
function finite(at: number | undefined): number | undefined {
  return at !== undefined && Number.isFinite(at) ? at : undefined
}

function setWithExpiry(unit: 'ex' | 'px', command: string) {
  return (s: Session, args: Buffer[]): void | Promise<void> => {
    const expiresAt = expiryOf(unit, args[2]!, s.server.clock.now(), command)
    const t = s.db.resolve(args[1]!)
    s.beginWrites()
    const pending = writeValue(s, t, ownBytes(args[3]!), { expiresAt, command })
    if (pending === undefined) return s.out.ok()
    return pending.then(() => s.out.ok())
  }
}

function setnx(s: Session, args: Buffer[]): void | Promise<void> {
  const t = s.db.resolve(args[1]!)
  if (t.space.has(t.key)) return s.out.integer(0)
  s.beginWrites()
  const pending = writeValue(s, t, ownBytes(args[2]!), { command: 'setnx' })
  if (pending === undefined) return s.out.integer(1)
  return pending.then(() => s.out.integer(1))
}

async function getex(s: Session, args: Buffer[]): Promise<void> {
  const t = s.db.resolve(args[1]!)
  let expiresAt: number | undefined
  let persist = false
  let seen = false
  for (let j = 2; j < args.length; j++) {
    const opt = lowerArg(args[j]!)
    const unit = expiryUnit(opt)
    if (opt === 'persist' && !seen) {
      persist = true
      seen = true
    } else if (unit !== undefined && args[j + 1] !== undefined && !seen) {
      expiresAt = expiryOf(unit, args[j + 1]!, s.server.clock.now(), 'getex')
      seen = true
      j++
    } else throw new RespError(REDIS_ERRORS.syntax)
  }
  const v = t.space.get(t.key)
  if (v === undefined) return s.out.nil()
  const bytes = bytesOf(v)
  if (persist || expiresAt !== undefined) {
    s.beginWrites()
    const at = persist ? s.server.clock.now() + t.space.options.maxTtl : expiresAt!
    await rewriteExpiry(s, t, at, 'getex')
  }
  s.out.bulk(bytes)
}

async function getdel(s: Session, args: Buffer[]): Promise<void> {
  const t = s.db.resolve(args[1]!)
  const v = t.space.get(t.key)
  if (v === undefined) return s.out.nil()
  s.beginWrites()
  await deleteKeys(s, [t])
  s.out.bulk(bytesOf(v))
}

function mget(s: Session, args: Buffer[]): void {
  // Every key is read (and checked) before the reply starts: an error never cuts an array.
  const values: (Uint8Array | undefined)[] = new Array(args.length - 1)
  let bytes = 0
  for (let i = 1; i < args.length; i++) {
    const t = s.db.resolve(args[i]!)
    const v = t.space.get(t.key)
    const b = v === undefined ? undefined : bytesOf(v)
    values[i - 1] = b
    bytes += b === undefined ? 5 : b.length + 16
  }
  const max = s.server.limits.maxOutputBytes
  if (bytes > max) throw new RespError(`ERR the MGET reply would be over ${max} bytes`)
  s.out.bulks(values)
}

/**
 * The key-value pairs of `MSET`/`MSETNX`, each key resolved and each value copied.
 * @throws RespError (arity) for an odd count
 */
function pairsOf(s: Session, args: Buffer[], command: string): Pair[] {
  if (args.length % 2 === 0) throw arityError(command)
  const pairs: Pair[] = []
  for (let i = 1; i < args.length; i += 2) {
    pairs.push([s.db.resolve(args[i]!), ownBytes(args[i + 1]!)])
  }
  return pairs
}

/** All or none, as in Redis: a refused pair (a key too long, a value too large) writes nothing. */
function mset(s: Session, args: Buffer[]): Promise<void> {
  return writeMany(s, pairsOf(s, args, 'mset')).then(() => s.out.ok())
}

/** Sets every pair when none of the keys is live on this node; all or none. */
function msetnx(s: Session, args: Buffer[]): void | Promise<void> {
  const pairs = pairsOf(s, args, 'msetnx')
  // Every key is checked (`has` refuses a key too long) before any answer.
  let exists = false
  for (const [t] of pairs) if (t.space.has(t.key)) exists = true
  if (exists) return s.out.integer(0)
  return writeMany(s, pairs).then(() => s.out.integer(1))
}

const W = ['write', 'denyoom'] as const

/** The string commands. */
export const STRING_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    ...STRING,
    since: '1.0.0',
    summary: 'Returns the string value of a key.',
    run: get,
  },
  {
    name: 'set',
    arity: -3,
    flags: W,
    keys: [1, 1, 1],
    ...STRING,
    since: '1.0.0',
    summary:
      'Sets the string value of a key, ignoring its type. The key is created if it does not exist.',
    run: set,
  },
  {
    name: 'setex',
    arity: 4,
    flags: W,
    keys: [1, 1, 1],
    ...STRING,
    since: '2.0.0',
    summary:
      'Sets the string value and expiration time of a key. Creates the key if it does not exist.',
    run: setWithExpiry('ex', 'setex'),
  },
  {
    name: 'psetex',
    arity: 4,
    flags: W,
    keys: [1, 1, 1],
    ...STRING,
    since: '2.6.0',
    summary:
      'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist.',
    run: setWithExpiry('px', 'psetex'),
  },
  {
    name: 'setnx',
    arity: 3,
    flags: [...W, 'fast'],
    keys: [1, 1, 1],
    ...STRING,
    since: '1.0.0',
    summary: 'Set the string value of a key only when the key does not exist.',
    run: setnx,
  },
  {
    name: 'getex',
    arity: -2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    ...STRING,
    since: '6.2.0',
    summary: 'Returns the string value of a key after setting its expiration time.',
    run: getex,
  },
  {
    name: 'getdel',
    arity: 2,
    flags: ['write', 'fast'],
    keys: [1, 1, 1],
    ...STRING,
    since: '6.2.0',
    summary: 'Returns the string value of a key after deleting the key.',
    run: getdel,
  },
  {
    name: 'mget',
    arity: -2,
    flags: ['readonly', 'fast'],
    keys: [1, -1, 1],
    ...STRING,
    since: '1.0.0',
    summary: 'Atomically returns the string values of one or more keys.',
    run: mget,
  },
  {
    name: 'mset',
    arity: -3,
    flags: W,
    keys: [1, -1, 2],
    ...STRING,
    since: '1.0.1',
    summary: 'Atomically creates or modifies the string values of one or more keys.',
    run: mset,
  },
  {
    name: 'msetnx',
    arity: -3,
    flags: W,
    keys: [1, -1, 2],
    ...STRING,
    since: '1.0.1',
    summary:
      "Atomically modifies the string values of one or more keys only when all keys don't exist.",
    run: msetnx,
  },
]
