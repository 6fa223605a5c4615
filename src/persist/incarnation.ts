import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-file.js'
import { dataFileError, isDataFile } from './data-file.js'

/** File name of the node's last incarnation inside `dataDir`. */
export const INCARNATION_FILE = 'incarnation'

/**
 * This start's incarnation: the number a node's relayed items carry with their sequence
 * numbers, which peers use to tell a restart (a higher incarnation: numbering starts
 * again) from a straggler of an earlier run (lower: dropped unread). The start time in ms
 * with a random fraction; with a data dir (the identity survives restarts) it is also
 * above every earlier start's, kept in `dataDir`, so a node restarted with its clock set
 * back (a clock that ran ahead, fixed) is not taken for its own past by every peer that
 * heard it before.
 * @param now - wall-clock ms
 * @throws InvalidOptionError naming the file when it is not a file (a directory) or
 *   cannot be written (a full disk)
 */
export function nextIncarnation(dataDir: string | undefined, now: number): number {
  const fresh = Math.floor(now) + Math.random()
  if (dataDir === undefined) return fresh
  const file = join(dataDir, INCARNATION_FILE)
  let last = Number.NEGATIVE_INFINITY
  // None: no earlier start recorded (a new data dir, or one from before this file existed).
  if (isDataFile(file)) {
    try {
      last = Number(readFileSync(file, 'utf8'))
    } catch {
      // Unreadable: start afresh (the write below says why, if it fails too).
    }
  }
  // A value past 2^52 (a damaged file) would leave no room for the fraction: start afresh.
  const next = last >= fresh && last < 2 ** 52 ? Math.floor(last) + 1 + Math.random() : fresh
  try {
    writeFileAtomic(file, Buffer.from(String(next)))
  } catch (err) {
    throw dataFileError(file, err)
  }
  return next
}
