/**
 * Every command the listener serves, by lower-case name. Anything else is answered
 * `ERR unknown command ...`, as Redis words it.
 * @module
 */

import { lowerArg } from './args.js'
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

/** Names of at most this many bytes are found by a number instead of a string. */
const SHORT_NAME = 6

/**
 * A short name's bytes, case-folded (`| 0x20`), and its length packed into one number
 * (51 bits). Folding maps a byte onto a letter only from that letter in either case, so
 * an all-letter command name is matched by exactly its case variants.
 */
function shortCode(bytes: ArrayLike<number>, n: number): number {
  let code = 0
  for (let i = 0; i < n; i++) code = code * 256 + (bytes[i]! | 0x20)
  return code * 8 + n
}

const BY_CODE = new Map<number, CommandSpec>()
for (const spec of COMMANDS.values()) {
  if (spec.name.length <= SHORT_NAME) {
    BY_CODE.set(shortCode(Buffer.from(spec.name, 'latin1'), spec.name.length), spec)
  }
}

/**
 * The command named by `name` (any case), or undefined. Short names (GET, SET...) are
 * found without building a string: this runs once per request.
 */
export function lookupCommand(name: Uint8Array): CommandSpec | undefined {
  const n = name.length
  if (n <= SHORT_NAME) return BY_CODE.get(shortCode(name, n))
  return COMMANDS.get(lowerArg(name))
}

/** Commands a client may send before `AUTH` when a password is set (Redis's `no_auth` flag). */
export function allowedBeforeAuth(spec: CommandSpec): boolean {
  return spec.flags.includes('no_auth')
}
