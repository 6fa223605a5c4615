/**
 * What a command sees: its connection's state (protocol, database, authentication, name,
 * last writes for `WAIT`), the reply writer, and the listener's shared parts.
 * @module
 */
import type { Cache } from '../api/cache.js'
import type { Clock } from '../clock/clock.js'
import type { Version } from '../clock/version.js'
import type { CredentialSet } from '../edge/credentials.js'
import type { Database, Databases, Target } from './databases.js'
import type { ReplyWriter } from './reply-writer.js'
import type { RespStats } from './resp-stats.js'
import type { ScanSnapshots } from './scan-cursor.js'

/** A write of a connection's last writing command, remembered for `WAIT`. */
export interface LastWrite extends Target {
  /** The version the write got; undefined until its promise settled. */
  version: Version | undefined
  /** True for a delete. */
  deleted: boolean
}

/** What a RESP listener shares with its connections. */
export interface ServerContext {
  readonly cache: Cache<unknown>
  readonly databases: Databases
  readonly scans: ScanSnapshots
  /** Accepted passwords; undefined: no `AUTH` needed. */
  readonly password: CredentialSet | undefined
  readonly stats: RespStats
  /**
   * The node's clock: `now()` is its wall time (corrected to the mesh median, ms), which
   * expiries are on; ages and durations are on its monotonic time.
   */
  readonly clock: Clock
  /** The command table, by lower-case name (`COMMAND`). */
  readonly commands: ReadonlyMap<string, CommandSpec>
  /** The open sessions, for `CLIENT LIST` and `INFO clients`. */
  sessions(): Iterable<Session>
  /** Bounds used by commands. */
  readonly limits: {
    readonly scanCount: number
    readonly maxWaitMs: number
    readonly maxOutputBytes: number
    readonly maxClients: number
  }
  /** meshcache's version (`INFO`). */
  readonly version: string
  /** `host:port` of the listener. */
  readonly address: string
  /** Start time of the listener, monotonic ms of `clock`. */
  readonly startedAt: number
  /** Where unexpected failures are logged. */
  readonly log: (err: unknown, message: string) => void
}

/** The state of one connection. */
export class Session {
  /** `CLIENT ID`: unique per listener. */
  readonly id: number
  readonly out: ReplyWriter
  readonly server: ServerContext
  /** Remote and local `ip:port`. */
  readonly addr: string
  readonly laddr: string
  /** When the connection was accepted, monotonic ms of the server's clock. */
  readonly createdAt: number
  authenticated: boolean
  db: Database
  /** `CLIENT SETNAME`; empty when none. */
  name = ''
  libName = ''
  libVersion = ''
  /** Name of the command running or last run (`CLIENT INFO`'s `cmd`). */
  lastCommand = 'NULL'
  /** When the client last sent bytes, monotonic ms of the server's clock. */
  lastActiveAt: number
  /** Set by `QUIT`: close once the reply is sent. */
  closeAfterReply = false
  /** The writes of the last writing command, for `WAIT`. */
  lastWrites: LastWrite[] = []
  /** Bytes received and not yet run (`qbuf`) and replies queued and not yet sent (`omem`). */
  buffers: () => { qbuf: number; omem: number } = () => ({ qbuf: 0, omem: 0 })
  /** Called by `AUTH`/`HELLO`/`RESET` when authentication changes (the parser's bounds follow). */
  onAuthChange: (authenticated: boolean) => void = () => {}

  constructor(id: number, server: ServerContext, out: ReplyWriter, addr: string, laddr: string) {
    this.id = id
    this.server = server
    this.out = out
    this.addr = addr
    this.laddr = laddr
    this.authenticated = server.password === undefined
    this.db = server.databases.get(0)!
    this.createdAt = server.clock.monotonic()
    this.lastActiveAt = this.createdAt
  }

  /** Sets authentication (and the parser's bounds with it). */
  setAuthenticated(value: boolean): void {
    this.authenticated = value
    this.onAuthChange(value)
  }

  /** Starts the record of a writing command's writes (for `WAIT`). */
  beginWrites(): void {
    this.lastWrites = []
  }

  /** Records one write of the current command. */
  noteWrite(target: Target, deleted: boolean): LastWrite {
    const w: LastWrite = { space: target.space, key: target.key, version: undefined, deleted }
    this.lastWrites.push(w)
    return w
  }
}

/** A command of the table. */
export interface CommandSpec {
  /** Lower-case name. */
  readonly name: string
  /** Redis arity: exact count (name included) when positive, minimum when negative. */
  readonly arity: number
  /** Redis command flags (`COMMAND INFO`): `write`, `readonly`, `fast`, `noauth`... */
  readonly flags: readonly string[]
  /** Positions of the keys (`COMMAND INFO`): first, last (-1: the last argument), step. */
  readonly keys: readonly [first: number, last: number, step: number]
  /** Redis command group and one-line summary (`COMMAND DOCS`). */
  readonly group: string
  readonly summary: string
  /** Redis version that introduced it. */
  readonly since: string
  /** True when the command may wait long (`WAIT`): earlier replies are sent before it waits. */
  readonly blocks?: boolean
  /** Runs the command; writes its reply to `s.out` (before the promise settles, if any). */
  readonly run: (s: Session, args: Buffer[]) => void | Promise<void>
}
