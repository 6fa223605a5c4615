import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'

// Several processes take over one stale LOCK at the same moment (a node restarted twice
// after a crash, by a supervisor and by hand): exactly one may own the data dir. The
// takeover used to be read, unlink, create: two processes both "won" 13 of 300 races.

const ROOT = resolve(import.meta.dirname, '../..')
const PROCESSES = 3
const ROUNDS = 300
/** ms between rounds: every process tries round r at t0 + r * SPACING. */
const SPACING = 10

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

/** Starts a child that, once told t0, races for base/r<round> at t0 + round * SPACING. */
function racer(script: string): {
  ready: Promise<void>
  won: Promise<number[]>
  go: (t0: number) => void
} {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  children.push(child)
  const lines = createInterface({ input: child.stdout! })
  let ready!: () => void
  let won!: (rounds: number[]) => void
  const out = {
    ready: new Promise<void>((r) => {
      ready = r
    }),
    won: new Promise<number[]>((r) => {
      won = r
    }),
    go: (t0: number) => child.stdin!.write(`${t0}\n`),
  }
  lines.on('line', (line) => {
    if (line === 'ready') ready()
    else won(JSON.parse(line) as number[])
  })
  return out
}

describe('taking over a stale data dir lock (real processes racing)', () => {
  it(`${PROCESSES} processes race for each of ${ROUNDS} stale locks: exactly one wins each`, async () => {
    const base = mkdtempSync(join(tmpdir(), 'meshcache-lock-race-'))
    for (let r = 0; r < ROUNDS; r++) {
      mkdirSync(join(base, `r${r}`))
      // Pid 2^22 + 1 is above Linux's pid_max default: no such process.
      writeFileSync(join(base, `r${r}`, 'LOCK'), `${2 ** 22 + 1}\n${hostname()}\n`)
    }
    const script = join(base, 'racer.mts')
    writeFileSync(
      script,
      `import { createInterface } from 'node:readline'
import { lockDataDir } from ${JSON.stringify(join(ROOT, 'src/persist/dir-lock.ts'))}
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
console.log('ready')
const t0 = Number((await lines.next()).value)
const won = []
for (let r = 0; r < ${ROUNDS}; r++) {
  while (Date.now() < t0 + r * ${SPACING}) {} // all racers start this round together
  try {
    lockDataDir(${JSON.stringify(base)} + '/r' + r)
    won.push(r)
  } catch {}
}
console.log(JSON.stringify(won))
await lines.next() // hold the locks until every racer is done
`,
    )
    const racers = Array.from({ length: PROCESSES }, () => racer(script))
    await Promise.all(racers.map((r) => r.ready))
    const t0 = Date.now() + 200
    for (const r of racers) r.go(t0)
    const won = await Promise.all(racers.map((r) => r.won))
    const winners = Array.from(
      { length: ROUNDS },
      (_, r) => won.filter((w) => w.includes(r)).length,
    )
    const wrong = winners.flatMap((n, r) => (n === 1 ? [] : [`round ${r}: ${n} winners`]))
    expect(wrong).toEqual([])
  }, 60_000)
})
