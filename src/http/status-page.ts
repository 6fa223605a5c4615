/**
 * The live status page a node serves at `/` (and `/ui`): one self-contained HTML
 * document, no build step and no external resource. Its script polls `status` (relative,
 * so `/status` when served at `/` or `/ui`) every second and draws the JSON of
 * `cache.stats()`; a second one polls `status/mesh` for the whole mesh.
 *
 * Everything from `/status` is text from the network (peer regions and keyspace names
 * are announced by other nodes): the script builds elements and sets `textContent`, it
 * never writes received text as HTML.
 * @module
 */

import { STATUS_PAGE_MESH_SCRIPT } from './status-page-mesh-script.js'
import { STATUS_PAGE_SCRIPT } from './status-page-script.js'

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #fff; --fg: #1d2330; --muted: #667085; --line: #e4e7ec;
  --accent: #2563eb; --accent-soft: #dbe7fe; --ok: #16a34a; --warn: #d97706; --bad: #dc2626;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1218; --card: #171b24; --fg: #e6e8ee; --muted: #98a2b3; --line: #2a3040;
    --accent: #60a5fa; --accent-soft: #1e3a5f;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px;
  padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line);
}
header h1 { margin: 0; font-size: 18px; letter-spacing: .2px; }
header .me { display: flex; align-items: center; gap: 8px; min-width: 0; flex: 1; }
header .me code { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.conn { display: flex; align-items: center; gap: 6px; color: var(--muted); font-size: 13px; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
.conn[data-state="live"] .dot { background: var(--ok); }
.conn[data-state="error"] .dot { background: var(--bad); }
.conn[data-state="error"] { color: var(--bad); }
main {
  display: grid; gap: 16px; padding: 16px 24px 24px;
  grid-template-columns: repeat(auto-fill, minmax(min(360px, 100%), 1fr));
}
main.stale .card { opacity: .55; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px; min-width: 0; box-shadow: 0 1px 2px rgba(16, 24, 40, .04);
}
.card.wide { grid-column: span 2; }
@media (max-width: 800px) { .card.wide { grid-column: auto; } }
.card h2 {
  margin: 0 0 10px; font-size: 12px; font-weight: 600; text-transform: uppercase;
  letter-spacing: .6px; color: var(--muted);
}
code, .mono { font-family: var(--mono); font-size: 12.5px; }
.pill {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  background: var(--accent-soft); color: var(--accent); font-weight: 600; white-space: nowrap;
}
.muted { color: var(--muted); }
.note { margin: -4px 0 8px; font-size: 12px; }
.clock { margin: 10px 0 0; font-size: 13px; }
.clock b { color: var(--fg); font-variant-numeric: tabular-nums; }
.empty { color: var(--muted); font-style: italic; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { padding: 4px 6px; text-align: left; border-bottom: 1px solid var(--line); }
th { font-size: 12px; font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.scroll { overflow-x: auto; }
table.peers { min-width: 560px; }
table.keyspaces { min-width: 720px; }
tr:last-child td { border-bottom: 0; }
.peers tr.region-row td { padding-top: 10px; border-bottom: 0; }
.peers tbody tr:last-child td { border-bottom: 1px solid var(--line); }
.peers tbody:last-child tr:last-child td { border-bottom: 0; }
.rtt span { white-space: nowrap; }
.self-tag { font-size: 11px; color: var(--accent); margin-left: 6px; }
.rtt { display: flex; align-items: center; justify-content: flex-end; gap: 6px; }
.rtt-bar { height: 6px; border-radius: 3px; background: var(--accent); opacity: .6; }
.big { font-size: 34px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.1; }
.meter { height: 8px; border-radius: 4px; background: var(--line); overflow: hidden; margin: 8px 0 12px; }
.meter > div { height: 100%; background: var(--ok); }
dl.kv { display: grid; grid-template-columns: 1fr auto; gap: 2px 12px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
dl.kv.cols { grid-template-columns: 1fr auto 1fr auto; }
.lags { display: grid; gap: 14px; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
.lag-head { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.lag-stats { display: flex; flex-wrap: wrap; gap: 2px 14px; white-space: nowrap; font-size: 13px; margin: 2px 0 4px; font-variant-numeric: tabular-nums; }
.lag-stats b { font-weight: 650; }
svg.hist { width: 100%; height: auto; display: block; }
svg.hist .bar { fill: var(--accent); opacity: .75; }
svg.hist .bar.p50 { opacity: 1; }
svg.hist .bar.p99 { fill: var(--warn); opacity: 1; }
svg.hist .axis { stroke: var(--line); }
svg.hist text { fill: var(--muted); font-size: 10px; font-family: system-ui, sans-serif; }
svg.hist text.mark { fill: var(--fg); font-weight: 600; }
.nonzero { color: var(--bad); font-weight: 650; }
footer { padding: 0 24px 20px; color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
form.token { display: flex; gap: 6px; }
form.token input { font: inherit; padding: 2px 6px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
form.token button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--accent-soft); color: var(--accent); cursor: pointer; }
table.resp { min-width: 560px; }
.card.full { grid-column: 1 / -1; }
.mesh-top { display: grid; gap: 16px; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); align-items: start; }
@media (max-width: 1000px) { .mesh-top { grid-template-columns: minmax(0, 1fr); } }
table.matrix { table-layout: auto; }
table.matrix th { white-space: nowrap; }
table.matrix td.cell { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.matrix td[data-level="ok"] { background: color-mix(in srgb, var(--ok) 12%, transparent); }
table.matrix td[data-level="warn"] { background: color-mix(in srgb, var(--warn) 18%, transparent); }
table.matrix td[data-level="bad"] { background: color-mix(in srgb, var(--bad) 20%, transparent); }
svg.mesh-graph { width: 100%; height: auto; display: block; }
svg.mesh-graph .region-area { fill: var(--accent-soft); opacity: .45; stroke: var(--line); }
svg.mesh-graph .region-label { fill: var(--fg); font-size: 13px; font-weight: 600; font-family: system-ui, sans-serif; }
svg.mesh-graph .self-label { fill: var(--accent); font-size: 11px; font-family: system-ui, sans-serif; }
svg.mesh-graph .edge { stroke: var(--muted); stroke-width: 1.2; opacity: .7; }
svg.mesh-graph .edge.hubs { stroke: var(--accent); stroke-width: 2.5; opacity: .8; }
svg.mesh-graph .edge.down { stroke: var(--bad); stroke-dasharray: 5 4; opacity: 1; }
svg.mesh-graph .member circle { fill: var(--ok); stroke: var(--card); stroke-width: 1.5; }
svg.mesh-graph .member.flagged circle { fill: var(--warn); }
svg.mesh-graph .member.behind circle { fill: var(--bad); }
svg.mesh-graph .member.unknown circle { fill: var(--muted); }
svg.mesh-graph .member.hub circle { stroke: var(--accent); stroke-width: 3; }
svg.mesh-graph .member.self circle { stroke: var(--fg); stroke-width: 2.5; }
.legend .key { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-left: 6px; }
.legend .key.ok { background: var(--ok); } .legend .key.flagged { background: var(--warn); }
.legend .key.behind { background: var(--bad); } .legend .key.unknown { background: var(--muted); }
table.members { min-width: 900px; }
.flag { display: inline-block; margin: 1px 4px 1px 0; padding: 0 6px; border-radius: 999px; font-size: 11.5px;
  background: color-mix(in srgb, var(--warn) 18%, transparent); color: var(--warn); font-weight: 600; }
.flag.behind { background: color-mix(in srgb, var(--bad) 18%, transparent); color: var(--bad); }
`

// The page's script. A plain string (no template interpolation, no backticks): it runs in
// the browser, not in Node, and is not type-checked against the DOM here; the browser
// test (test/process/status-page.test.ts) exercises it.
const BODY = `
<header>
  <h1>meshcache</h1>
  <div class="me">
    <span class="pill" data-testid="node-region">&hellip;</span>
    <code data-testid="node-id">&hellip;</code>
  </div>
  <form class="token" data-testid="token-form" hidden>
    <input type="password" data-testid="token-input" placeholder="bearer token" autocomplete="off" aria-label="bearer token">
    <button type="submit">use</button>
  </form>
  <div class="conn" data-testid="conn-state" data-state="connecting">
    <span class="dot"></span><span data-testid="conn-text">connecting&hellip;</span>
  </div>
</header>
<main>
  <section class="card wide" data-testid="card-regions">
    <h2>Regions and peers &middot; <span data-testid="peer-count"></span></h2>
    <div data-testid="regions"></div>
  </section>
  <section class="card" data-testid="card-hits">
    <h2>Hit ratio</h2>
    <div class="big" data-testid="hit-ratio">&mdash;</div>
    <div class="meter"><div data-testid="hit-meter" style="width:0"></div></div>
    <div data-testid="hit-counters"></div>
  </section>
  <section class="card full" data-testid="card-mesh" hidden>
    <h2>The whole mesh &middot; <span data-testid="mesh-summary"></span></h2>
    <p class="muted note">From the summaries members put in their announcements (at most an announce interval old). <span class="nonzero" data-testid="mesh-error"></span></p>
    <div class="mesh-top">
      <div data-testid="mesh-matrix-box"></div>
      <div data-testid="mesh-graph-box"></div>
    </div>
    <div data-testid="mesh-members-box"></div>
  </section>
  <section class="card wide" data-testid="card-lag">
    <h2>Replication lag by origin region (receive time &minus; write time)</h2>
    <div data-testid="lag"></div>
  </section>
  <section class="card" data-testid="card-rejected">
    <h2>Rejected input &middot; <span data-testid="rejected-total"></span></h2>
    <p class="muted note">Remote entries refused (gossip, sync, reads, snapshot), by reason code.</p>
    <div data-testid="rejected"></div>
  </section>
  <section class="card wide" data-testid="card-keyspaces">
    <h2>Keyspaces</h2>
    <div data-testid="keyspaces"></div>
  </section>
  <section class="card" data-testid="card-replication">
    <h2>Replication counters</h2>
    <div data-testid="replication"></div>
  </section>
  <section class="card wide" data-testid="card-resp" hidden>
    <h2>Redis protocol &middot; <span data-testid="resp-summary"></span></h2>
    <div data-testid="resp"></div>
  </section>
</main>
<footer>Polls <code>/status</code> every second and <code>/status/mesh</code> every 5 s &middot; last update <span data-testid="updated">never</span></footer>
`

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="meshcache status page">
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%232563eb'/%3E%3C/svg%3E">
<title>meshcache status</title>
<style>${STYLE}</style>
</head>
<body data-testid="status-page">${BODY}<script>${STATUS_PAGE_SCRIPT}</script><script>${STATUS_PAGE_MESH_SCRIPT}</script>
</body>
</html>
`

/**
 * The node's live status page: a self-contained HTML document (inline CSS and script, no
 * external resource, no build step) that polls `/status` on its own origin every second
 * and shows this node, its peers grouped by region with RTT and clock offset (when
 * `/status` reports `clockOffsetMs`), this node's clock correction, a histogram per origin
 * region of replication lag with p50/p99, the hit ratio and counters, keyspaces,
 * rejected input by reason code, and (when the node serves RESP) its connections and
 * per-command calls, errors and latency. A second script polls `/status/mesh` every 5 s
 * and shows the whole mesh: the region x region lag matrix, members per region with their
 * relay links, and every member's clock and flags (the card is hidden outside a mesh). When `/status` answers 401 (the node has
 * `--http-token-file`), the page asks for a token, keeps it for the browser tab
 * (`sessionStorage`) and sends it as `Authorization: Bearer`.
 *
 * Serve it as `text/html; charset=utf-8` at `/` and `/ui`, on the same origin as
 * `GET /status` (the script fetches the relative URL `status`). Elements carry stable
 * `data-testid` attributes for tests: `node-id`, `node-region`, `conn-state`,
 * `region-group`, `peer`, `peer-rtt`, `peer-clock-offset`, `clock-correction`,
 * `clock-skewed`, `lag-histogram`, `lag-p50`, `lag-p99`, `hit-ratio`, `counter`,
 * `rejected-code`, `keyspace`, `token-form`, `card-resp`, `resp-command`; the mesh card:
 * `card-mesh`, `mesh-summary`, `mesh-matrix`, `mesh-lag-cell` (`data-to`, `data-from`),
 * `mesh-lag-p50`, `mesh-lag-p99`, `mesh-graph`, `mesh-region`, `mesh-node`, `mesh-edge`
 * (`data-kind`), `mesh-members`, `mesh-member`, `mesh-clock-correction`,
 * `mesh-clock-offset`, `mesh-flag` (`data-flag`).
 *
 * @returns the HTML document, the same string on every call
 */
export function statusPageHtml(): string {
  return PAGE
}
