/**
 * Key commands: `DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST TTL
 * PTTL SCAN KEYS DBSIZE FLUSHDB`. Every key expires here (each keyspace bounds TTLs by
 * its `maxTtl`), so `TTL` never answers -1 and `PERSIST` sets the longest TTL allowed.
 * @module
 */
import { intArg, lowerArg } from '../args.js'
import { visibleBytes } from '../databases.js'
import { globMatch, matchesAll } from '../glob.js'
import { REDIS_ERRORS, RespError } from '../resp-error.js'
import type { CommandSpec, Session } from '../session.js'
import { type ExpiryUnit, expiryOf } from './expiry.js'
import { deleteKeys, rewriteExpiry } from './writes.js'

const KEYSPACE = { group: 'generic' } as const

async function del(s: Session, args: Buffer[]): Promise<void> {
  s.beginWrites()
  const targets = args.slice(1).map((k) => s.db.resolve(k))
  s.out.integer(await deleteKeys(s, targets))
}

function exists(s: Session, args: Buffer[]): void {
  let n = 0
  for (let i = 1; i < args.length; i++) {
    const t = s.db.resolve(args[i]!)
    if (t.space.has(t.key)) n++
  }
  s.out.integer(n)
}

function type(s: Session, args: Buffer[]): void {
  const t = s.db.resolve(args[1]!)
  s.out.simple(t.space.has(t.key) ? 'string' : 'none')
}

function expireCommand(unit: ExpiryUnit, command: string) {
  return async (s: Session, args: Buffer[]): Promise<void> => {
    let nx = false
    let xx = false
    let gt = false
    let lt = false
    for (let j = 3; j < args.length; j++) {
      const opt = lowerArg(args[j]!)
      if (opt === 'nx') nx = true
      else if (opt === 'xx') xx = true
      else if (opt === 'gt') gt = true
      else if (opt === 'lt') lt = true
      else throw new RespError(`ERR Unsupported option ${args[j]!.toString('latin1')}`)
    }
    if (nx && (xx || gt || lt)) throw new RespError(REDIS_ERRORS.nxAndOthers)
    if (gt && lt) throw new RespError(REDIS_ERRORS.gtAndLt)
    const now = s.server.clock.now()
    const at = expiryOf(unit, args[2]!, now, command, true)
    const t = s.db.resolve(args[1]!)
    const entry = t.space.entry(t.key)
    if (entry === undefined) return s.out.integer(0)
    const current = entry.expiresAt
    const hasTtl = Number.isFinite(current)
    if ((nx && hasTtl) || (xx && !hasTtl) || (gt && at <= current) || (lt && at >= current)) {
      return s.out.integer(0)
    }
    s.beginWrites()
    if (at <= now) await deleteKeys(s, [t])
    else await rewriteExpiry(s, t, at, command)
    s.out.integer(1)
  }
}

async function persist(s: Session, args: Buffer[]): Promise<void> {
  const t = s.db.resolve(args[1]!)
  const entry = t.space.entry(t.key)
  if (entry === undefined || !Number.isFinite(entry.expiresAt)) return s.out.integer(0)
  s.beginWrites()
  // No key lives forever here: the longest TTL the keyspace allows.
  const ok = await rewriteExpiry(s, t, s.server.clock.now() + t.space.options.maxTtl, 'persist')
  s.out.integer(ok ? 1 : 0)
}

function ttlCommand(ms: boolean) {
  return (s: Session, args: Buffer[]): void => {
    const t = s.db.resolve(args[1]!)
    const entry = t.space.entry(t.key)
    if (entry === undefined) {
      s.out.integer(-2)
      return
    }
    if (!Number.isFinite(entry.expiresAt)) {
      s.out.integer(-1)
      return
    }
    const left = Math.max(0, entry.expiresAt - s.server.clock.now())
    // Redis rounds seconds to the nearest: (ttl + 500) / 1000.
    s.out.integer(ms ? Math.round(left) : Math.floor((left + 500) / 1000))
  }
}

/** A cursor as Redis reads it (strtoull); negative or huge ones are past the end. */
function cursorOf(arg: Buffer): number {
  const text = arg.toString('latin1')
  if (!/^-?[0-9]+$/.test(text)) throw new RespError(REDIS_ERRORS.invalidCursor)
  const n = Number(text)
  return n < 0 || !Number.isSafeInteger(n) ? Number.MAX_SAFE_INTEGER : n
}

function scan(s: Session, args: Buffer[]): void {
  const cursor = cursorOf(args[1]!)
  let count = s.server.limits.scanCount
  let pattern: Buffer | undefined
  let typeName: string | undefined
  for (let j = 2; j < args.length; j += 2) {
    const opt = lowerArg(args[j]!)
    const value = args[j + 1]
    if (value === undefined) throw new RespError(REDIS_ERRORS.syntax)
    if (opt === 'count') {
      count = intArg(value)
      if (count < 1) throw new RespError(REDIS_ERRORS.syntax)
    } else if (opt === 'match') pattern = value
    else if (opt === 'type') typeName = lowerArg(value)
    else throw new RespError(REDIS_ERRORS.syntax)
  }
  const all = pattern === undefined || matchesAll(pattern)
  const noType = typeName !== undefined && typeName !== 'string'
  const step = s.server.scans.step(
    s.db,
    cursor,
    count,
    noType ? () => false : all ? () => true : (bytes) => globMatch(pattern!, bytes),
  )
  s.out.array(2)
  s.out.bulkText(String(step.next))
  s.out.bulks(step.keys)
}

function keys(s: Session, args: Buffer[]): void {
  const pattern = args[1]!
  const all = matchesAll(pattern)
  const found: Buffer[] = []
  let bytes = 0
  const max = s.server.limits.maxOutputBytes
  for (const k of s.db.keys()) {
    const name = visibleBytes(k)
    if (all || globMatch(pattern, name)) {
      found.push(name)
      bytes += name.length + 16
      if (bytes > max) {
        throw new RespError(`ERR the KEYS reply would be over ${max} bytes; use SCAN`)
      }
    }
  }
  s.out.bulks(found)
}

function dbsize(s: Session): void {
  s.out.integer(s.db.size())
}

async function flushdb(s: Session, args: Buffer[]): Promise<void> {
  if (args.length > 2) throw new RespError(REDIS_ERRORS.syntax)
  if (args.length === 2) {
    const mode = lowerArg(args[1]!)
    if (mode !== 'async' && mode !== 'sync') throw new RespError(REDIS_ERRORS.syntax)
  }
  s.beginWrites()
  // A replicated clear: every node drops what was written before it, in every keyspace of the database.
  await Promise.all(s.db.spaces.map((space) => space.clear()))
  s.out.ok()
}

const W = ['write', 'fast'] as const
const R = ['readonly', 'fast'] as const

/** The key commands. */
export const KEY_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'del',
    arity: -2,
    flags: ['write'],
    keys: [1, -1, 1],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Deletes one or more keys.',
    run: del,
  },
  {
    name: 'unlink',
    arity: -2,
    flags: ['write', 'fast'],
    keys: [1, -1, 1],
    ...KEYSPACE,
    since: '4.0.0',
    summary: 'Asynchronously deletes one or more keys.',
    run: del,
  },
  {
    name: 'exists',
    arity: -2,
    flags: R,
    keys: [1, -1, 1],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Determines whether one or more keys exist.',
    run: exists,
  },
  {
    name: 'type',
    arity: 2,
    flags: R,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Determines the type of value stored at a key.',
    run: type,
  },
  {
    name: 'expire',
    arity: -3,
    flags: W,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Sets the expiration time of a key in seconds.',
    run: expireCommand('ex', 'expire'),
  },
  {
    name: 'pexpire',
    arity: -3,
    flags: W,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '2.6.0',
    summary: 'Sets the expiration time of a key in milliseconds.',
    run: expireCommand('px', 'pexpire'),
  },
  {
    name: 'expireat',
    arity: -3,
    flags: W,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '1.2.0',
    summary: 'Sets the expiration time of a key to a Unix timestamp.',
    run: expireCommand('exat', 'expireat'),
  },
  {
    name: 'pexpireat',
    arity: -3,
    flags: W,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '2.6.0',
    summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.',
    run: expireCommand('pxat', 'pexpireat'),
  },
  {
    name: 'persist',
    arity: 2,
    flags: W,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '2.2.0',
    summary: "Removes the expiration time of a key (here: sets the keyspace's longest TTL).",
    run: persist,
  },
  {
    name: 'ttl',
    arity: 2,
    flags: R,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Returns the expiration time in seconds of a key.',
    run: ttlCommand(false),
  },
  {
    name: 'pttl',
    arity: 2,
    flags: R,
    keys: [1, 1, 1],
    ...KEYSPACE,
    since: '2.6.0',
    summary: 'Returns the expiration time in milliseconds of a key.',
    run: ttlCommand(true),
  },
  {
    name: 'scan',
    arity: -2,
    flags: ['readonly'],
    keys: [0, 0, 0],
    ...KEYSPACE,
    since: '2.8.0',
    summary: 'Iterates over the key names in the database.',
    run: scan,
  },
  {
    name: 'keys',
    arity: 2,
    flags: ['readonly'],
    keys: [0, 0, 0],
    ...KEYSPACE,
    since: '1.0.0',
    summary: 'Returns all key names that match a pattern.',
    run: keys,
  },
  {
    name: 'dbsize',
    arity: 1,
    flags: R,
    keys: [0, 0, 0],
    group: 'server',
    since: '1.0.0',
    summary: 'Returns the number of keys in the database.',
    run: dbsize,
  },
  {
    name: 'flushdb',
    arity: -1,
    flags: ['write'],
    keys: [0, 0, 0],
    group: 'server',
    since: '1.0.0',
    summary: 'Removes all keys from the current database (replicated: on every node).',
    run: flushdb,
  },
]
