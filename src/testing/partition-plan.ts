import { InvalidOptionError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'

/** Names of {@link PartitionOptions}. */
const PARTITION_OPTION_NAMES: ReadonlySet<string> = new Set(['from', 'dropConnections'])

/** Options of `TestMesh.partition`. */
export interface PartitionOptions {
  /** The regions to cut the listed ones off from. @default every other region */
  from?: string | readonly string[]
  /**
   * Also close the connections across the cut (and refuse new ones until the heal), as
   * after an outage long enough for TCP to give up: after the heal the nodes redial and
   * anti-entropy repairs what gossip could not carry. @default false (bytes are held
   * and delivered on heal, as TCP would after a short outage)
   */
  dropConnections?: boolean
}

const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v)

/**
 * The region pairs a partition cuts: every region of `side` with every region of
 * `options.from` (default: every region not in `side`).
 * @throws InvalidOptionError for an unknown region, a region on both sides, or a cut that cuts nothing
 */
export function cutPairs(
  regions: readonly string[],
  side: string | readonly string[],
  options: PartitionOptions,
): [string, string][] {
  checkOptionNames(options, PARTITION_OPTION_NAMES, 'partition')
  const a = list(side)
  const b = options.from === undefined ? regions.filter((r) => !a.includes(r)) : list(options.from)
  for (const r of [...a, ...b]) {
    if (typeof r !== 'string' || !regions.includes(r))
      throw new InvalidOptionError(
        `partition: the test mesh has no region '${String(r)}' (regions: ${regions.join(', ')})`,
      )
    if (a.includes(r) && b.includes(r))
      throw new InvalidOptionError(`partition: region '${r}' is on both sides of the cut`)
  }
  if (a.length === 0 || b.length === 0)
    throw new InvalidOptionError(
      'partition: nothing to cut (name at least one region, and leave at least one on the other side)',
    )
  return a.flatMap((x) => b.map((y): [string, string] => [x, y]))
}
