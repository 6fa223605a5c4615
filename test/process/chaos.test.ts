import { afterEach, describe, expect, it } from 'vitest'
import { runChaos } from '../../scripts/chaos.js'
import { killAll } from '../helpers/cli.js'

afterEach(() => killAll())

describe('chaos: SIGKILL, restarts and partitions under concurrent acknowledged writes', () => {
  it('loses no acknowledged write, resurrects no delete, serves nothing expired, and converges', async () => {
    const r = await runChaos({ seconds: 8 })
    expect(r.violations).toEqual([])
    expect(r.kills).toBeGreaterThanOrEqual(2)
    expect(r.partitions).toBeGreaterThanOrEqual(1)
    expect(r.acked).toBeGreaterThan(50)
    expect(r.reads).toBeGreaterThan(50)
  }, 120_000)
})
