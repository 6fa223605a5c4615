/**
 * Connection commands: `PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT TIME`, with
 * Redis's replies and errors (`AUTH password` and `AUTH default password`; `HELLO 3`
 * switches to RESP3).
 * @module
 */
import { intArg, lowerArg, textArg } from '../args.js'
import { RESP_PROTOCOL } from '../resp-defaults.js'
import { arityError, REDIS_ERRORS, RespError, unknownSubcommand } from '../resp-error.js'
import type { CommandSpec, Session } from '../session.js'

const CONNECTION = { group: 'connection' } as const

function ping(s: Session, args: Buffer[]): void {
  if (args.length > 2) throw arityError('ping')
  if (args.length === 2) s.out.bulk(args[1])
  else s.out.simple('PONG')
}

function echo(s: Session, args: Buffer[]): void {
  s.out.bulk(args[1])
}

function quit(s: Session): void {
  s.closeAfterReply = true
  s.out.ok()
}

function reset(s: Session): void {
  s.out.protocol = 2
  s.db = s.server.databases.get(0)!
  s.name = ''
  s.lastWrites = []
  s.setAuthenticated(s.server.password === undefined)
  s.out.simple('RESET')
}

/**
 * Checks a user and password. The only user is `default` (as in Redis without ACLs).
 * @returns true when they are accepted
 */
function checkCredentials(s: Session, user: string, password: Uint8Array): boolean {
  const accepted = s.server.password
  const ok = user === 'default' && (accepted === undefined || accepted.matches(password))
  if (!ok) s.server.stats.authFailures++
  return ok
}

function auth(s: Session, args: Buffer[]): void {
  if (args.length > 3) throw new RespError(REDIS_ERRORS.syntax)
  if (args.length === 2 && s.server.password === undefined) {
    throw new RespError(REDIS_ERRORS.authWithoutPassword)
  }
  const user = args.length === 3 ? textArg(args[1]!) : 'default'
  if (!checkCredentials(s, user, args[args.length - 1]!)) {
    throw new RespError(REDIS_ERRORS.wrongPass)
  }
  s.setAuthenticated(true)
  s.out.ok()
}

/** Client names and library attributes: printable ASCII without blanks (Redis's rule). */
function validName(value: Uint8Array): boolean {
  for (const c of value) if (c < 33 || c > 126) return false
  return true
}

function hello(s: Session, args: Buffer[]): void {
  let protocol = s.out.protocol
  if (args.length >= 2) {
    let v: number
    try {
      v = intArg(args[1]!)
    } catch {
      throw new RespError('ERR Protocol version is not an integer or out of range')
    }
    if (v !== 2 && v !== 3) throw new RespError(REDIS_ERRORS.noProto)
    protocol = v
  }
  let credentials: [string, Buffer] | undefined
  let name: Buffer | undefined
  for (let j = 2; j < args.length; j++) {
    const opt = lowerArg(args[j]!)
    const left = args.length - j - 1
    if (opt === 'auth' && left >= 2) {
      credentials = [textArg(args[j + 1]!), args[j + 2]!]
      j += 2
    } else if (opt === 'setname' && left >= 1) {
      name = args[j + 1]!
      j++
    } else {
      throw new RespError(`ERR Syntax error in HELLO option '${args[j]!.toString('latin1')}'`)
    }
  }
  if (credentials === undefined && !s.authenticated) throw new RespError(REDIS_ERRORS.helloNoAuth)
  if (credentials !== undefined) {
    if (!checkCredentials(s, credentials[0], credentials[1])) {
      throw new RespError(REDIS_ERRORS.wrongPass)
    }
    s.setAuthenticated(true)
  }
  if (name !== undefined) {
    if (!validName(name)) throw new RespError(REDIS_ERRORS.clientName)
    s.name = name.toString('latin1')
  }
  s.out.protocol = protocol
  const out = s.out
  out.map(7)
  out.bulkText('server')
  out.bulkText('redis')
  out.bulkText('version')
  out.bulkText(RESP_PROTOCOL.redisVersion)
  out.bulkText('proto')
  out.integer(protocol)
  out.bulkText('id')
  out.integer(s.id)
  out.bulkText('mode')
  out.bulkText('standalone')
  out.bulkText('role')
  out.bulkText('master')
  out.bulkText('modules')
  out.array(0)
}

function select(s: Session, args: Buffer[]): void {
  const index = intArg(args[1]!)
  const db = index >= 0 ? s.server.databases.get(index) : undefined
  if (db === undefined) throw new RespError(REDIS_ERRORS.dbIndex)
  s.db = db
  s.out.ok()
}

/** `TIME`: the node's clock, on which `EXPIREAT`/`PXAT` and the other expiries are read. */
function time(s: Session): void {
  const us = BigInt(Math.round(s.server.clock.now() * 1000))
  s.out.array(2)
  s.out.bulkText(String(us / 1_000_000n))
  s.out.bulkText(String(us % 1_000_000n))
}

/**
 * One line of `CLIENT LIST` / `CLIENT INFO`, in Redis's format (the fields clients read).
 * @param now - the server clock's monotonic time, ms
 */
export function clientLine(c: Session, now: number): string {
  const age = Math.floor((now - c.createdAt) / 1000)
  const idle = Math.floor((now - c.lastActiveAt) / 1000)
  const { qbuf, omem } = c.buffers()
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${age} idle=${idle} ` +
    `flags=N db=${c.db.index} sub=0 psub=0 ssub=0 multi=-1 qbuf=${qbuf} qbuf-free=0 argv-mem=0 ` +
    `multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${omem} tot-mem=${qbuf + omem} events=r cmd=${c.lastCommand} ` +
    `user=default redir=-1 resp=${c.out.protocol} lib-name=${c.libName} lib-ver=${c.libVersion}`
  )
}

const CLIENT_ARITY: Readonly<Record<string, number>> = {
  id: 2,
  getname: 2,
  setname: 3,
  setinfo: 4,
  info: 2,
  list: -2,
}

function client(s: Session, args: Buffer[]): void {
  const sub = lowerArg(args[1]!)
  const arity = CLIENT_ARITY[sub]
  if (arity === undefined) throw unknownSubcommand('client', args[1]!)
  if (arity > 0 ? args.length !== arity : args.length < -arity) throw arityError(`client|${sub}`)
  switch (sub) {
    case 'id':
      s.out.integer(s.id)
      return
    case 'getname':
      if (s.name === '') s.out.nil()
      else s.out.bulkText(s.name)
      return
    case 'setname':
      if (!validName(args[2]!)) throw new RespError(REDIS_ERRORS.clientName)
      s.name = args[2]!.toString('latin1')
      s.out.ok()
      return
    case 'setinfo': {
      const attr = lowerArg(args[2]!)
      if (attr !== 'lib-name' && attr !== 'lib-ver') {
        throw new RespError(`ERR Unrecognized option '${args[2]!.toString('latin1')}'`)
      }
      if (!validName(args[3]!)) {
        throw new RespError(
          `ERR ${args[2]!.toString('latin1')} cannot contain spaces, newlines or special characters.`,
        )
      }
      if (attr === 'lib-name') s.libName = args[3]!.toString('latin1')
      else s.libVersion = args[3]!.toString('latin1')
      s.out.ok()
      return
    }
    case 'info':
      s.out.bulkText(`${clientLine(s, s.server.clock.monotonic())}\n`)
      return
    default: {
      const now = s.server.clock.monotonic()
      let text = ''
      for (const c of s.server.sessions()) text += `${clientLine(c, now)}\n`
      s.out.bulkText(text)
      return
    }
  }
}

/** The connection commands. */
export const CONNECTION_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'ping',
    arity: -1,
    flags: ['fast'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '1.0.0',
    summary: "Returns the server's liveliness response.",
    run: ping,
  },
  {
    name: 'echo',
    arity: 2,
    flags: ['fast'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '1.0.0',
    summary: 'Returns the given string.',
    run: echo,
  },
  {
    name: 'quit',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '1.0.0',
    summary: 'Closes the connection.',
    run: quit,
  },
  {
    name: 'reset',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '6.2.0',
    summary: 'Resets the connection.',
    run: reset,
  },
  {
    name: 'hello',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '6.0.0',
    summary: 'Handshakes with the Redis server.',
    run: hello,
  },
  {
    name: 'auth',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '1.0.0',
    summary: 'Authenticates the connection.',
    run: auth,
  },
  {
    name: 'select',
    arity: 2,
    flags: ['loading', 'stale', 'fast'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '1.0.0',
    summary:
      'Changes the selected database (here: the keyspace of that index in --resp-keyspaces).',
    run: select,
  },
  {
    name: 'client',
    arity: -2,
    flags: ['sentinel'],
    keys: [0, 0, 0],
    ...CONNECTION,
    since: '2.4.0',
    summary:
      'A container for client connection commands (ID, GETNAME, SETNAME, SETINFO, INFO, LIST).',
    run: client,
  },
  {
    name: 'time',
    arity: 1,
    flags: ['loading', 'stale', 'fast'],
    keys: [0, 0, 0],
    group: 'server',
    since: '2.6.0',
    summary: 'Returns the server time.',
    run: time,
  },
]
