#!/usr/bin/env node
/**
 * The `meshcache` command line: `demo`, `node`, `status`.
 * @module
 */
import { Command } from 'commander'
import { runDemo } from './demo.js'

const program = new Command()
program
  .name('meshcache')
  .description('A geo-distributed LRU cache with time expiration, on libp2p.')
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2)
})

program
  .command('demo')
  .description(
    'run a local 3-region mesh behind a simulated WAN: replicate, partition, heal, verify',
  )
  .option('--seconds <n>', 'seconds of each writing phase', '3')
  .option('--rate <n>', 'writes per second per node', '100')
  .action(async (opts: { seconds: string; rate: string }) => {
    const result = await runDemo({ phaseSeconds: Number(opts.seconds), rate: Number(opts.rate) })
    process.exit(result.converged ? 0 : 1)
  })

await program.parseAsync(process.argv)
