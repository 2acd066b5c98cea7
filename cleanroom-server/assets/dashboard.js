// Cleanroom dashboard: fills the server's page shells from the JSON API.
//
// Plain browser JavaScript, no build step, no libraries, nothing fetched from
// anywhere but this server. Every string that comes from the API (org and
// population names, ids, audit details) is written with textContent or as an
// SVG/HTML attribute value set through the DOM, never parsed as markup.
'use strict';

(function () {
  const POLL_MS = 3000;
  const TREND_SESSIONS = 12;
  const AUDIT_SHOWN = 50;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const numberFormat = new Intl.NumberFormat('en-US');

  // ---------- formatting (mirrors cleanroom_core::disclosure) ----------

  /** 1234567 -> "1,234,567". */
  function fmtInt(n) {
    return numberFormat.format(n);
  }

  /**
   * A disclosed Count: {"exact": n}, {"range": {"low": l, "high": h}} or a
   * noisy estimate {"approx": {"value": v, "low": l, "high": h}}.
   * Same text as the Rust Display: "1,234", "< 5", "20–24", "≈ 1,058"; null
   * means the owner does not share the figure.
   */
  function fmtCount(c) {
    if (c === null || c === undefined) return 'not shared';
    if (typeof c.exact === 'number') return fmtInt(c.exact);
    if (c.approx) return '≈ ' + fmtInt(c.approx.value);
    if (c.range) {
      if (c.range.low === 0) return '< ' + fmtInt(c.range.high + 1);
      return fmtInt(c.range.low) + '–' + fmtInt(c.range.high);
    }
    return '?';
  }

  /** A population total: hidden ones (null) read "—", as in the CLI. */
  function fmtTotal(c) {
    return c === null || c === undefined ? '—' : fmtCount(c);
  }

  /** The hover text of a figure: a noisy estimate's 95 % interval. */
  function countTitle(c) {
    if (c && c.approx) {
      return '95 % interval: ' + fmtInt(c.approx.low) + '–' + fmtInt(c.approx.high);
    }
    if (c === null || c === undefined) return 'Not shared with you';
    return '';
  }

  /** A table cell or span showing a figure, its interval on hover. */
  function countEl(tag, className, c, fmt) {
    const props = { className: className, text: (fmt || fmtCount)(c) };
    const title = countTitle(c);
    if (title) props.attrs = { title: title };
    return el(tag, props);
  }

  /** A single number standing for a Count, for colour and plotting. */
  function countValue(c) {
    if (!c) return null;
    if (typeof c.exact === 'number') return c.exact;
    if (c.approx) return c.approx.value;
    if (c.range) return (c.range.low + c.range.high) / 2;
    return null;
  }

  /** The low and high ends a figure is drawn as a band between, if any. */
  function countBand(c) {
    if (!c) return null;
    if (c.approx) return c.approx;
    if (c.range) return c.range;
    return null;
  }

  /** ε as written in policies: 1, 0.5. */
  function fmtEpsilon(e) {
    return 'ε ' + String(e);
  }

  /** "Exact counts" or "Noisy counts (ε 1 per session)" for a policy. */
  function countsText(policy) {
    // A policy stored before noisy counts existed has no mode and is exact.
    const c = policy.counts;
    if (c && c.mode === 'noisy') return 'Noisy counts (' + fmtEpsilon(c.epsilon) + ' per session)';
    return 'Exact counts';
  }

  /** How a result's counts were released, with the interval's half-width. */
  function disclosureText(results) {
    const d = results.disclosure;
    if (!d || !d.counts || d.counts.mode !== 'noisy') return 'Exact counts.';
    let text = 'Noisy counts (' + fmtEpsilon(d.counts.epsilon);
    if (typeof d.interval_half_width === 'number') text += ', 95 % interval ± ' + fmtInt(d.interval_half_width);
    return text + '): “≈ n” is an estimate; hover over it for its interval.';
  }

  /** The pair's budgets, one line each. */
  function budgetLines(b) {
    const lines = [
      'Privacy: ' + String(b.epsilon_spent) + ' of ' + String(b.epsilon_budget) + ' ε spent in the last ' +
        fmtInt(b.epsilon_window_days) + ' days',
      'Sessions: ' + fmtInt(b.sessions_used) + ' of ' + fmtInt(b.sessions_per_day) + ' in the last 24 hours',
    ];
    if (b.next_refresh_at) lines.push('Some ε returns ' + fmtTime(b.next_refresh_at));
    lines.push('Shared by all partnerships between your two organizations.');
    return lines;
  }

  function isExact(c) {
    return !!c && typeof c.exact === 'number';
  }

  /** RFC 3339 -> "2026-11-23 09:41 UTC"; the same for every viewer. */
  function fmtTime(s) {
    if (!s) return '—';
    const d = new Date(s);
    if (isNaN(d.getTime())) return s;
    return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  function shortId(id) {
    return id.length > 10 ? id.slice(0, 8) + '…' : id;
  }

  const STATE_TEXT = {
    awaiting_blinded: 'Awaiting blinded records',
    awaiting_tokens: 'Awaiting match tokens',
    computing: 'Computing',
    completed: 'Completed',
    cancelled: 'Cancelled',
  };
  const OPEN_STATES = ['awaiting_blinded', 'awaiting_tokens', 'computing'];
  const UPLOAD_TEXT = { pending: 'Not started', uploading: 'Uploading', committed: 'Committed' };
  const STATUS_TEXT = { invited: 'Invited', active: 'Active', revoked: 'Revoked' };
  const NAME_MATCHING_TEXT = {
    never: 'never',
    'when-strong-key-missing': 'unless both sides have differing websites (or DUNS)',
    always: 'always',
  };
  const NAMES_WITHOUT_COUNTRY_TEXT = {
    omit: 'left out',
    unqualified: 'matched only with names that have no country either',
  };

  function label(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : String(key);
  }

  // ---------- DOM helpers ----------

  /**
   * Creates an element. `props`: className, text (textContent), attrs (set
   * with setAttribute), dataset. Children are nodes or strings (text nodes).
   */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    applyProps(node, props);
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function applyProps(node, props) {
    if (!props) return;
    if (props.className) node.className = props.className;
    if (props.text !== undefined) node.textContent = props.text;
    for (const [k, v] of Object.entries(props.attrs || {})) node.setAttribute(k, String(v));
    for (const [k, v] of Object.entries(props.dataset || {})) node.dataset[k] = String(v);
  }

  function $(id) {
    return document.getElementById(id);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function setStatus(text, kind) {
    const s = $('status');
    if (!s) return;
    s.textContent = text;
    s.className = 'status' + (kind ? ' status-' + kind : '');
    s.hidden = !text;
  }

  function link(href, text) {
    return el('a', { text: text, attrs: { href: href } });
  }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
      this.status = status;
      this.problem = problem;
    }
  }

  /** GET a JSON API path with the sign-in cookie. */
  async function api(path) {
    const res = await fetch(path, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    if (res.status === 401) {
      // The sign-in ended (expired, signed out elsewhere, token revoked).
      const next = encodeURIComponent(location.pathname);
      location.assign('/dashboard/login?expired=1&next=' + next);
      throw new ApiError(401, null);
    }
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      body = null;
    }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  /**
   * Results of a completed session never change, so they are kept for the
   * tab's life: a reload does not fetch (and audit-log) them again. Sign-out
   * clears this storage.
   */
  async function sessionResults(id) {
    const key = 'cleanroom.results.' + id;
    try {
      const hit = sessionStorage.getItem(key);
      if (hit) return JSON.parse(hit);
    } catch (_) {
      // Storage may be disabled; fetch instead.
    }
    const r = await api('/v1/sessions/' + encodeURIComponent(id) + '/results');
    try {
      sessionStorage.setItem(key, JSON.stringify(r));
    } catch (_) {
      // Full or disabled: caching is only an optimisation.
    }
    return r;
  }

  /** The id in /dashboard/<kind>/<id>, decoded; null if absent. */
  function idFromPath(kind) {
    const parts = location.pathname.split('/');
    const i = parts.indexOf(kind);
    if (i < 0 || i + 1 >= parts.length || !parts[i + 1]) return null;
    try {
      return decodeURIComponent(parts[i + 1]);
    } catch (_) {
      return null;
    }
  }

  function showError(err, notFoundText) {
    if (err && err.status === 401) return;
    if (err && err.status === 404) {
      setStatus(notFoundText, 'error');
      const title = $('title');
      if (title) title.textContent = 'Not found';
      return;
    }
    setStatus('Could not load this page: ' + (err && err.message ? err.message : String(err)), 'error');
  }

  // ---------- shared: header ----------

  async function loadWhoAmI() {
    const who = $('whoami');
    if (!who) return;
    try {
      const me = await api('/v1/me');
      who.textContent = 'Signed in as ' + me.org.name;
    } catch (_) {
      // The page shows its own error; the header can stay empty.
    }
  }

  function wireLogout() {
    const form = $('logout-form');
    if (!form) return;
    form.addEventListener('submit', function () {
      try {
        sessionStorage.clear();
      } catch (_) {
        // Nothing cached.
      }
    });
  }

  // ---------- partnerships ----------

  function counterpart(p) {
    return p.my_role === 'vendor' ? p.partner : p.vendor;
  }

  function policyLines(policy, myRole) {
    const lines = [];
    lines.push(countsText(policy));
    lines.push(policy.records === 'overlapping-records' ? 'Overlapping records shared' : 'Counts only');
    const mine = myRole === 'vendor' ? policy.vendor_shares_white_space : policy.partner_shares_white_space;
    const theirs = myRole === 'vendor' ? policy.partner_shares_white_space : policy.vendor_shares_white_space;
    let ws;
    if (mine && theirs) ws = 'White space: both share';
    else if (mine) ws = 'White space: you share, they don’t';
    else if (theirs) ws = 'White space: they share, you don’t';
    else ws = 'White space: not shared';
    lines.push(ws);
    lines.push('Name matching: ' + label(NAME_MATCHING_TEXT, policy.name_matching));
    lines.push('Names without a country: ' + label(NAMES_WITHOUT_COUNTRY_TEXT, policy.names_without_country || 'omit'));
    return lines;
  }

  function badge(text, kind) {
    return el('span', { className: 'badge badge-' + kind, text: text });
  }

  async function pagePartnerships() {
    let list;
    try {
      list = await api('/v1/partnerships');
    } catch (err) {
      showError(err, 'Partnerships not found.');
      return;
    }
    setStatus('');
    if (list.length === 0) {
      $('empty').hidden = false;
      return;
    }
    const body = $('partnerships').tBodies[0];
    for (const p of list) {
      const other = counterpart(p);
      const policyCell = el('td', { className: 'policy' });
      for (const line of policyLines(p.policy, p.my_role)) policyCell.appendChild(el('div', { text: line }));
      if (p.pending_policy) {
        const who = p.pending_policy.proposed_by === p.my_role ? 'you' : 'they';
        policyCell.appendChild(el('div', { className: 'meta', text: 'A change proposed by ' + who + ' is pending' }));
      }
      let last;
      if (p.last_session) {
        const s = p.last_session;
        last = el('td', {}, [
          link('/dashboard/sessions/' + encodeURIComponent(s.id), label(STATE_TEXT, s.state)),
          el('div', { className: 'meta', text: fmtTime(s.created_at) }),
        ]);
      } else {
        last = el('td', { className: 'meta', text: 'None yet' });
      }
      const row = el('tr', { dataset: { partnership: p.id } }, [
        el('th', { attrs: { scope: 'row' } }, [
          link('/dashboard/partnerships/' + encodeURIComponent(p.id), other.name),
        ]),
        el('td', { text: p.my_role === 'vendor' ? 'Vendor' : 'Partner' }),
        el('td', {}, [badge(label(STATUS_TEXT, p.status), p.status)]),
        policyCell,
        last,
      ]);
      body.appendChild(row);
    }
    $('partnerships-wrap').hidden = false;
  }

  // ---------- partnership ----------

  /** Views of a result from the caller's side: rows are "mine". */
  function orient(results) {
    const iAmVendor = results.my_role === 'vendor';
    const mine = iAmVendor ? results.vendor : results.partner;
    const theirs = iAmVendor ? results.partner : results.vendor;
    // cell(myIndex, theirIndex) -> {mine, theirs, v, p} with v/p the matrix indices.
    function cell(i, j) {
      const v = iAmVendor ? i : j;
      const p = iAmVendor ? j : i;
      const c = results.cells[v][p];
      return {
        mine: iAmVendor ? c.vendor_accounts : c.partner_accounts,
        theirs: iAmVendor ? c.partner_accounts : c.vendor_accounts,
        v: v,
        p: p,
      };
    }
    return { iAmVendor: iAmVendor, mine: mine, theirs: theirs, cell: cell };
  }

  /** Heat level 0..5 from a count relative to the largest on the matrix. */
  function heatLevel(c, max) {
    const v = countValue(c);
    if (v === null || max <= 0) return 0;
    // Ranges are counts below the minimum cell size; estimates are coloured
    // by their value like exact counts.
    if (c.range) return 'low';
    if (v === 0) return 0;
    return Math.max(1, Math.ceil((5 * v) / max));
  }

  function renderMatrix(results) {
    const o = orient(results);
    const table = $('matrix');
    const thead = table.tHead;
    const tbody = table.tBodies[0];
    const tfoot = table.tFoot;
    clear(thead);
    clear(tbody);
    clear(tfoot);
    const myRole = o.iAmVendor ? 'vendor' : 'partner';
    const theirRole = o.iAmVendor ? 'partner' : 'vendor';

    $('matrix-caption').textContent =
      'Accounts in common: your populations (rows) against ' + o.theirs.org.name + '’s populations (columns). ' +
      'Each cell shows your matching accounts, then theirs.';
    $('matrix-meta').textContent =
      'Session ' + shortId(results.session_id) + ', computed ' + fmtTime(results.computed_at) +
      '. Counts below ' + fmtInt(results.min_cell_size) + ' are shown as “< ' + fmtInt(results.min_cell_size) + '”. ' +
      disclosureText(results);

    let max = 0;
    o.mine.populations.forEach(function (_, i) {
      o.theirs.populations.forEach(function (_, j) {
        const c = o.cell(i, j).mine;
        if (!countBand(c) || c.approx) max = Math.max(max, countValue(c) || 0);
      });
    });

    const head = el('tr', {}, [el('td', { className: 'corner' }, [
      el('span', { className: 'corner-rows', text: 'Yours ↓' }),
      el('span', { className: 'corner-cols', text: 'Theirs →' }),
    ])]);
    for (const name of o.theirs.populations) head.appendChild(el('th', { attrs: { scope: 'col' }, text: name }));
    head.appendChild(el('th', { attrs: { scope: 'col' }, className: 'marginal', text: 'Your total' }));
    head.appendChild(el('th', { attrs: { scope: 'col' }, className: 'marginal', text: 'Matched' }));
    head.appendChild(el('th', { attrs: { scope: 'col' }, className: 'marginal', text: 'White space' }));
    thead.appendChild(head);

    o.mine.populations.forEach(function (myName, i) {
      const row = el('tr', {}, [el('th', { attrs: { scope: 'row' }, text: myName })]);
      o.theirs.populations.forEach(function (theirName, j) {
        const c = o.cell(i, j);
        const mineText = fmtCount(c.mine);
        const theirsText = fmtCount(c.theirs);
        const vendorText = o.iAmVendor ? mineText : theirsText;
        const partnerText = o.iAmVendor ? theirsText : mineText;
        const td = el(
          'td',
          {
            className: 'cell heat-' + heatLevel(c.mine, max),
            attrs: {
              'aria-label':
                'Your ' + myName + ' × their ' + theirName + ': ' + mineText + ' of your accounts, ' +
                theirsText + ' of ' + o.theirs.org.name + '’s accounts',
              title: [mineText + ' of yours', countTitle(c.mine), theirsText + ' of theirs', countTitle(c.theirs)]
                .filter(function (t) { return t; }).join(' · '),
            },
            dataset: { vendorPop: c.v, partnerPop: c.p, vendorAccounts: vendorText, partnerAccounts: partnerText },
          },
          [
            countEl('span', 'count mine ' + myRole + '-count', c.mine),
            countEl('span', 'count theirs ' + theirRole + '-count', c.theirs),
          ],
        );
        row.appendChild(td);
      });
      const f = o.mine.figures[i];
      row.appendChild(countEl('td', 'marginal num', f.total, fmtTotal));
      row.appendChild(countEl('td', 'marginal num', f.matched));
      row.appendChild(countEl('td', 'marginal num white-space', f.white_space));
      tbody.appendChild(row);
    });

    const footRows = [
      ['Their total', function (f) { return f.total; }, fmtTotal],
      ['Matched', function (f) { return f.matched; }, fmtCount],
      ['White space', function (f) { return f.white_space; }, fmtCount],
    ];
    for (const [name, pick, fmt] of footRows) {
      const row = el('tr', {}, [el('th', { attrs: { scope: 'row' }, text: name })]);
      for (const f of o.theirs.figures) row.appendChild(countEl('td', 'marginal num', pick(f), fmt));
      row.appendChild(el('td', { attrs: { colspan: 3 } }));
      tfoot.appendChild(row);
    }

    const legend = $('matrix-legend');
    clear(legend);
    legend.appendChild(el('span', { className: 'legend-label', text: 'Fewer' }));
    for (const level of [1, 2, 3, 4, 5]) {
      legend.appendChild(el('span', { className: 'swatch heat-' + level, attrs: { 'aria-hidden': 'true' } }));
    }
    legend.appendChild(el('span', { className: 'legend-label', text: 'More of your accounts in common' }));
    legend.appendChild(el('span', { className: 'swatch heat-low', attrs: { 'aria-hidden': 'true' } }));
    legend.appendChild(el('span', { className: 'legend-label', text: 'Below the minimum cell size' }));
    if (o.theirs.figures.some(function (f) { return f.matched === null; })) {
      legend.appendChild(el('span', {
        className: 'legend-note',
        text: '“not shared”: ' + o.theirs.org.name + ' does not share its white space under this policy.',
      }));
    }
    legend.hidden = false;
    $('matrix-wrap').hidden = false;
    $('matrix-empty').hidden = true;
  }

  /** Draws matched accounts per own population across sessions as SVG. */
  function renderTrend(series) {
    // series: [{session, computedAt, figures: Map(name -> Count)}], oldest first.
    const chart = $('trend-chart');
    clear(chart);
    if (series.length === 0) {
      $('trend-empty').hidden = false;
      $('trend').hidden = true;
      return;
    }
    const names = [];
    for (const s of series) for (const name of s.figures.keys()) if (!names.includes(name)) names.push(name);
    const lines = names.slice(0, 8);

    const W = 720;
    const H = 260;
    const M = { top: 16, right: 16, bottom: 40, left: 64 };
    const iw = W - M.left - M.right;
    const ih = H - M.top - M.bottom;
    let max = 0;
    for (const s of series) for (const name of lines) {
      const c = s.figures.get(name);
      if (countBand(c)) max = Math.max(max, countBand(c).high);
      else if (c) max = Math.max(max, countValue(c));
    }
    const step = niceStep(max);
    max = Math.max(step, Math.ceil(max / step) * step);
    const x = function (i) {
      return M.left + (series.length === 1 ? iw / 2 : (i * iw) / (series.length - 1));
    };
    const y = function (v) {
      return M.top + ih - (v / max) * ih;
    };

    const titleId = 'trend-svg-title';
    const root = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-labelledby': titleId,
      class: 'trend-svg',
      preserveAspectRatio: 'xMidYMid meet',
    });
    const title = svg('title', { id: titleId });
    title.textContent = 'Matched accounts of your populations over the last ' + series.length + ' completed sessions';
    root.appendChild(title);

    for (let v = 0; v <= max; v += step) {
      root.appendChild(svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }));
      const lab = svg('text', { x: M.left - 8, y: y(v) + 4, class: 'axis-label', 'text-anchor': 'end' });
      lab.textContent = fmtInt(v);
      root.appendChild(lab);
    }
    const every = Math.max(1, Math.ceil(series.length / 6));
    series.forEach(function (s, i) {
      if (i % every !== 0 && i !== series.length - 1) return;
      // The outermost labels hug the plot's edges so they are never clipped.
      let anchor = 'middle';
      if (series.length > 1 && i === 0) anchor = 'start';
      else if (series.length > 1 && i === series.length - 1) anchor = 'end';
      const lab = svg('text', { x: x(i), y: H - M.bottom + 18, class: 'axis-label', 'text-anchor': anchor });
      // "11-23 09:41": sessions often run on the same day.
      lab.textContent = fmtTime(s.computedAt).slice(5, 16);
      root.appendChild(lab);
    });

    lines.forEach(function (name, k) {
      const pts = [];
      series.forEach(function (s, i) {
        const c = s.figures.get(name);
        if (c) pts.push({ i: i, c: c });
      });
      if (pts.length > 1) {
        const d = pts.map(function (p, n) {
          return (n === 0 ? 'M' : 'L') + x(p.i).toFixed(1) + ' ' + y(countValue(p.c)).toFixed(1);
        }).join(' ');
        root.appendChild(svg('path', { d: d, class: 'series series-' + k }));
      }
      for (const p of pts) {
        const band = countBand(p.c);
        if (band) {
          // A coarsened figure or a noisy estimate: draw its band (the
          // estimate's 95 % interval), not only a point.
          root.appendChild(svg('line', {
            x1: x(p.i), x2: x(p.i), y1: y(band.low), y2: y(band.high), class: 'band series-' + k,
          }));
        }
        const dot = svg('circle', {
          cx: x(p.i), cy: y(countValue(p.c)), r: 4,
          class: 'point series-' + k + (isExact(p.c) ? '' : ' point-range'),
        });
        const tip = svg('title');
        const interval = countTitle(p.c);
        tip.textContent = name + ': ' + fmtCount(p.c) + ' matched' + (interval ? ', ' + interval : '') +
          ' (' + fmtTime(series[p.i].computedAt) + ')';
        dot.appendChild(tip);
        root.appendChild(dot);
      }
    });
    chart.appendChild(root);

    const key = el('ul', { className: 'chart-key', attrs: { 'aria-label': 'Lines' } });
    lines.forEach(function (name, k) {
      key.appendChild(el('li', {}, [el('span', { className: 'key-swatch series-' + k, attrs: { 'aria-hidden': 'true' } }), name]));
    });
    chart.appendChild(key);
    $('trend-caption').textContent =
      'Matched accounts of each of your populations per completed session' +
      (names.length > lines.length ? ' (first ' + lines.length + ' populations drawn; all are in the table)' : '') + '.';

    const table = $('trend-table');
    clear(table.tHead);
    clear(table.tBodies[0]);
    const head = el('tr', {}, [el('th', { attrs: { scope: 'col' }, text: 'Session' })]);
    for (const name of names) head.appendChild(el('th', { attrs: { scope: 'col' }, text: name }));
    table.tHead.appendChild(head);
    for (const s of series) {
      const row = el('tr', {}, [el('th', { attrs: { scope: 'row' }, text: fmtTime(s.computedAt) })]);
      for (const name of names) {
        const c = s.figures.get(name);
        row.appendChild(el('td', { className: 'num', text: c ? fmtCount(c) : '—' }));
      }
      table.tBodies[0].appendChild(row);
    }
    $('trend-empty').hidden = true;
    $('trend').hidden = false;
  }

  /** A round tick step (1, 2 or 5 × 10^k) giving at most 5 intervals up to v. */
  function niceStep(v) {
    if (v <= 5) return 1;
    const raw = v / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }

  function renderSessions(sessions) {
    const body = $('sessions').tBodies[0];
    clear(body);
    for (const s of sessions) {
      body.appendChild(el('tr', {}, [
        el('th', { attrs: { scope: 'row' } }, [link('/dashboard/sessions/' + encodeURIComponent(s.id), shortId(s.id))]),
        el('td', {}, [badge(label(STATE_TEXT, s.state), s.state)]),
        el('td', { text: fmtTime(s.created_at) }),
        el('td', { text: fmtTime(s.finished_at) }),
      ]));
    }
    $('sessions-empty').hidden = sessions.length > 0;
    $('sessions-wrap').hidden = sessions.length === 0;
  }

  // ---------- agents and refreshes ----------

  /** Unix seconds -> "2 minutes ago", "just now", "3 days ago". */
  function fmtAgo(unix) {
    const secs = Math.max(0, Math.round(Date.now() / 1000 - unix));
    const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
    for (const [size, name] of units) {
      if (secs >= size) {
        const n = Math.floor(secs / size);
        return n + ' ' + name + (n === 1 ? '' : 's') + ' ago';
      }
    }
    return secs < 10 ? 'just now' : secs + ' seconds ago';
  }

  function fmtUnix(unix) {
    return unix === null || unix === undefined ? '—' : fmtTime(new Date(unix * 1000).toISOString());
  }

  /** "Globex's agent: online, last seen 2 minutes ago" and its versions. */
  function agentLines(who, a) {
    if (!a) return [who + ' agent: has not reported yet'];
    const lines = [
      who + ' agent: ' + (a.online ? 'online' : 'offline') + ', last seen ' + fmtAgo(a.last_seen),
      'Agent version ' + a.agent_version + ', protocol ' + a.protocol,
    ];
    if (a.schedule) {
      lines.push('Refreshes ' + a.schedule.refresh + (a.schedule.next_run_at ? ', next run ' + fmtUnix(a.schedule.next_run_at) : ''));
    } else {
      lines.push('No refresh schedule for this partnership');
    }
    return lines;
  }

  function renderAgents(agents, otherName) {
    const dl = $('agents');
    clear(dl);
    const add = function (term, lines, side) {
      dl.appendChild(el('div', { dataset: { agent: side } }, [
        el('dt', { text: term }),
        el('dd', {}, lines.map(function (l) { return el('div', { text: l }); })),
      ]));
    };
    add('Your agent', agentLines('Your', agents.own), 'own');
    add(otherName + '’s agent', agentLines(otherName + '’s', agents.partner), 'partner');
  }

  /** Which sides an open session still waits for. */
  function awaitedSides(s, myRole, otherName) {
    const step = s.state === 'awaiting_blinded' ? 'blinded' : s.state === 'awaiting_tokens' ? 'tokens' : null;
    if (!step) return [];
    const sides = [];
    const mine = s[myRole];
    const theirs = s[myRole === 'vendor' ? 'partner' : 'vendor'];
    if (mine && mine[step] !== 'committed') sides.push('your agent');
    if (theirs && theirs[step] !== 'committed') sides.push(otherName + '’s agent');
    return sides;
  }

  function renderRefreshes(sessions, agents, p, otherName) {
    const dl = $('refreshes');
    clear(dl);
    const add = function (term, nodes, key) {
      dl.appendChild(el('div', { dataset: { refresh: key } }, [el('dt', { text: term }), el('dd', {}, nodes)]));
    };
    const pending = sessions.filter(function (s) { return s.state === 'awaiting_blinded' || s.state === 'awaiting_tokens'; });
    add('Pending', pending.length === 0 ? ['None'] : pending.map(function (s) {
      const sides = awaitedSides(s, p.my_role, otherName);
      return el('div', {}, [
        link('/dashboard/sessions/' + encodeURIComponent(s.id), shortId(s.id)),
        ' ' + label(STATE_TEXT, s.state) + (sides.length ? ': waiting for ' + sides.join(' and ') : ''),
      ]);
    }), 'pending');
    const last = sessions.find(function (s) { return s.state === 'completed'; });
    add('Last session', [last ? 'Completed ' + fmtTime(last.finished_at) : 'None yet'], 'last');
    const runs = [agents && agents.own, agents && agents.partner]
      .map(function (a) { return a && a.schedule ? a.schedule.next_run_at : null; })
      .filter(function (t) { return typeof t === 'number'; });
    let next = 'No agent has a scheduled run';
    if (pending.length) next = 'Running now: both agents pick up the pending session';
    else if (runs.length) next = fmtUnix(Math.min.apply(null, runs)) + ' (scheduled by an agent)';
    add('Next session', [next], 'next');
  }

  /** Enables "Refresh now" for sign-ins whose token may create sessions. */
  async function wireRefreshNow(base, onCreated) {
    const button = $('refresh-now');
    const reason = $('refresh-reason');
    let info;
    try {
      const res = await fetch('/dashboard/sign-in', { credentials: 'same-origin', cache: 'no-store' });
      info = res.ok ? await res.json() : null;
    } catch (_) {
      info = null;
    }
    if (!info || !info.can_request_sessions) {
      button.disabled = true;
      reason.hidden = false;
      reason.textContent = info
        ? 'Refresh now is disabled: you signed in with a ' + info.token_scope + ' token. Requesting a session needs a token with the upload or admin scope.'
        : 'Refresh now is unavailable: your sign-in could not be checked.';
      return;
    }
    button.disabled = false;
    button.addEventListener('click', async function () {
      const status = $('refresh-status');
      const csrf = document.querySelector('#logout-form input[name="csrf"]');
      button.disabled = true;
      status.textContent = 'Requesting a session…';
      try {
        const res = await fetch(base.replace('/v1/partnerships/', '/dashboard/partnerships/') + '/refresh', {
          method: 'POST',
          credentials: 'same-origin',
          cache: 'no-store',
          headers: { Accept: 'application/json', 'X-CSRF-Token': csrf ? csrf.value : '' },
        });
        let body = null;
        try {
          body = await res.json();
        } catch (_) {
          body = null;
        }
        if (res.ok) {
          status.textContent = 'Session ' + shortId(body.id) + ' requested: both organizations’ agents will run it.';
          status.dataset.session = body.id;
          await onCreated();
        } else {
          status.textContent = 'Not requested: ' + ((body && (body.detail || body.title)) || 'HTTP ' + res.status);
        }
      } catch (err) {
        status.textContent = 'Not requested: ' + err.message;
      }
      button.disabled = false;
    });
  }

  /** Audit details as "key: value" text; nested objects one level deep. */
  function detailText(detail) {
    if (detail === null || detail === undefined) return '';
    if (typeof detail !== 'object') return String(detail);
    const value = function (v) {
      if (typeof v === 'number') return fmtInt(v);
      if (typeof v === 'boolean') return v ? 'yes' : 'no';
      if (v === null) return '—';
      if (Array.isArray(v)) return v.map(value).join(', ');
      if (typeof v === 'object') {
        return '(' + Object.entries(v).map(function ([k, x]) { return k.replace(/_/g, ' ') + ' ' + value(x); }).join(', ') + ')';
      }
      return String(v);
    };
    return Object.entries(detail)
      .map(function ([k, v]) { return k.replace(/_/g, ' ') + ': ' + value(v); })
      .join('; ');
  }

  /** The audit log newest first, whichever order the server sent. */
  function newestFirst(entries) {
    if (entries.length > 1 && entries[0].at < entries[entries.length - 1].at) return entries.slice().reverse();
    return entries;
  }

  function renderAudit(entries, all) {
    const body = $('audit').tBodies[0];
    clear(body);
    const shown = all ? entries : entries.slice(0, AUDIT_SHOWN);
    for (const e of shown) {
      body.appendChild(el('tr', {}, [
        el('td', { className: 'nowrap' }, [el('time', { attrs: { datetime: e.at }, text: fmtTime(e.at) })]),
        el('td', { text: e.org }),
        el('td', {}, [el('code', { text: e.action })]),
        el('td', {}, e.session_id ? [link('/dashboard/sessions/' + encodeURIComponent(e.session_id), shortId(e.session_id))] : []),
        el('td', { className: 'detail', text: detailText(e.detail) }),
      ]));
    }
    $('audit-empty').hidden = entries.length > 0;
    $('audit-wrap').hidden = entries.length === 0;
    const more = $('audit-more');
    more.hidden = all || entries.length <= AUDIT_SHOWN;
    more.textContent = 'Show all ' + fmtInt(entries.length) + ' entries';
  }

  /** One CSV field: quoted when needed, and defused against spreadsheet formulas. */
  function csvField(s) {
    let v = String(s);
    if (/^[=+\-@\t\r]/.test(v)) v = "'" + v;
    if (/[",\r\n]/.test(v)) v = '"' + v.replace(/"/g, '""') + '"';
    return v;
  }

  async function downloadOverlaps(sessionId, theirRole) {
    const status = $('download-status');
    status.textContent = 'Preparing…';
    try {
      const o = await api('/v1/sessions/' + encodeURIComponent(sessionId) + '/overlaps');
      const lines = [['row_id', theirRole + '_populations'].map(csvField).join(',')];
      for (const row of o.rows) {
        const pops = row.counterpart_populations.map(function (i) {
          return o.counterpart_populations[i] === undefined ? '#' + i : o.counterpart_populations[i];
        });
        lines.push([String(row.row_id), pops.join(';')].map(csvField).join(','));
      }
      const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
      const url = URL.createObjectURL(blob);
      const a = el('a', {
        attrs: { href: url, download: 'overlaps-' + sessionId.replace(/[^A-Za-z0-9_-]/g, '_') + '.csv' },
      });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      status.textContent = fmtInt(o.rows.length) + ' matched rows downloaded.';
    } catch (err) {
      if (err.status !== 401) status.textContent = 'Download failed: ' + err.message;
    }
  }

  async function pagePartnership() {
    const id = idFromPath('partnerships');
    if (!id) {
      showError({ status: 404 }, 'Partnership not found.');
      return;
    }
    const base = '/v1/partnerships/' + encodeURIComponent(id);
    let p;
    try {
      p = await api(base);
    } catch (err) {
      showError(err, 'Partnership not found: it does not exist or is not one of yours.');
      return;
    }
    const other = counterpart(p);
    const theirRole = p.my_role === 'vendor' ? 'partner' : 'vendor';
    document.title = other.name + ' · Cleanroom';
    $('title').textContent = 'You × ' + other.name;
    $('crumb').textContent = other.name;

    const summary = $('summary');
    clear(summary);
    const addTerm = function (term, nodes) {
      const dd = el('dd', {}, nodes);
      summary.appendChild(el('div', {}, [el('dt', { text: term }), dd]));
      return dd;
    };
    addTerm('Your role', [p.my_role === 'vendor' ? 'Vendor (rows)' : 'Partner (columns)']);
    addTerm('Status', [badge(label(STATUS_TEXT, p.status), p.status)]);
    addTerm('Sharing policy', policyLines(p.policy, p.my_role).map(function (l) { return el('div', { text: l }); }));
    if (p.pending_policy) {
      const who = p.pending_policy.proposed_by === p.my_role ? 'You' : other.name;
      addTerm('Pending change', [who + ' proposed: ' + policyLines(p.pending_policy.policy, p.my_role).join('; ')]);
    }
    let budgetDd = null;
    if (p.budget) {
      budgetDd = addTerm('Budget', budgetLines(p.budget).map(function (l) { return el('div', { text: l }); }));
      budgetDd.id = 'budget';
    }
    addTerm('Since', [fmtTime(p.created_at)]);
    setStatus('');
    $('content').hidden = false;

    let auditEntries = [];
    $('audit-more').addEventListener('click', function () {
      renderAudit(auditEntries, true);
    });

    let shownCompleted = null;
    let timer = null;

    async function refresh() {
      let sessions;
      let agents = null;
      try {
        sessions = await api(base + '/sessions');
      } catch (err) {
        showError(err, 'Partnership not found.');
        return;
      }
      try {
        agents = await api(base + '/agents');
        renderAgents(agents, other.name);
      } catch (err) {
        if (err.status !== 401) $('agents').textContent = 'Could not load the agents: ' + err.message;
      }
      renderRefreshes(sessions, agents, p, other.name);
      renderSessions(sessions);
      const completed = sessions.filter(function (s) { return s.state === 'completed'; });
      const newestKey = completed.length ? completed[0].id : '';
      if (newestKey !== shownCompleted) {
        shownCompleted = newestKey;
        await renderResults(completed, p, theirRole);
      }
      try {
        auditEntries = newestFirst(await api(base + '/audit'));
        renderAudit(auditEntries, false);
      } catch (err) {
        if (err.status !== 401) $('audit-empty').textContent = 'Could not load the audit log: ' + err.message;
      }
      const open = sessions.some(function (s) { return OPEN_STATES.includes(s.state); });
      $('sessions-live').textContent = open
        ? 'A session is running: this page updates every ' + POLL_MS / 1000 + ' seconds.'
        : '';
      if (open) timer = setTimeout(refresh, POLL_MS);
      else timer = null;
    }
    await wireRefreshNow(base, async function () {
      if (timer) clearTimeout(timer);
      // The new session spent from the pair's budgets: show what is left.
      try {
        const fresh = await api(base);
        if (budgetDd && fresh.budget) {
          clear(budgetDd);
          budgetLines(fresh.budget).forEach(function (l) { budgetDd.appendChild(el('div', { text: l })); });
        }
      } catch (_) {
        // The budget line stays as it was; the sessions below still update.
      }
      await refresh();
    });
    await refresh();
    return timer;
  }

  async function renderResults(completed, p, theirRole) {
    if (completed.length === 0) {
      $('matrix-empty').hidden = false;
      $('matrix-wrap').hidden = true;
      $('matrix-legend').hidden = true;
      $('records').hidden = true;
      renderTrend([]);
      return;
    }
    const latest = await sessionResults(completed[0].id);
    renderMatrix(latest);

    // Overlapping records are offered under the policy the session ran under.
    const records = $('records');
    if (latest.policy.records === 'overlapping-records') {
      records.hidden = false;
      const button = $('download-csv');
      const fresh = button.cloneNode(true); // drop a previous session's listener
      button.replaceWith(fresh);
      fresh.addEventListener('click', function () {
        downloadOverlaps(latest.session_id, theirRole);
      });
    } else {
      records.hidden = true;
    }

    const recent = completed.slice(0, TREND_SESSIONS).reverse();
    const series = [];
    for (const s of recent) {
      try {
        const r = s.id === latest.session_id ? latest : await sessionResults(s.id);
        const mine = r.my_role === 'vendor' ? r.vendor : r.partner;
        const figures = new Map();
        mine.populations.forEach(function (name, i) {
          if (mine.figures[i] && mine.figures[i].matched) figures.set(name, mine.figures[i].matched);
        });
        series.push({ session: s.id, computedAt: r.computed_at, figures: figures });
      } catch (err) {
        if (err.status === 401) return;
        // A session whose results cannot be read is left out of the trend.
      }
    }
    renderTrend(series);
  }

  // ---------- session ----------

  function chunksText(list) {
    return list.length === 0 ? '' : ' (' + fmtInt(list.length) + ' chunk' + (list.length === 1 ? '' : 's') + ' received)';
  }

  function renderProgress(s) {
    const me = s.my_role === 'vendor' ? s.vendor : s.partner;
    const them = s.my_role === 'vendor' ? s.partner : s.vendor;
    const rows = [
      ['Populations', function (x) { return x.populations ? x.populations.join(', ') : '—'; }],
      ['Records', function (x) { return x.records === null || x.records === undefined ? '—' : fmtInt(x.records); }],
      ['Blinded records', function (x) { return label(UPLOAD_TEXT, x.blinded) + chunksText(x.blinded_chunks); }],
      ['Match tokens', function (x) { return label(UPLOAD_TEXT, x.tokens) + chunksText(x.token_chunks); }],
    ];
    const body = $('progress').tBodies[0];
    clear(body);
    for (const [name, f] of rows) {
      body.appendChild(el('tr', {}, [
        el('th', { attrs: { scope: 'row' }, text: name }),
        el('td', { text: f(me) }),
        el('td', { text: f(them) }),
      ]));
    }
  }

  async function pageSession() {
    const id = idFromPath('sessions');
    if (!id) {
      showError({ status: 404 }, 'Session not found.');
      return;
    }
    const path = '/v1/sessions/' + encodeURIComponent(id);
    let partnershipShown = false;

    async function refresh() {
      let s;
      try {
        s = await api(path);
      } catch (err) {
        showError(err, 'Session not found: it does not exist or is not one of yours.');
        return;
      }
      if (!partnershipShown) {
        partnershipShown = true;
        const href = '/dashboard/partnerships/' + encodeURIComponent(s.partnership_id);
        $('crumb-partnership').setAttribute('href', href);
        $('results-href').setAttribute('href', href);
        try {
          const p = await api('/v1/partnerships/' + encodeURIComponent(s.partnership_id));
          const other = counterpart(p);
          $('crumb-partnership').textContent = other.name;
          $('col-them').textContent = other.name;
        } catch (_) {
          // Names are a nicety; the session itself is shown regardless.
        }
      }
      $('title').textContent = 'Session ' + shortId(s.id);
      const state = $('state');
      state.textContent = label(STATE_TEXT, s.state);
      state.className = 'badge badge-' + s.state;
      const summary = $('summary');
      clear(summary);
      const add = function (term, text) {
        summary.appendChild(el('div', {}, [el('dt', { text: term }), el('dd', { text: text })]));
      };
      add('Session id', s.id);
      add('Started', fmtTime(s.created_at) + ' by the ' + s.created_by);
      add('Finished', fmtTime(s.finished_at));
      add('Protocol', s.protocol_version);
      renderProgress(s);
      $('results-link').hidden = s.state !== 'completed';
      setStatus('');
      $('content').hidden = false;
      const open = OPEN_STATES.includes(s.state);
      $('live').textContent = open
        ? 'Live: updated ' + new Date().toISOString().slice(11, 19) + ' UTC, every ' + POLL_MS / 1000 + ' seconds'
        : '';
      if (open) setTimeout(refresh, POLL_MS);
    }
    await refresh();
  }

  // ---------- boot ----------

  const PAGES = {
    partnerships: pagePartnerships,
    partnership: pagePartnership,
    session: pageSession,
  };

  document.addEventListener('DOMContentLoaded', function () {
    const page = document.body.dataset.page;
    wireLogout();
    if (page === 'login') {
      // Whoever signs in next starts with nothing cached from before.
      try {
        sessionStorage.clear();
      } catch (_) {
        // Storage disabled: nothing was cached.
      }
    }
    if (!Object.prototype.hasOwnProperty.call(PAGES, page)) return;
    loadWhoAmI();
    PAGES[page]().then(
      function () { document.body.dataset.loaded = 'true'; },
      function (err) { showError(err, 'Not found.'); document.body.dataset.loaded = 'true'; },
    );
  });
})();
