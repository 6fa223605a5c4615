/**
 * The live status page a node serves at `/` (and `/ui`): one self-contained HTML
 * document, no build step and no external resource. Its script polls `status` (relative,
 * so `/status` when served at `/` or `/ui`) every second and draws the JSON of
 * `cache.stats()`.
 *
 * Everything from `/status` is text from the network (peer regions and keyspace names
 * are announced by other nodes): the script builds elements and sets `textContent`, it
 * never writes received text as HTML.
 * @module
 */

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
`

// The page's script. A plain string (no template interpolation, no backticks): it runs in
// the browser, not in Node, and is not type-checked against the DOM here; the browser
// test (test/process/status-page.test.ts) exercises it.
const SCRIPT = String.raw`
'use strict';
(function () {
  var POLL_MS = 1000;
  var TIMEOUT_MS = 3000;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var last = null;
  var lastOkAt = 0;

  function $(id) { return document.querySelector('[data-testid="' + id + '"]'); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined) {
      if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : '\u2014'; }
  function fmtMs(v) {
    if (!isNum(v)) return '\u2014';
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(Math.abs(v) >= 10000 ? 0 : 1) + ' s';
    return (Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v).toString()) + ' ms';
  }
  function fmtOffset(v) { return isNum(v) ? (v > 0 ? '+' : '') + fmtMs(v) : '\u2014'; }
  function fmtBound(b) {
    if (!isNum(b)) return '+Inf';
    return b >= 1000 ? b / 1000 + 's' : String(b);
  }
  function fmtPct(v) { return isNum(v) ? (v * 100).toFixed(1) + '%' : '\u2014'; }
  function human(name) {
    return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  }
  function replace(node, child) {
    while (node.firstChild) node.removeChild(node.firstChild);
    if (child) node.appendChild(child);
  }
  function keysSorted(obj) { return Object.keys(obj || {}).sort(); }

  // Peers grouped by region, this node first in its own region.
  function renderRegions(s) {
    var mesh = s.mesh || {};
    var peers = Array.isArray(mesh.peers) ? mesh.peers : [];
    var withOffset = peers.some(function (p) { return p && 'clockOffsetMs' in p; });
    var maxRtt = 0;
    peers.forEach(function (p) { if (isNum(p.rttMs) && p.rttMs > maxRtt) maxRtt = p.rttMs; });
    // Region names come from the network: no prototype, so '__proto__' is just a name.
    var groups = Object.create(null);
    function group(r) { return groups[r] || (groups[r] = []); }
    group(s.region).push({ self: true, id: s.node, region: s.region });
    peers.forEach(function (p) { group(typeof p.region === 'string' ? p.region : '').push(p); });
    var names = Object.keys(groups).sort(function (a, b) {
      if (a === s.region) return -1;
      if (b === s.region) return 1;
      if (a === '') return 1;
      if (b === '') return -1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    var cols = withOffset ? 5 : 4;
    var table = el('table', { class: 'peers' }, el('thead', null, el('tr', null,
      el('th', { text: 'node' }),
      el('th', { class: 'num', style: 'width:130px', text: 'rtt' }),
      withOffset ? el('th', { class: 'num', style: 'width:100px', text: 'clock offset' }) : null,
      el('th', { class: 'num', style: 'width:70px', text: 'score' }),
      el('th', { class: 'num', style: 'width:70px', text: 'failures' }))));
    names.forEach(function (name) {
      var members = groups[name];
      var body = el('tbody', { 'data-testid': 'region-group', 'data-region': name },
        el('tr', { class: 'region-row' }, el('td', { colspan: String(cols) },
          el('span', { class: 'pill', 'data-testid': 'region-name', text: name || 'no hello yet' }),
          el('span', { class: 'muted', text: ' ' + members.length + (members.length === 1 ? ' node' : ' nodes') }))));
      members.forEach(function (p) {
        var rtt = el('td', { class: 'num', 'data-testid': 'peer-rtt' });
        if (p.self) rtt.textContent = '\u2014';
        else {
          var w = isNum(p.rttMs) && maxRtt > 0 ? Math.max(2, Math.round((p.rttMs / maxRtt) * 50)) : 0;
          rtt.appendChild(el('div', { class: 'rtt' },
            w ? el('div', { class: 'rtt-bar', style: 'width:' + w + 'px' }) : null,
            el('span', { text: fmtMs(p.rttMs) })));
        }
        var idCell = el('td', { class: 'id mono', title: String(p.id), 'data-testid': p.self ? 'self-id' : 'peer-id' },
          String(p.id));
        if (p.self) idCell.appendChild(el('span', { class: 'self-tag', text: 'this node' }));
        body.appendChild(el('tr', {
          'data-testid': p.self ? 'self' : 'peer',
          'data-peer-id': String(p.id),
          'data-region': name,
        },
          idCell,
          rtt,
          withOffset
            ? el('td', { class: 'num', 'data-testid': 'peer-clock-offset', text: p.self ? '\u2014' : fmtOffset(p.clockOffsetMs) })
            : null,
          el('td', { class: 'num', text: p.self ? '\u2014' : fmtInt(p.score) }),
          el('td', { class: 'num', text: p.self ? '\u2014' : fmtInt(p.failures) })));
      });
      table.appendChild(body);
    });
    var box = el('div', { class: 'scroll' }, table);
    var clock = mesh.clock;
    if (clock && typeof clock === 'object')
      box.appendChild(el('p', { class: 'muted clock', 'data-testid': 'clock' },
        'clock correction to the mesh median ',
        el('b', { 'data-testid': 'clock-correction', text: fmtOffset(clock.correctionMs) }),
        ' \u00b7 ' + fmtInt(clock.peersMeasured) + ' peers measured',
        clock.skewed ? el('span', { class: 'nonzero', 'data-testid': 'clock-skewed', text: ' \u00b7 skewed: check this host\u2019s time source' }) : null));
    if (Array.isArray(mesh.blockedPeers) && mesh.blockedPeers.length)
      box.appendChild(el('p', { class: 'muted', text: 'blocked peers: ' + mesh.blockedPeers.length }));
    if (!s.mesh) box.appendChild(el('p', { class: 'empty', text: 'not part of a mesh' }));
    replace($('regions'), box);
    $('peer-count').textContent = peers.length + (peers.length === 1 ? ' peer' : ' peers') +
      ' in ' + names.filter(function (n) { return n !== ''; }).length + ' regions';
  }

  // One SVG histogram per origin region: bars are per-bucket counts (the JSON buckets
  // are cumulative, Prometheus-style; the last bound is +Inf, which JSON carries as null).
  function histogram(lag) {
    var buckets = Array.isArray(lag.buckets) ? lag.buckets : [];
    var counts = [];
    var prev = 0;
    buckets.forEach(function (b) { var c = Number(b[1]) || 0; counts.push(Math.max(0, c - prev)); prev = c; });
    var bounds = buckets.map(function (b) { return isNum(b[0]) ? b[0] : Infinity; });
    function bucketOf(v) {
      if (!isNum(v)) return -1;
      for (var i = 0; i < bounds.length; i++) if (v <= bounds[i]) return i;
      return bounds.length - 1;
    }
    var i50 = lag.count > 0 ? bucketOf(lag.p50Ms) : -1;
    var i99 = lag.count > 0 ? bucketOf(lag.p99Ms) : -1;
    var max = Math.max.apply(null, counts.concat([1]));
    var W = 420, H = 130, top = 16, bottom = 18, left = 4;
    var n = Math.max(counts.length, 1);
    var slot = (W - left * 2) / n;
    var plot = H - top - bottom;
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'hist', role: 'img' });
    root.setAttribute('aria-label', 'lag histogram');
    root.appendChild(svg('line', { class: 'axis', x1: left, x2: W - left, y1: top + plot + 0.5, y2: top + plot + 0.5 }));
    counts.forEach(function (c, i) {
      var h = c > 0 ? Math.max(2, (c / max) * plot) : 0;
      var x = left + i * slot + slot * 0.12;
      var cls = 'bar' + (i === i99 ? ' p99' : i === i50 ? ' p50' : '');
      var rect = svg('rect', { class: cls, x: x.toFixed(1), y: (top + plot - h).toFixed(1),
        width: (slot * 0.76).toFixed(1), height: h.toFixed(1), rx: 2, 'data-count': c });
      var title = svg('title', {});
      var lo = i === 0 ? 0 : bounds[i - 1];
      title.textContent = fmtBound(lo) + '\u2013' + fmtBound(bounds[i]) + ' ms: ' + c + (c === 1 ? ' write' : ' writes');
      rect.appendChild(title);
      root.appendChild(rect);
      var label = svg('text', { x: (left + i * slot + slot / 2).toFixed(1), y: H - 5, 'text-anchor': 'middle' });
      label.textContent = fmtBound(bounds[i]);
      root.appendChild(label);
      var marks = [];
      if (i === i50) marks.push('p50');
      if (i === i99) marks.push('p99');
      if (marks.length) {
        // Anchored inwards at the ends, so a two-word mark is not cut by the frame.
        var edge = i === 0 ? 'start' : i === counts.length - 1 ? 'end' : 'middle';
        var mx = edge === 'start' ? left + i * slot + slot * 0.12
          : edge === 'end' ? left + (i + 1) * slot - slot * 0.12 : left + i * slot + slot / 2;
        var m = svg('text', { class: 'mark', x: mx.toFixed(1),
          y: Math.max(11, top + plot - h - 4).toFixed(1), 'text-anchor': edge });
        m.textContent = marks.join(' ');
        root.appendChild(m);
      }
    });
    return root;
  }

  function renderLag(s) {
    var lags = (s.mesh && s.mesh.lagByRegion) || {};
    var names = keysSorted(lags);
    var box = el('div', { class: 'lags' });
    names.forEach(function (origin) {
      var lag = lags[origin] || {};
      box.appendChild(el('div', { 'data-testid': 'lag-histogram', 'data-region': origin },
        el('div', { class: 'lag-head' },
          el('span', { class: 'pill', text: origin }),
          el('span', { class: 'muted', text: '\u2192 ' + s.region })),
        el('div', { class: 'lag-stats' },
          el('span', null, 'p50 ', el('b', { 'data-testid': 'lag-p50', text: fmtMs(lag.p50Ms) })),
          el('span', null, 'p99 ', el('b', { 'data-testid': 'lag-p99', text: fmtMs(lag.p99Ms) })),
          el('span', { class: 'muted', text: 'max ' + fmtMs(lag.maxMs) }),
          el('span', { class: 'muted', text: fmtInt(lag.count) + ' writes' })),
        histogram(lag)));
    });
    if (!names.length) box.appendChild(el('p', { class: 'empty', text: 'no replicated writes received yet' }));
    replace($('lag'), box);
  }

  function rate(now, prev, pick) {
    if (!prev) return undefined;
    var dt = (now.at - prev.at) / 1000;
    var d = pick(now.s) - pick(prev.s);
    return dt > 0 && isNum(d) && d >= 0 ? d / dt : undefined;
  }

  function renderHits(s, prev, now) {
    var anyReads = (s.hits || 0) + (s.misses || 0) > 0;
    $('hit-ratio').textContent = anyReads ? fmtPct(s.hitRatio) : '\u2014';
    $('hit-meter').style.width = (isNum(s.hitRatio) ? Math.round(s.hitRatio * 100) : 0) + '%';
    var reads = rate(now, prev, function (x) { return (x.hits || 0) + (x.misses || 0); });
    var kv = el('dl', { class: 'kv cols' });
    [['hits', fmtInt(s.hits)], ['misses', fmtInt(s.misses)], ['entries', fmtInt(s.entries)],
     ['reads/s', reads === undefined ? '\u2014' : reads.toFixed(reads < 10 ? 1 : 0)]].forEach(function (r) {
      kv.appendChild(el('dt', { text: r[0] }));
      kv.appendChild(el('dd', { 'data-testid': 'counter', 'data-name': r[0], text: r[1] }));
    });
    replace($('hit-counters'), kv);
  }

  function renderKeyspaces(s) {
    var ks = s.keyspaces || {};
    var names = keysSorted(ks);
    var cols = ['entries', 'hits', 'misses', 'sets', 'deletes', 'evictions', 'expirations', 'remoteApplied'];
    var head = el('tr', null, el('th', { text: 'keyspace' }), el('th', { class: 'num', text: 'hit ratio' }));
    cols.forEach(function (c) { head.appendChild(el('th', { class: 'num', text: human(c) })); });
    var body = el('tbody');
    names.forEach(function (name) {
      var k = ks[name] || {};
      var reads = (k.hits || 0) + (k.misses || 0);
      var row = el('tr', { 'data-testid': 'keyspace', 'data-keyspace': name },
        el('td', { class: 'id mono', title: name, text: name }),
        el('td', { class: 'num', text: reads ? fmtPct(k.hits / reads) : '\u2014' }));
      cols.forEach(function (c) { row.appendChild(el('td', { class: 'num', text: fmtInt(k[c]) })); });
      body.appendChild(row);
    });
    var table = el('div', { class: 'scroll' }, el('table', { class: 'keyspaces' }, el('thead', null, head), body));
    replace($('keyspaces'), names.length ? table : el('p', { class: 'empty', text: 'no keyspace open' }));
  }

  function renderReplication(s, prev, now) {
    var r = (s.mesh && s.mesh.replication) || {};
    var kv = el('dl', { class: 'kv cols' });
    var inRate = rate(now, prev, function (x) { return x.mesh && x.mesh.replication ? x.mesh.replication.recordsIn : NaN; });
    var outRate = rate(now, prev, function (x) { return x.mesh && x.mesh.replication ? x.mesh.replication.recordsOut : NaN; });
    var rows = [['records in/s', inRate === undefined ? '\u2014' : inRate.toFixed(1)],
                ['records out/s', outRate === undefined ? '\u2014' : outRate.toFixed(1)]];
    keysSorted(r).forEach(function (k) { if (isNum(r[k])) rows.push([human(k), fmtInt(r[k])]); });
    rows.forEach(function (row) {
      kv.appendChild(el('dt', { text: row[0] }));
      kv.appendChild(el('dd', { 'data-testid': 'counter', 'data-name': row[0], text: row[1] }));
    });
    replace($('replication'), s.mesh ? kv : el('p', { class: 'empty', text: 'not part of a mesh' }));
  }

  // Remote input refused, by reason code (a closed set; all codes present). The mesh's
  // replication.rejected is the same counter set; it is read only if the top level lacks it.
  function renderRejected(s) {
    var counts = s.rejected || (s.mesh && s.mesh.replication && s.mesh.replication.rejected) || {};
    var codes = keysSorted(counts).sort(function (x, y) { return (counts[y] || 0) - (counts[x] || 0); });
    var total = 0;
    var kv = el('dl', { class: 'kv cols' });
    codes.forEach(function (code) {
      var n = counts[code];
      if (isNum(n)) total += n;
      kv.appendChild(el('dt', { class: 'mono', text: code }));
      kv.appendChild(el('dd', { class: n > 0 ? 'nonzero' : '', 'data-testid': 'rejected-code', 'data-code': code, text: fmtInt(n) }));
    });
    $('rejected-total').textContent = total ? fmtInt(total) + ' refused' : 'none refused';
    $('rejected-total').className = total ? 'nonzero' : 'muted';
    replace($('rejected'), codes.length ? kv : el('p', { class: 'empty', text: 'no reject counters' }));
  }

  function render(s, prev, now) {
    $('node-id').textContent = String(s.node);
    $('node-id').title = String(s.node);
    $('node-region').textContent = String(s.region);
    document.title = 'meshcache \u00b7 ' + s.region;
    renderRegions(s);
    renderLag(s);
    renderHits(s, prev, now);
    renderKeyspaces(s);
    renderReplication(s, prev, now);
    renderRejected(s);
  }

  function setConn(state, text) {
    var c = $('conn-state');
    c.setAttribute('data-state', state);
    $('conn-text').textContent = text;
    document.querySelector('main').classList.toggle('stale', state === 'error');
  }

  function poll() {
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS) : 0;
    fetch('status', { cache: 'no-store', headers: { accept: 'application/json' }, signal: ctrl ? ctrl.signal : undefined })
      .then(function (res) {
        if (!res.ok) throw new Error('GET /status answered ' + res.status);
        return res.json();
      })
      .then(function (s) {
        var now = { at: Date.now(), s: s };
        render(s, last, now);
        last = now;
        lastOkAt = now.at;
        $('updated').textContent = new Date(now.at).toLocaleTimeString();
        setConn('live', 'live');
      })
      .catch(function (err) {
        var ago = lastOkAt ? ' \u00b7 last data ' + Math.round((Date.now() - lastOkAt) / 1000) + ' s ago' : '';
        setConn('error', 'unreachable: ' + (err && err.message ? err.message : String(err)) + ago);
      })
      .then(function () {
        clearTimeout(timer);
        setTimeout(poll, POLL_MS);
      });
  }
  poll();
})();
`

const BODY = `
<header>
  <h1>meshcache</h1>
  <div class="me">
    <span class="pill" data-testid="node-region">&hellip;</span>
    <code data-testid="node-id">&hellip;</code>
  </div>
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
</main>
<footer>Polls <code>/status</code> every second &middot; last update <span data-testid="updated">never</span></footer>
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
<body data-testid="status-page">${BODY}<script>${SCRIPT}</script>
</body>
</html>
`

/**
 * The node's live status page: a self-contained HTML document (inline CSS and script, no
 * external resource, no build step) that polls `/status` on its own origin every second
 * and shows this node, its peers grouped by region with RTT and clock offset (when
 * `/status` reports `clockOffsetMs`), this node's clock correction, a histogram per origin
 * region of replication lag with p50/p99, the hit ratio and counters, keyspaces, and
 * rejected input by reason code.
 *
 * Serve it as `text/html; charset=utf-8` at `/` and `/ui`, on the same origin as
 * `GET /status` (the script fetches the relative URL `status`). Elements carry stable
 * `data-testid` attributes for tests: `node-id`, `node-region`, `conn-state`,
 * `region-group`, `peer`, `peer-rtt`, `peer-clock-offset`, `clock-correction`,
 * `clock-skewed`, `lag-histogram`, `lag-p50`, `lag-p99`, `hit-ratio`, `counter`,
 * `rejected-code`, `keyspace`.
 *
 * @returns the HTML document, the same string on every call
 */
export function statusPageHtml(): string {
  return PAGE
}
