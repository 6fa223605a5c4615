/**
 * Every command the listener serves, by lower-case name. Anything else is answered
 * `ERR unknown command ...`, as Redis words it.
 * @module
 */
import { CONNECTION_COMMANDS } from './commands/connection.js'
import { COUNTER_COMMANDS } from './commands/counters.js'
import { KEY_COMMANDS } from './commands/keys.js'
import { SERVER_COMMANDS } from './commands/server.js'
import { STRING_COMMANDS } from './commands/strings.js'
import { WAIT_COMMAND } from './commands/wait.js'
import type { CommandSpec } from './session.js'

/** The served commands, by lower-case name. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  [
    ...CONNECTION_COMMANDS,
    ...SERVER_COMMANDS,
    ...STRING_COMMANDS,
    ...KEY_COMMANDS,
    ...COUNTER_COMMANDS,
    WAIT_COMMAND,
  ].map((spec) => [spec.name, spec]),
)

/** Commands a client may send before `AUTH` when a password is set (Redis's `no_auth` flag). */
export function allowedBeforeAuth(spec: CommandSpec): boolean {
  return spec.flags.includes('no_auth')
}
