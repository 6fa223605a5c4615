/**
 * The deployment recipes in docs/deploy/ (systemd unit, Dockerfile, Kubernetes manifest)
 * checked with what exists here: `systemd-analyze verify` for the unit, a parse of the
 * Dockerfile into known instructions with the files it copies, the manifest parsed as
 * YAML with names, ports, probes and labels cross-checked, and every environment variable
 * they use against the CLI's source. No Docker engine or cluster runs them.
 */
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DEPLOY = join(ROOT, 'docs/deploy')
const read = (file: string) => readFileSync(join(DEPLOY, file), 'utf8')

const names = (text: string) => new Set(text.match(/\bMESHCACHE_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])
/** Environment variables the CLI reads (named in its source: Option.env(), process.env...). */
const CLI_ENV = new Set(
  readdirSync(join(ROOT, 'src/cli'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...names(readFileSync(join(ROOT, 'src/cli', f), 'utf8'))]),
)
/** ...and those the Kubernetes bootstrap script reads. */
const DISCOVER_ENV = new Set(
  [...read('discover-peers.mjs').matchAll(/env\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!),
)
const KNOWN_ENV = new Set([...CLI_ENV, ...DISCOVER_ENV, 'NODE_ENV'])

const portOf = (hostPort: string) => Number(/:(\d+)$/.exec(hostPort)?.[1])
const tcpPortOf = (multiaddr: string) => Number(/\/tcp\/(\d+)/.exec(multiaddr)?.[1])

describe('deploy recipes: environment variables', () => {
  it('the CLI source names its variables (sanity of this check)', () => {
    for (const v of ['MESHCACHE_REGION', 'MESHCACHE_LISTEN', 'MESHCACHE_PEERS', 'MESHCACHE_HTTP'])
      expect(CLI_ENV).toContain(v)
    expect(DISCOVER_ENV).toContain('MESHCACHE_DISCOVER')
  })

  it('every variable a recipe sets is one the node or the bootstrap script reads', () => {
    // kubernetes.yaml: only the sidecar's (checked below); the app's MESHCACHE_URL is its own.
    for (const file of ['meshcache.service', 'meshcache.env', 'Dockerfile']) {
      for (const v of names(read(file)))
        expect(KNOWN_ENV.has(v), `${file} sets ${v}, which nothing reads`).toBe(true)
    }
  })

  it('docs/deploy/README.md documents every variable the CLI reads', () => {
    const readme = read('README.md')
    for (const v of [...CLI_ENV, ...DISCOVER_ENV])
      expect(readme.includes(`\`${v}\``), `README.md does not document ${v}`).toBe(true)
  })
})

describe('deploy recipes: systemd unit', () => {
  const unit = read('meshcache.service')
  /** `[Section]` -> key -> values (a key may repeat). */
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const line of unit.split('\n')) {
    if (/^\s*([#;]|$)/.test(line)) continue
    const head = /^\[(\w+)\]$/.exec(line)
    if (head) {
      current = new Map()
      sections.set(head[1]!, current)
      continue
    }
    const kv = /^(\w+)=(.*)$/.exec(line)
    expect(kv && current, `not a key=value line in a section: ${line}`).toBeTruthy()
    current!.set(kv![1]!, [...(current!.get(kv![1]!) ?? []), kv![2]!])
  }
  const service = sections.get('Service')!

  it('runs `meshcache node` from the package with the state directory as its data dir', () => {
    expect([...sections.keys()]).toEqual(['Unit', 'Service', 'Install'])
    expect(service.get('ExecStart')).toEqual(['/usr/bin/node /opt/meshcache/bin/meshcache.js node'])
    const env = Object.fromEntries(
      (service.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]),
    )
    expect(env.MESHCACHE_DATA_DIR).toBe(`/var/lib/${service.get('StateDirectory')![0]}`)
    expect(env.MESHCACHE_HTTP).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(service.get('KillSignal')).toEqual(['SIGTERM'])
    expect(service.get('RestartPreventExitStatus')).toEqual(['2'])
    expect(sections.get('Install')!.get('WantedBy')).toEqual(['multi-user.target'])
  })

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
  it.skipIf(analyze.status !== 0)(
    `passes systemd-analyze verify${analyze.status !== 0 ? ' (SKIPPED: no systemd-analyze)' : ''}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'meshcache-unit-'))
      try {
        // verify checks that ExecStart's program exists: stand in the running Node where
        // the host's /usr/bin/node is missing.
        const text = existsSync('/usr/bin/node')
          ? unit
          : unit.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`)
        writeFileSync(join(dir, 'meshcache.service'), text)
        const r = spawnSync('systemd-analyze', ['verify', './meshcache.service'], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 20_000,
        })
        const about = `${r.stdout}${r.stderr}`
          .split('\n')
          .filter((l) => l.includes('meshcache.service'))
        expect(about, 'systemd-analyze verify complained').toEqual([])
        expect(r.status).toBe(0)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})

interface Instruction {
  op: string
  args: string
  line: number
}

/** The Dockerfile's instructions (continuations joined, comments dropped). */
function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(#|$)/.test(lines[i]!)) continue
    const start = i
    let logical = lines[i]!
    while (logical.endsWith('\\') && i + 1 < lines.length)
      logical = `${logical.slice(0, -1)} ${lines[++i]!.trim()}`
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(logical)
    expect(m, `line ${start + 1} is not an instruction: ${logical}`).toBeTruthy()
    out.push({ op: m![1]!.toUpperCase(), args: m![2]!.trim(), line: start + 1 })
  }
  return out
}

describe('deploy recipes: Dockerfile', () => {
  const text = read('Dockerfile')
  const all = dockerInstructions(text)
  const KNOWN = [
    'FROM',
    'ARG',
    'RUN',
    'CMD',
    'ENTRYPOINT',
    'COPY',
    'ADD',
    'ENV',
    'LABEL',
    'EXPOSE',
    'VOLUME',
    'USER',
    'WORKDIR',
    'STOPSIGNAL',
    'HEALTHCHECK',
    'SHELL',
    'ONBUILD',
  ]
  const args = new Map<string, string>()
  for (const i of all.filter((x) => x.op === 'ARG')) {
    const [k, v] = i.args.split('=', 2)
    if (v !== undefined) args.set(k!, v)
  }
  const subst = (s: string) =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => args.get(a ?? b) ?? '')
  /** Instructions per stage; a stage starts at FROM. */
  const stages: { from: string; name?: string; ins: Instruction[] }[] = []
  for (const i of all) {
    if (i.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!
      stages.push({ from: subst(m[1]!), ...(m[2] ? { name: m[2] } : {}), ins: [] })
    } else stages.at(-1)?.ins.push(i)
  }
  const final = stages.at(-1)!
  const one = (op: string) => final.ins.filter((i) => i.op === op)
  const json = (i: Instruction | undefined, prefix = '') => {
    expect(i, `missing instruction`).toBeDefined()
    const body = i!.args.slice(i!.args.indexOf(prefix) + prefix.length).trim()
    const parsed: unknown = JSON.parse(body)
    expect(
      Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'),
      `exec form on line ${i!.line}`,
    ).toBe(true)
    return parsed as string[]
  }

  it('has only known instructions, and starts with ARG/FROM', () => {
    for (const i of all) expect(KNOWN, `line ${i.line}`).toContain(i.op)
    expect(all.find((i) => i.op !== 'ARG')?.op).toBe('FROM')
    expect(text.split('\n')[0]).toBe('# syntax=docker/dockerfile:1')
  })

  it('builds and runs on node:24-slim, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const s of stages) expect(s.from).toBe('node:24-slim')
    const user = one('USER').at(-1)?.args
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
  })

  it('copies files that exist and that Dockerfile.dockerignore lets through', () => {
    const ignore = read('Dockerfile.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
    expect(ignore[0]).toBe('*')
    const allowed = ignore.slice(1).map((l) => l.replace(/^!/, ''))
    const stageNames = new Set(stages.map((s) => s.name).filter(Boolean))
    for (const s of stages) {
      for (const c of s.ins.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
        expect(c.op, `use COPY (line ${c.line})`).toBe('COPY')
        const parts = c.args.split(/\s+/)
        const from = parts.find((p) => p.startsWith('--from='))?.slice(7)
        const paths = parts.filter((p) => !p.startsWith('--'))
        expect(
          paths.length,
          `COPY needs a source and a destination (line ${c.line})`,
        ).toBeGreaterThanOrEqual(2)
        if (from !== undefined) {
          expect(stageNames, `COPY --from names a stage (line ${c.line})`).toContain(from)
          continue
        }
        for (const src of paths.slice(0, -1)) {
          expect(existsSync(join(ROOT, src)), `${src} (line ${c.line}) exists`).toBe(true)
          expect(allowed, `${src} is let through by Dockerfile.dockerignore`).toContain(src)
        }
      }
    }
  })

  it('runs the CLI in exec form, defaults to `node`, and exposes the ports it listens on', () => {
    const env = new Map<string, string>()
    for (const e of one('ENV'))
      for (const m of e.args.matchAll(/(\w+)=(\S+)/g)) env.set(m[1]!, m[2]!)
    expect(one('WORKDIR').at(-1)?.args).toBe('/app')
    expect(json(one('ENTRYPOINT')[0])).toEqual(['node', '/app/bin/meshcache.js'])
    expect(final.ins.some((i) => i.op === 'COPY' && i.args === 'bin ./bin')).toBe(true)
    expect(json(one('CMD')[0])).toEqual(['node'])
    // The Kubernetes recipe's command.
    expect(
      final.ins.some(
        (i) => i.op === 'COPY' && i.args === 'docs/deploy/discover-peers.mjs ./discover-peers.mjs',
      ),
    ).toBe(true)
    const exposed = one('EXPOSE').flatMap((e) => e.args.split(/\s+/).map(Number))
    expect(exposed.sort()).toEqual(
      [tcpPortOf(env.get('MESHCACHE_LISTEN')!), portOf(env.get('MESHCACHE_HTTP')!)].sort(),
    )
    expect(env.get('MESHCACHE_DATA_DIR')).toBe(JSON.parse(one('VOLUME')[0]!.args)[0])
    expect(one('STOPSIGNAL')[0]?.args).toBe('SIGTERM')
  })

  it('has a health check whose script parses and calls /health/live', () => {
    const cmd = json(one('HEALTHCHECK')[0], 'CMD')
    expect(cmd.slice(0, 2)).toEqual(['node', '-e'])
    expect(() => new Function(cmd[2]!)).not.toThrow()
    expect(cmd[2]).toContain('/health/live')
  })
})

type Obj = Record<string, unknown> & {
  metadata: { name: string; labels?: Record<string, string> }
  spec: Record<string, unknown>
}
interface Container {
  name: string
  image: string
  command?: string[]
  restartPolicy?: string
  env?: { name: string; value?: string; valueFrom?: unknown }[]
  ports?: { name: string; containerPort: number }[]
  livenessProbe?: { httpGet: { path: string; port: string | number } }
  readinessProbe?: { httpGet: { path: string; port: string | number } }
  startupProbe?: { httpGet: { path: string; port: string | number } }
  volumeMounts?: { name: string; mountPath: string }[]
  securityContext?: Record<string, unknown>
}

describe('deploy recipes: Kubernetes manifest', () => {
  const docs = parseAllDocuments(read('kubernetes.yaml'))
  const objects = docs.map((d) => {
    expect(d.errors, 'YAML errors').toEqual([])
    expect(d.warnings, 'YAML warnings').toEqual([])
    return d.toJS() as Obj
  })
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind)
  const deployment = byKind('Deployment')[0]!
  const service = byKind('Service')[0]!
  const policy = byKind('NetworkPolicy')[0]!
  const pod = deployment.spec.template as {
    metadata: { labels: Record<string, string> }
    spec: Record<string, unknown>
  }
  const inits = (pod.spec.initContainers ?? []) as Container[]
  const apps = pod.spec.containers as Container[]
  const sidecar = [...inits, ...apps].find((c) => c.name === 'meshcache')!
  const env = new Map((sidecar.env ?? []).map((e) => [e.name, e.value]))
  const subset = (small: Record<string, string>, big: Record<string, string>) =>
    Object.entries(small).every(([k, v]) => big[k] === v)

  it('is a Service, a Deployment and a NetworkPolicy with known API versions', () => {
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'networking.k8s.io/v1 NetworkPolicy',
      'v1 Service',
    ])
    for (const o of objects) expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  })

  it('runs meshcache as a native sidecar next to the app, through the discovery script', () => {
    expect(inits).toContain(sidecar)
    expect(sidecar.restartPolicy).toBe('Always')
    expect(sidecar.command).toEqual(['node', '/app/discover-peers.mjs'])
    for (const e of sidecar.env ?? [])
      expect(KNOWN_ENV.has(e.name), `the sidecar sets ${e.name}, which nothing reads`).toBe(true)
    expect(apps.length).toBeGreaterThanOrEqual(1)
    const deploySelector = (deployment.spec.selector as { matchLabels: Record<string, string> })
      .matchLabels
    expect(subset(deploySelector, pod.metadata.labels)).toBe(true)
  })

  it('probes /health/live and /health/ready on the sidecar HTTP port', () => {
    const ports = new Map((sidecar.ports ?? []).map((p) => [p.name, p.containerPort]))
    const httpPort = portOf(env.get('MESHCACHE_HTTP')!)
    expect(env.get('MESHCACHE_HTTP')).toBe(`0.0.0.0:${httpPort}`)
    for (const [probe, path] of [
      [sidecar.livenessProbe, '/health/live'],
      [sidecar.startupProbe, '/health/live'],
      [sidecar.readinessProbe, '/health/ready'],
    ] as const) {
      expect(probe?.httpGet.path).toBe(path)
      const port = probe!.httpGet.port
      expect(typeof port === 'number' ? port : ports.get(port)).toBe(httpPort)
    }
    expect(ports.get('p2p')).toBe(tcpPortOf(env.get('MESHCACHE_LISTEN')!))
    const app = apps.find((c) => c.name !== 'meshcache')!
    expect(app.env?.find((e) => e.name === 'MESHCACHE_URL')?.value).toBe(
      `http://127.0.0.1:${httpPort}`,
    )
  })

  it('finds peers through a headless Service that selects the pods, ready or not', () => {
    expect(service.spec.clusterIP).toBe('None')
    expect(service.spec.publishNotReadyAddresses).toBe(true)
    expect(subset(service.spec.selector as Record<string, string>, pod.metadata.labels)).toBe(true)
    const containerPorts = new Set((sidecar.ports ?? []).map((p) => p.name))
    for (const p of service.spec.ports as { targetPort: string }[])
      expect(containerPorts).toContain(p.targetPort)
    expect(env.get('MESHCACHE_DISCOVER')).toBe(service.metadata.name)
    const podIp = sidecar.env!.find((e) => e.name === 'POD_IP')
    expect(podIp?.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } })
    // $(POD_IP) expands only if POD_IP comes earlier in the list.
    const names = sidecar.env!.map((e) => e.name)
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('MESHCACHE_LISTEN'))
    expect(env.get('MESHCACHE_LISTEN')).toMatch(/^\/ip4\/\$\(POD_IP\)\/tcp\/\d+$/)
  })

  it('mounts the data dir and the network key; runs unprivileged', () => {
    const volumes = new Set((pod.spec.volumes as { name: string }[]).map((v) => v.name))
    const mounts = sidecar.volumeMounts ?? []
    for (const m of mounts) expect(volumes).toContain(m.name)
    const mounted = (path: string) =>
      mounts.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
    expect(mounted(env.get('MESHCACHE_DATA_DIR')!)).toBe(true)
    expect(mounted(env.get('MESHCACHE_NETWORK_KEY_FILE')!)).toBe(true)
    // Bound beyond loopback, the API needs its tokens (the node refuses to start without).
    expect(mounted(env.get('MESHCACHE_HTTP_TOKEN_FILE')!)).toBe(true)
    expect((pod.spec.securityContext as { runAsNonRoot: boolean }).runAsNonRoot).toBe(true)
    for (const c of [...inits, ...apps]) {
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false)
      expect(c.securityContext?.capabilities).toEqual({ drop: ['ALL'] })
    }
  })

  it('lets only pods of the mesh reach the meshcache ports', () => {
    const meshLabels = service.spec.selector as Record<string, string>
    const spec = policy.spec as {
      podSelector: { matchLabels: Record<string, string> }
      ingress: {
        from?: { podSelector: { matchLabels: Record<string, string> } }[]
        ports: { port: number }[]
      }[]
    }
    expect(spec.podSelector.matchLabels).toEqual(meshLabels)
    const meshPorts = [tcpPortOf(env.get('MESHCACHE_LISTEN')!), portOf(env.get('MESHCACHE_HTTP')!)]
    for (const rule of spec.ingress) {
      const ports = rule.ports.map((p) => p.port)
      if (ports.some((p) => meshPorts.includes(p)))
        expect(rule.from?.map((f) => f.podSelector.matchLabels)).toEqual([meshLabels])
    }
    const open = spec.ingress.flatMap((r) => r.ports.map((p) => p.port))
    for (const p of meshPorts) expect(open).toContain(p)
  })
})

describe('deploy recipes: discover-peers.mjs', () => {
  it('is valid JavaScript', () => {
    const r = spawnSync(process.execPath, ['--check', join(DEPLOY, 'discover-peers.mjs')], {
      encoding: 'utf8',
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('refuses to start without the Service name and the pod IP (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-discover-'))
    try {
      copyFileSync(join(DEPLOY, 'discover-peers.mjs'), join(dir, 'discover-peers.mjs'))
      const r = spawnSync(process.execPath, [join(dir, 'discover-peers.mjs')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
        timeout: 10_000,
      })
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(/MESHCACHE_DISCOVER/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
