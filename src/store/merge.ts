import { compareVersions } from '../clock/version.js'
import type { Entry } from './entry.js'

/**
 * The last-writer-wins rule every replica applies, local writes and remote ones alike:
 * an incoming entry replaces the current one only when its version is strictly larger.
 * Deletes are tombstones, so a delete beats every older write and loses to every newer
 * one, whatever the order of arrival. Equal versions are the same write: nothing changes,
 * which makes replays harmless.
 */
export function supersedes(
  incoming: Pick<Entry, 'version'>,
  current: Pick<Entry, 'version'> | undefined,
): boolean {
  return current === undefined || compareVersions(incoming.version, current.version) > 0
}
