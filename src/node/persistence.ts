import { mkdirSync } from 'node:fs'
import createDebug from 'debug'
import { InvalidOptionError } from '../errors.js'
import { loadSnapshot, saveSnapshot } from '../persist/snapshot.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'

const log = createDebug('meshcache:persist')

/**
 * Snapshots of a node's replicas in `dataDir`: loaded once at start, written every
 * `intervalMs` and once more on stop. A failed write is logged and retried at the next
 * interval; it never stops the node.
 */
export class Persistence {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly replicas: ReplicaRegistry,
    private readonly dataDir: string,
    private readonly intervalMs: number,
  ) {}

  /**
   * Creates `dataDir` when missing and loads its snapshot.
   * @throws InvalidOptionError when the directory cannot be created
   * @returns entries loaded
   */
  load(region: string): number {
    try {
      mkdirSync(this.dataDir, { recursive: true })
    } catch (cause) {
      throw new InvalidOptionError(
        `dataDir ${this.dataDir} cannot be created: ${(cause as Error).message}`,
        { cause },
      )
    }
    return loadSnapshot(this.replicas, this.dataDir, region)
  }

  /** Starts the periodic snapshots. */
  start(): void {
    this.timer = setInterval(() => this.save('snapshot'), this.intervalMs)
    this.timer.unref()
  }

  /** Stops the periodic snapshots and writes a last one. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.save('final snapshot')
  }

  private save(what: string): void {
    try {
      saveSnapshot(this.replicas, this.dataDir)
    } catch (err) {
      log('%s failed: %s', what, (err as Error).message)
    }
  }
}
