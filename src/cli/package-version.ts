import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The version in meshcache's package.json, found by walking up from this file (the
 * source tree and the compiled `dist/src/cli` sit at different depths).
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'meshcache' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here: look one level up
    }
    dir = dirname(dir)
  }
  return 'unknown'
}
