/**
 * The status page's mesh card script (inline in the page, no build step, independent of
 * the page's main script): polls `status/mesh` every 5 s and draws the region x region
 * lag matrix, the members per region with their relay links (SVG), and a table of the
 * members with their clocks and flags. Text from the network is always inserted as text,
 * never as HTML. The browser test (test/process/mesh-view-page.test.ts) exercises it.
 */
export const STATUS_PAGE_MESH_SCRIPT = String.raw`
'use strict';
(function () {
  var POLL_MS = 5000;
  var TIMEOUT_MS = 3000;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var TOKEN_KEY = 'meshcache-token';
  var W = 960, H = 400;

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
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtMs(v) {
    if (!isNum(v)) return '\u2014';
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(Math.abs(v) >= 10000 ? 0 : 1) + ' s';
    return (Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v).toString()) + ' ms';
  }
  // Matrix cells: ms without the unit (the note says it), seconds past 1 s.
  function fmtCell(v) {
    if (!isNum(v)) return '\u2014';
    return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 's' : String(Math.round(v));
  }
  function fmtOffset(v) { return isNum(v) ? (v > 0 ? '+' : '') + fmtMs(v) : '\u2014'; }
  function short(id) { id = String(id); return id.length > 14 ? id.slice(0, 6) + '\u2026' + id.slice(-6) : id; }
  function replace(node, child) {
    while (node.firstChild) node.removeChild(node.firstChild);
    if (child) node.appendChild(child);
  }
  function list(v) { return Array.isArray(v) ? v : []; }

  // Rows: receiving region; columns: origin region. Recent figures when writes arrived in
  // the recent window, else since start (marked). The p99 colours the cell.
  function renderMatrix(v) {
    var regions = list(v.regions).map(String);
    var cells = Object.create(null);
    list(v.lag).forEach(function (c) { if (c) cells[c.to + '\u0000' + c.from] = c; });
    var head = el('tr', null, el('th', { class: 'corner', text: 'to \u2193 \u00b7 from \u2192' }));
    regions.forEach(function (r) { head.appendChild(el('th', { class: 'num', text: r })); });
    var body = el('tbody');
    regions.forEach(function (to) {
      var row = el('tr', null, el('th', { text: to }));
      regions.forEach(function (from) {
        var c = cells[to + '\u0000' + from];
        var td = el('td', { class: 'num cell', 'data-testid': 'mesh-lag-cell', 'data-to': to, 'data-from': from });
        if (!c || !(c.count > 0)) { td.textContent = '\u2014'; td.classList.add('muted'); }
        else {
          var recent = c.recentCount > 0;
          var p50 = recent ? c.recentP50Ms : c.p50Ms, p99 = recent ? c.recentP99Ms : c.p99Ms;
          td.appendChild(el('span', { 'data-testid': 'mesh-lag-p50', text: fmtCell(p50) }));
          td.appendChild(el('span', { class: 'muted', text: ' / ' }));
          td.appendChild(el('b', { 'data-testid': 'mesh-lag-p99', text: fmtCell(p99) }));
          if (!recent) td.appendChild(el('span', { class: 'muted', text: ' *' }));
          td.setAttribute('data-level', p99 > 1000 ? 'bad' : p99 > 250 ? 'warn' : 'ok');
          td.title = from + ' \u2192 ' + to + ': ' + c.count + ' writes on ' + c.nodes + ' nodes since start (p50 ' +
            fmtMs(c.p50Ms) + ', p99 ' + fmtMs(c.p99Ms) + ', max ' + fmtMs(c.maxMs) + '); ' + c.recentCount + ' recent';
        }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    return el('div', { class: 'scroll' },
      el('table', { class: 'matrix', 'data-testid': 'mesh-matrix' }, el('thead', null, head), body),
      el('p', { class: 'muted note', text: 'p50 / p99 ms of receive time \u2212 write time, rows: receiving region, columns: origin region, over the last ' +
        Math.round((v.recentWindowMs || 0) / 1000) + ' s; * no recent writes: since the nodes started' }));
  }

  // Regions on an ellipse, each a cluster: its hub in the middle, the others on a ring.
  // Clusters are as large as they can be without overlapping (rotating the ellipse by half
  // a step when that leaves more room, as for four regions).
  function centersFor(n, cr, turn) {
    var out = [];
    for (var i = 0; i < n; i++) {
      if (n === 1) { out.push({ x: W / 2, y: H / 2 + 8 }); continue; }
      var a = -Math.PI / 2 + turn + (2 * Math.PI * i) / n;
      out.push({ x: W / 2 + (W / 2 - cr - 12) * Math.cos(a), y: H / 2 + 8 + (H / 2 - cr - 22) * Math.sin(a) });
    }
    return out;
  }
  function fits(centers, cr) {
    for (var i = 0; i < centers.length; i++)
      for (var j = i + 1; j < centers.length; j++)
        if (Math.hypot(centers[i].x - centers[j].x, centers[i].y - centers[j].y) < 2 * cr + 24) return false;
    return true;
  }
  function layout(v) {
    var regions = list(v.regions).map(String);
    var pos = Object.create(null);
    var n = regions.length;
    var cr = 24, centers = centersFor(n, cr, n === 2 ? -Math.PI / 2 : 0);
    search: for (var size = Math.min(150, H / 2 - 30); size >= 24; size -= 2) {
      var turns = n === 2 ? [-Math.PI / 2] : n % 2 === 0 ? [0, Math.PI / n] : [0];
      for (var t = 0; t < turns.length; t++) {
        var c = centersFor(n, size, turns[t]);
        if (fits(c, size)) { cr = size; centers = c; break search; }
      }
    }
    var radius = 9;
    regions.forEach(function (r, i) {
      var c = centers[i];
      var members = list(v.members).filter(function (m) { return m && m.region === r; });
      var hub = members.filter(function (m) { return m.hub; })[0];
      var ring = members.filter(function (m) { return m !== hub; });
      var rr = ring.length <= 1 ? cr * 0.55 : cr * 0.78;
      var size = Math.max(3, Math.min(9, (Math.PI * rr) / Math.max(ring.length, 1) / 1.6));
      radius = Math.min(radius, size);
      if (hub) pos[hub.id] = { x: c.x, y: c.y, m: hub };
      ring.forEach(function (m, k) {
        var a = -Math.PI / 2 + (2 * Math.PI * k) / ring.length;
        pos[m.id] = { x: c.x + rr * Math.cos(a), y: c.y + rr * Math.sin(a), m: m };
      });
    });
    return { regions: regions, centers: centers, cr: cr, pos: pos, radius: radius };
  }

  function nodeState(m) {
    if (m.behind) return 'behind';
    var flags = list(m.flags);
    if (flags.indexOf('no-summary') >= 0 || flags.indexOf('stale') >= 0) return 'unknown';
    return flags.length ? 'flagged' : 'ok';
  }

  function renderGraph(v) {
    var L = layout(v);
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'mesh-graph', role: 'img', 'data-testid': 'mesh-graph' });
    root.setAttribute('aria-label', 'members per region and their links');
    L.regions.forEach(function (r, i) {
      var c = L.centers[i];
      root.appendChild(svg('circle', { class: 'region-area', cx: c.x.toFixed(1), cy: c.y.toFixed(1), r: L.cr.toFixed(1) }));
      var count = list(v.members).filter(function (m) { return m && m.region === r; }).length;
      root.appendChild(svg('text', { class: 'region-label', x: c.x.toFixed(1), y: (c.y - L.cr - 6).toFixed(1),
        'text-anchor': 'middle', 'data-testid': 'mesh-region', 'data-region': r }, r + ' \u00b7 ' + count));
    });
    var edges = svg('g', { class: 'edges' });
    list(v.edges).forEach(function (e) {
      var a = e && L.pos[e.a], b = e && L.pos[e.b];
      if (!a || !b) return;
      var line = svg('line', { class: 'edge ' + String(e.kind), x1: a.x.toFixed(1), y1: a.y.toFixed(1),
        x2: b.x.toFixed(1), y2: b.y.toFixed(1), 'data-testid': 'mesh-edge', 'data-kind': String(e.kind) });
      line.appendChild(svg('title', {}, String(e.kind) + ': ' + short(e.a) + ' \u2014 ' + short(e.b)));
      edges.appendChild(line);
    });
    root.appendChild(edges);
    Object.keys(L.pos).forEach(function (id) {
      var p = L.pos[id], m = p.m;
      var r = m.hub ? L.radius * 1.6 : L.radius;
      var g = svg('g', { class: 'member ' + nodeState(m) + (m.self ? ' self' : '') + (m.hub ? ' hub' : ''),
        'data-testid': 'mesh-node', 'data-peer-id': String(m.id), 'data-region': String(m.region) });
      g.appendChild(svg('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: r.toFixed(1) }));
      if (m.self) g.appendChild(svg('text', { class: 'self-label', x: p.x.toFixed(1), y: (p.y + r + 12).toFixed(1), 'text-anchor': 'middle' }, 'this node'));
      g.appendChild(svg('title', {}, String(m.id) + (m.hub ? ' (hub)' : '') + (list(m.flags).length ? ': ' + list(m.flags).join(', ') : '')));
      root.appendChild(g);
    });
    var legend = el('p', { class: 'muted note legend' },
      el('span', { class: 'key ok' }), ' ok ', el('span', { class: 'key flagged' }), ' flagged ',
      el('span', { class: 'key behind' }), ' behind ', el('span', { class: 'key unknown' }), ' no recent summary \u00b7 ',
      'big dot: region hub \u00b7 lines: relay tree, hubs between regions, ', el('span', { class: 'nonzero', text: 'dashed: link down' }));
    return el('div', null, root, legend);
  }

  function renderMembers(v) {
    var members = list(v.members).slice().sort(function (a, b) {
      return (b.flags.length ? 1 : 0) - (a.flags.length ? 1 : 0);
    });
    var head = el('tr', null, el('th', { text: 'node' }), el('th', { style: 'width:110px', text: 'region' }),
      el('th', { style: 'width:70px', text: 'role' }), el('th', { class: 'num', style: 'width:70px', text: 'links' }),
      el('th', { class: 'num', style: 'width:100px', text: 'correction' }),
      el('th', { class: 'num', style: 'width:100px', text: 'offset here' }),
      el('th', { class: 'num', style: 'width:110px', text: 'summary age' }), el('th', { style: 'width:240px', text: 'flags' }));
    var body = el('tbody');
    members.forEach(function (m) {
      var flags = el('td', { 'data-testid': 'mesh-flags' });
      list(m.flags).forEach(function (f) {
        flags.appendChild(el('span', { class: 'flag' + (m.behind ? ' behind' : ''), 'data-testid': 'mesh-flag', 'data-flag': String(f), text: String(f) }));
      });
      var clock = m.clock || {};
      var links = m.links ? m.links.connected + '/' + m.links.planned : '\u2014';
      var idCell = el('td', { class: 'id mono', title: String(m.id), text: String(m.id) });
      if (m.self) idCell.appendChild(el('span', { class: 'self-tag', text: 'this node' }));
      body.appendChild(el('tr', { 'data-testid': 'mesh-member', 'data-peer-id': String(m.id), 'data-region': String(m.region) },
        idCell,
        el('td', { text: String(m.region) }),
        el('td', { text: m.hub ? 'hub' : 'member' }),
        el('td', { class: 'num' + (m.links && m.links.connected < m.links.planned ? ' nonzero' : ''), text: links }),
        el('td', { class: 'num' + (clock.skewed ? ' nonzero' : ''), 'data-testid': 'mesh-clock-correction', text: fmtOffset(clock.correctionMs) }),
        el('td', { class: 'num', 'data-testid': 'mesh-clock-offset', text: m.self ? '\u2014' : fmtOffset(clock.measuredOffsetMs) }),
        el('td', { class: 'num muted', text: isNum(m.summaryAgeMs) ? fmtMs(m.summaryAgeMs) : '\u2014' }),
        flags));
    });
    return el('div', { class: 'scroll' }, el('table', { class: 'members', 'data-testid': 'mesh-members' }, el('thead', null, head), body));
  }

  function render(v) {
    var t = v.totals || {};
    $('mesh-summary').textContent = (t.members || 0) + ' members in ' + list(v.regions).length + ' regions \u00b7 ' +
      (t.flagged || 0) + ' flagged \u00b7 ' + (t.behind || 0) + ' behind';
    $('mesh-summary').className = t.behind ? 'nonzero' : '';
    replace($('mesh-matrix-box'), renderMatrix(v));
    replace($('mesh-graph-box'), renderGraph(v));
    replace($('mesh-members-box'), renderMembers(v));
  }

  function poll() {
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS) : 0;
    var headers = { accept: 'application/json' };
    var token = null;
    try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* private mode */ }
    if (token) headers.authorization = 'Bearer ' + token;
    var card = $('card-mesh');
    fetch('status/mesh', { cache: 'no-store', headers: headers, signal: ctrl ? ctrl.signal : undefined })
      .then(function (res) {
        // A node outside a mesh has no mesh view; a token is asked for by the main script.
        if (res.status === 409) { card.hidden = true; return null; }
        if (res.status === 401) throw new Error('this node needs a bearer token');
        if (!res.ok) throw new Error('GET /status/mesh answered ' + res.status);
        return res.json();
      })
      .then(function (v) {
        if (!v) return;
        card.hidden = false;
        render(v);
        $('mesh-error').textContent = '';
      })
      .catch(function (err) {
        $('mesh-error').textContent = 'mesh view not updated: ' + (err && err.message ? err.message : String(err));
      })
      .then(function () {
        clearTimeout(timer);
        setTimeout(poll, POLL_MS);
      });
  }
  poll();
})();
`
