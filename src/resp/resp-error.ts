/**
 * Errors answered to a RESP client, worded as Redis words them so that clients report
 * them sensibly; each keeps the connection open.
 * @module
 */

/** An error reply: `message` is sent after `-` and starts with its code (`ERR`, `NOAUTH`...). */
export class RespError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RespError'
  }
}

/** Redis's error texts, verbatim (checked against redis-server 7). */
export const REDIS_ERRORS = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  overflow: 'ERR increment or decrement would overflow',
  dbIndex: 'ERR DB index is out of range',
  invalidCursor: 'ERR invalid cursor',
  noAuth: 'NOAUTH Authentication required.',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
  authWithoutPassword:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  helloNoAuth:
    'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
  noProto: 'NOPROTO unsupported protocol version',
  timeoutNegative: 'ERR timeout is negative',
  clientName: 'ERR Client names cannot contain spaces, newlines or special characters.',
  maxClients: 'ERR max number of clients reached',
  nxAndOthers: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  gtAndLt: 'ERR GT and LT options at the same time are not compatible',
} as const

/** `ERR wrong number of arguments for 'get' command` (subcommands as `client|setname`). */
export function arityError(name: string): RespError {
  return new RespError(`ERR wrong number of arguments for '${name}' command`)
}

/** `ERR invalid expire time in 'set' command`, with why when it is meshcache's own bound. */
export function expireError(command: string, why?: string): RespError {
  return new RespError(
    `ERR invalid expire time in '${command}' command${why === undefined ? '' : ` (${why})`}`,
  )
}

/** Redis's text for an unknown command: the name and the first arguments, 128 characters at most. */
export function unknownCommand(args: readonly Uint8Array[]): RespError {
  const name = Buffer.from(args[0]!).toString('latin1').slice(0, 128)
  let rest = ''
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${Buffer.from(args[i]!)
      .toString('latin1')
      .slice(0, 128 - rest.length)}' `
  }
  return new RespError(`ERR unknown command '${name}', with args beginning with: ${rest}`)
}

/** `ERR unknown subcommand 'x'. Try CLIENT HELP.` */
export function unknownSubcommand(command: string, sub: Uint8Array): RespError {
  return new RespError(
    `ERR unknown subcommand '${Buffer.from(sub).toString('latin1').slice(0, 128)}'. Try ${command.toUpperCase()} HELP.`,
  )
}
