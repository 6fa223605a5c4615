import { execFileSync, spawnSync } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * README first: the package is built and packed as `npm publish` would, installed into a
 * scratch project (its dependencies linked from this checkout, no network), and the
 * README's code blocks run there as written, from ESM and from CommonJS; so do the other
 * exports, `meshcache/testing` and `meshcache/otel`.
 */
const root = resolve(import.meta.dirname, '../..')
let scratch = ''

/** The ```ts block under the README heading `heading`. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const at = readme.indexOf(`## ${heading}`)
  if (at < 0) throw new Error(`README has no section '${heading}'`)
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))
  if (!m) throw new Error(`README section '${heading}' has no ts block`)
  return m[1]!
}

/** Stand-ins for the application objects README's snippets name. */
const PRELUDE = `
const db = { async user(id: number) { return { id, name: 'Ada' } } }
const loadPrices = async () => ({ eur: 1.08 })
const order = { id: 7, total: 42 }
const cart = { items: 3 }
`

/** The block as an ES module, with what runs after it. */
function asEsm(block: string, epilogue: string): string {
  const [imports, body] = splitImports(block)
  return `${imports}\n${PRELUDE}\n${body}\n${epilogue}\n`
}

/** The same block as CommonJS: `require` instead of `import`, the body in an async function. */
function asCjs(block: string, epilogue: string): string {
  const [imports, body] = splitImports(block)
  const requires = imports.replace(
    /import \{([^}]+)\} from '([^']+)'/g,
    (_m, names: string, mod: string) => `const {${names}} = require('${mod}')`,
  )
  return `${requires}\n${PRELUDE}\n;(async () => {\n${body}\n${epilogue}\n})().catch((err) => { console.error(err); process.exit(1) })\n`
}

function splitImports(block: string): [string, string] {
  const lines = block.split('\n')
  const imports = lines.filter((l) => l.startsWith('import '))
  const body = lines.filter((l) => !l.startsWith('import '))
  if (imports.length === 0) imports.push("import { createCache } from 'meshcache'")
  return [imports.join('\n'), body.join('\n')]
}

function run(file: string, source: string): { code: number | null; out: string } {
  const path = join(scratch, file)
  writeFileSync(path, source)
  const r = spawnSync(process.execPath, [path], { cwd: scratch, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` }
}

beforeAll(() => {
  // The build is what `npm pack` would publish (its `prepare` step), then the tarball.
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
    },
  )
  scratch = mkdtempSync(join(tmpdir(), 'meshcache-pack-'))
  const out = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch],
    {
      cwd: root,
      encoding: 'utf8',
    },
  )
  const tarball = join(scratch, (JSON.parse(out) as { filename: string }[])[0]!.filename)
  const modules = join(scratch, 'node_modules')
  mkdirSync(modules)
  execFileSync('tar', ['-xzf', tarball, '-C', modules])
  renameSync(join(modules, 'package'), join(modules, 'meshcache'))
  // The package's dependencies, linked from this checkout (no network in tests).
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === '.bin' || name === 'meshcache' || name.startsWith('.')) continue
    symlinkSync(join(root, 'node_modules', name), join(modules, name))
  }
  writeFileSync(join(scratch, 'package.json'), '{ "name": "scratch", "private": true }\n')
}, 180_000)

describe("README's examples run from the packed package", () => {
  const embedded = readmeBlock('Quickstart (embedded)')
  const embeddedEpilogue = `console.log('README-OK', JSON.stringify({ user, prices }))`
  const twoNodes = readmeBlock('Two nodes that share data')
  const twoNodesEpilogue = `
while (a.get('greeting') === undefined) await new Promise((r) => setTimeout(r, 5))
console.log('README-OK', a.get('greeting'), JSON.stringify(a.get('order:7')))
await Promise.all([a.close(), b.close()])`

  it('the embedded quickstart, from ESM and from CommonJS', () => {
    for (const [file, source] of [
      ['embedded.mts', asEsm(embedded, embeddedEpilogue)],
      ['embedded.cts', asCjs(embedded, embeddedEpilogue)],
    ] as const) {
      const r = run(file, source)
      expect(r.out, file).toContain(
        'README-OK {"user":{"id":7,"name":"Ada"},"prices":{"eur":1.08}}',
      )
      expect(r.code, r.out).toBe(0)
    }
  })

  it('two nodes that share data, from ESM and from CommonJS', () => {
    for (const [file, source] of [
      ['two-nodes.mts', asEsm(twoNodes, twoNodesEpilogue)],
      ['two-nodes.cts', asCjs(twoNodes, twoNodesEpilogue)],
    ] as const) {
      const r = run(file, source)
      expect(r.out, file).toContain('README-OK hello from us-east {"id":7,"total":42}')
      expect(r.code, r.out).toBe(0)
    }
  })

  it('meshcache/testing, from ESM and from CommonJS, typed for both', () => {
    const body = `
const mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 10 })
try {
  const [us, eu] = mesh.caches
  await mesh.partition('eu-west')
  await us.set('k', 'v')
  const cut = eu.has('k')
  await mesh.heal()
  await mesh.converged()
  console.log('TESTING-OK', cut, eu.get('k'))
} finally {
  await mesh.close()
}`
    const esm = `import { createTestMesh } from 'meshcache/testing'\n${body}\n`
    const cjs = `const { createTestMesh } = require('meshcache/testing')\n;(async () => {\n${body}\n})().catch((err) => { console.error(err); process.exit(1) })\n`
    for (const [file, source] of [
      ['testing.mts', esm],
      ['testing.cts', cjs],
    ] as const) {
      const r = run(file, source)
      expect(r.out, file).toContain('TESTING-OK false v')
      expect(r.code, r.out).toBe(0)
    }
    // The types resolve through the package's exports, for ESM and for CommonJS callers.
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['testing.mts', 'testing.cts'],
      }),
    )
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      { cwd: scratch, encoding: 'utf8', timeout: 60_000 },
    )
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0)
  })

  it('tracing with meshcache/otel, from ESM and from CommonJS, typed for both', () => {
    const block = readmeBlock('Tracing and OpenTelemetry')
    const epilogue = `console.log('OTEL-OK', JSON.stringify(user)); otel.disable(); await cache.close()`
    for (const [file, source] of [
      ['otel.mts', asEsm(block, epilogue)],
      ['otel.cts', asCjs(block, epilogue)],
    ] as const) {
      const r = run(file, source)
      expect(r.out, file).toContain('OTEL-OK {"id":7,"name":"Ada"}')
      expect(r.code, r.out).toBe(0)
    }
    writeFileSync(
      join(scratch, 'tsconfig.otel.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['otel.mts', 'otel.cts'],
      }),
    )
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.otel.json'],
      { cwd: scratch, encoding: 'utf8', timeout: 60_000 },
    )
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0)
  })

  it('consistency levels, on an embedded cache', () => {
    const block = `import { createCache } from 'meshcache'\nconst cache = await createCache()\n${readmeBlock('Consistency when you need it')}`
    const r = run('consistency.mts', asEsm(block, `console.log('README-OK'); await cache.close()`))
    expect(r.out).toContain('README-OK')
    expect(r.code, r.out).toBe(0)
  })
})
