// Layer rules for src/, checked in CI by `npm run lint:layers`.
// Why dependency-cruiser and what each rule means: docs/decisions/layer-check.md.
// Folder patterns end in '/', so a rule on a folder that does not exist (yet) simply
// matches nothing, and 'src/replica/' never matches 'src/replication/'.

const CORE = 'clock|store|sync|replication|replica|topology'
const LIBP2P = '(^|/)node_modules/(libp2p/|@libp2p/|@chainsafe/|@multiformats/)'
const LIBP2P_UNRESOLVED = '^(libp2p|@libp2p/|@chainsafe/|@multiformats/)'
const NET_BUILTINS = '^(node:)?(net|http|dgram)$'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-no-network',
      comment:
        'The pure core (clock, store, sync, replication, replica, topology) must not touch the network: ' +
        'no libp2p package (libp2p, @libp2p/*, @chainsafe/*, @multiformats/*) and no ' +
        'node:net / node:http / node:dgram. Pass what it needs in from mesh or node instead.',
      severity: 'error',
      from: { path: `^src/(${CORE})/` },
      to: { path: [LIBP2P, LIBP2P_UNRESOLVED, NET_BUILTINS] },
    },
    {
      name: 'core-not-to-outer-layers',
      comment:
        'The pure core must not import src/mesh, src/api, src/node, src/persist, src/http, ' +
        'src/cli, src/resp, src/edge or src/sim. Shared top-level files (src/errors.ts, ' +
        'src/duration.ts) are fine.',
      severity: 'error',
      from: { path: `^src/(${CORE})/` },
      to: { path: '^src/(mesh|api|node|persist|http|cli|sim|ports|resp|edge)/' },
    },
    {
      name: 'ports-only-core',
      comment:
        'src/ports holds the contracts between api, mesh and node (what the API asks of the ' +
        'mesh, the shapes of mesh options and stats). It may import the core and type-only ' +
        'multiaddr types, nothing from the layers that implement or use it.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^src/(mesh|api|node|persist|http|cli|sim)/' },
    },
    {
      name: 'core-clock-is-the-bottom',
      comment: 'src/clock is the bottom of the core: it imports no other core folder.',
      severity: 'error',
      from: { path: '^src/clock/' },
      to: { path: '^src/(store|sync|replication|replica|topology)/' },
    },
    {
      name: 'core-topology-only-clock',
      comment:
        'src/topology (which peers each node links to) is pure code on member lists: it may ' +
        'import src/clock and nothing else of the core. src/mesh and src/node use it.',
      severity: 'error',
      from: { path: '^src/topology/' },
      to: { path: '^src/(store|sync|replication|replica)/' },
    },
    {
      name: 'core-store-only-clock',
      comment: 'src/store may import src/clock only (clock <- store <- sync/replication).',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(sync|replication|replica)/' },
    },
    {
      name: 'core-sync-replication-not-replica',
      comment:
        'src/sync and src/replication may import clock, store and each other, but not ' +
        'src/replica, which sits on top of them.',
      severity: 'error',
      from: { path: '^src/(sync|replication)/' },
      to: { path: '^src/replica/' },
    },
    {
      name: 'mesh-not-to-upper-layers',
      comment:
        'src/mesh (transport) must not import src/api, src/node, src/http or src/cli. ' +
        'Type-only imports count too: the api is wired to the mesh from above (src/node).',
      severity: 'error',
      from: { path: '^src/mesh/' },
      to: { path: '^src/(api|node|http|cli)/' },
    },
    {
      name: 'api-no-transport',
      comment:
        'src/api (the embedded cache) must not import src/mesh, src/node, src/http, src/cli, ' +
        'src/sim or src/persist - not even via a dynamic import() or import type. Composition ' +
        'belongs in src/node.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(mesh|node|http|cli|sim|persist)/' },
    },
    {
      name: 'api-no-libp2p',
      comment:
        'src/api must not import any libp2p package (libp2p, @libp2p/*, @chainsafe/*, ' +
        '@multiformats/*): embedded users never load libp2p.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: [LIBP2P, LIBP2P_UNRESOLVED] },
    },
    {
      name: 'persist-not-to-upper-layers',
      comment: 'src/persist must not import src/api, src/mesh, src/http or src/cli.',
      severity: 'error',
      from: { path: '^src/persist/' },
      to: { path: '^src/(api|mesh|http|cli)/' },
    },
    {
      name: 'node-not-to-frontends',
      comment: 'src/node (the composition root) must not import src/http or src/cli.',
      severity: 'error',
      from: { path: '^src/node/' },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'only-cli-imports-cli',
      comment: 'src/cli is the top: nothing else under src/ may import it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-cli-http-import-http',
      comment: 'src/http may be imported only from src/cli (and from inside src/http).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|http)/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'only-cli-imports-resp',
      comment:
        'src/resp (the RESP listener, an edge like src/http) may be imported only from src/cli ' +
        '(and from inside src/resp).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|resp)/' },
      to: { path: '^src/resp/' },
    },
    {
      name: 'resp-only-the-facade',
      comment:
        'src/resp talks to the cache through the public facade (src/api, src/node) and owns no ' +
        'policy: it must not import the mesh, the core internals, persistence, the simulator or ' +
        'another edge (src/http, src/cli). Version types from src/clock are fine.',
      severity: 'error',
      from: { path: '^src/resp/' },
      to: {
        path: '^src/(http|cli|mesh|sim|persist|ports|store|sync|replication|replica|topology)/',
      },
    },
    {
      name: 'edge-shared-is-a-leaf',
      comment:
        'src/edge holds what the edges share (credentials, the loopback rule): it imports ' +
        'nothing of meshcache but src/errors.ts, so every edge can use it.',
      severity: 'error',
      from: { path: '^src/edge/' },
      to: {
        path: '^src/(api|node|mesh|http|cli|resp|sim|persist|ports|clock|store|sync|replication|replica|topology)/',
      },
    },
    {
      name: 'only-edges-import-edge',
      comment: 'src/edge is for the edges: src/http, src/resp and src/cli.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|http|resp|edge)/' },
      to: { path: '^src/edge/' },
    },
    {
      name: 'entry-not-to-sim',
      comment:
        'src/index.ts (the public entry) may export api, node and core, but not src/sim ' +
        '(cli and http are already covered by only-cli-imports-cli / only-cli-http-import-http).',
      severity: 'error',
      from: { path: '^src/index[.]ts$' },
      to: { path: '^src/sim/' },
    },
    {
      name: 'sim-not-to-upper-layers',
      comment:
        'src/sim (the user-space WAN and its node launcher) may use mesh, node and the api ' +
        'types of the nodes it starts, but not src/http or src/cli.',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'testing-only-node-sim-api',
      comment:
        'src/testing (the `meshcache/testing` export: real nodes behind the simulated WAN, for ' +
        "users' tests) is built from src/node, src/sim and the api types of the caches it " +
        'returns; it must not reach into src/mesh, src/persist, src/http, src/cli or the core, ' +
        'but for the time primitives (src/clock/clock.ts: Clock, SystemClock), through which ' +
        'it reads time like every other layer.',
      severity: 'error',
      from: { path: '^src/testing/' },
      to: {
        path: `^src/(mesh|persist|http|cli|ports|${CORE})/`,
        pathNot: '^src/clock/clock[.]ts$',
      },
    },
    {
      name: 'only-testing-imports-testing',
      comment:
        'src/testing is an export of its own, not a layer below anything: nothing else under ' +
        'src/ may import it (src/index.ts included: embedded users never load the simulator).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/testing/' },
      to: { path: '^src/testing/' },
    },
    {
      name: 'otel-only-channels-and-api-types',
      comment:
        'src/otel (the `meshcache/otel` export) builds spans and metrics from the tracing ' +
        'channels (src/trace-channels.ts) and reads stats through the Cache facade type: it must ' +
        'not reach into the mesh, the node, persistence, the edges, the simulator or the core.',
      severity: 'error',
      from: { path: '^src/otel/' },
      to: {
        path: `^src/(mesh|node|persist|http|cli|resp|edge|sim|testing|ports|${CORE})/`,
      },
    },
    {
      name: 'only-otel-imports-otel',
      comment:
        'src/otel is an export of its own: nothing else under src/ may import it, so the ' +
        'main entry never loads @opentelemetry/api (an optional peer dependency).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/otel/' },
      to: { path: '^src/otel/' },
    },
    {
      name: 'opentelemetry-only-in-otel',
      comment:
        'Only src/otel may import @opentelemetry/* (an optional peer dependency): the rest of ' +
        'meshcache publishes to node:diagnostics_channel and never knows who listens.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/otel/' },
      to: { path: ['(^|/)node_modules/@opentelemetry/', '^@opentelemetry/'] },
    },
    {
      name: 'no-circular',
      comment:
        'No import cycles anywhere under src/ - type-only imports and dynamic import() count ' +
        'too. Break the cycle by moving the shared piece down a layer or inverting the dependency.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'Every import must resolve to a file, a package or a node builtin. An unresolved ' +
        'import would slip past every rule above, so it fails the check.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Count `import type` as a dependency: a type import in the wrong direction is still
    // the wrong direction (see docs/decisions/layer-check.md).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
    doNotFollow: { path: 'node_modules' },
    // `import './x.js'` resolves to ./x.ts (dependency-cruiser retries .js as .ts/.d.ts).
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.d.ts', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    progress: { type: 'none' },
  },
}
