/**
 * The status page's script (inline in the page, no build step): polls `/status` every
 * second and renders peers, lag histograms, counters and clock offsets. Text from the
 * network is always inserted as text, never as HTML. It reads no time: rates and the
 * "updated" time are on the node's clock (`/status`'s `time`); only its poll and abort
 * timers are the browser's (docs/decisions/clock-reads.md).
 */
export const STATUS_PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  var POLL_MS = 1000;
  var TIMEOUT_MS = 3000;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var last = null;
  var TOKEN_KEY = 'meshcache-token';

  // A node with --http-token-file answers /status 401: the token is asked for once and
  // kept for this tab only.
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function askToken() {
    var form = $('token-form');
    if (!form.hidden) return;
    form.hidden = false;
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var value = $('token-input').value.trim();
      if (!value) return;
      try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* private mode: this poll only */ }
      form.hidden = true;
    };
  }

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
        clock.skewed ? el('span', { class: 'nonzero', 'data-testid': 'clock-skewed', text: ' \u00b7 ' + (typeof clock.reason === 'string' ? (clock.refusingWrites ? 'writes refused: ' : 'skewed: ') + clock.reason : 'skewed: check this host\u2019s time source') }) : null));
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
    // Where the lag goes (mean per batch) and the links this node keeps.
    var stages = (s.mesh && s.mesh.stages) || {};
    var parts = keysSorted(stages).filter(function (k) { return stages[k].count > 0; })
      .map(function (k) { return k + ' ' + fmtMs(stages[k].sumMs / stages[k].count); });
    if (parts.length) box.appendChild(el('p', { class: 'muted', 'data-testid': 'lag-stages', text: 'per batch: ' + parts.join(' \u00b7 ') }));
    var links = s.mesh && s.mesh.links;
    if (links) {
      var remote = keysSorted(links.remote).map(function (r) { return r + ' ' + links.remote[r].length; });
      box.appendChild(el('p', { class: 'muted', 'data-testid': 'links', text: (links.fullMesh ? 'full mesh' : 'links') +
        ': ' + links.local.length + ' local' + (remote.length ? ', ' + remote.join(', ') : '') + ' (' + links.members + ' members)' }));
    }
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

  // The RESP listener's connections and per-command figures, when the node serves RESP.
  function renderResp(s) {
    var card = $('card-resp');
    var r = s.resp;
    card.hidden = !r;
    if (!r) return;
    $('resp-summary').textContent = String(r.address) + ' \u00b7 ' + fmtInt(r.connections) +
      (r.connections === 1 ? ' connection' : ' connections');
    var cols = ['calls', 'errors', 'mean', 'p50', 'p99'];
    var head = el('tr', null, el('th', { text: 'command' }));
    cols.forEach(function (c) { head.appendChild(el('th', { class: 'num', text: c })); });
    var body = el('tbody');
    var cmds = r.commands || {};
    function us(v) { return isNum(v) ? (v >= 1000 ? fmtMs(v / 1000) : Math.round(v) + ' \u00b5s') : '\u2014'; }
    keysSorted(cmds).forEach(function (name) {
      var c = cmds[name] || {};
      body.appendChild(el('tr', { 'data-testid': 'resp-command', 'data-command': name },
        el('td', { class: 'mono', text: name }),
        el('td', { class: 'num', text: fmtInt(c.calls) }),
        el('td', { class: 'num' + (c.errors > 0 ? ' nonzero' : ''), text: fmtInt(c.errors) }),
        el('td', { class: 'num', text: us(c.meanUs) }),
        el('td', { class: 'num', text: c.p50Us === null ? '> 5 s' : '\u2264 ' + us(c.p50Us) }),
        el('td', { class: 'num', text: c.p99Us === null ? '> 5 s' : '\u2264 ' + us(c.p99Us) })));
    });
    var kv = el('p', { class: 'muted', text: 'accepted ' + fmtInt(r.connectionsTotal) + ' \u00b7 refused ' +
      fmtInt(r.connectionsRejected) + ' \u00b7 protocol errors ' + fmtInt(r.protocolErrors) +
      ' \u00b7 closed for not reading ' + fmtInt(r.outputLimitCloses) + ' \u00b7 failed AUTH ' + fmtInt(r.authFailures) });
    var box = el('div', null, keysSorted(cmds).length
      ? el('div', { class: 'scroll' }, el('table', { class: 'resp' }, el('thead', null, head), body))
      : el('p', { class: 'empty', text: 'no command yet' }), kv);
    replace($('resp'), box);
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
    renderResp(s);
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
    var headers = { accept: 'application/json' };
    var token = storedToken();
    if (token) headers.authorization = 'Bearer ' + token;
    fetch('status', { cache: 'no-store', headers: headers, signal: ctrl ? ctrl.signal : undefined })
      .then(function (res) {
        if (res.status === 401) {
          askToken();
          throw new Error(token ? 'the token was refused' : 'this node needs a bearer token');
        }
        if (!res.ok) throw new Error('GET /status answered ' + res.status);
        return res.json();
      })
      .then(function (s) {
        // Rates between two snapshots are on the node's clock, which stamped them.
        var now = { at: s.time, s: s };
        render(s, last, now);
        last = now;
        $('updated').textContent = isNum(now.at) ? new Date(now.at).toLocaleTimeString() : '\u2014';
        setConn('live', 'live');
      })
      .catch(function (err) {
        var ago = last && isNum(last.at) ? ' \u00b7 last data ' + new Date(last.at).toLocaleTimeString() : '';
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
