// The report's one script: the host table from the embedded JSON, filtered, sorted and paged in
// plain DOM (100 rows at a time, so 10,000 hosts never become 10,000 rows). Host text is set with
// textContent only. The filter lives in the URL hash (#status=failed&q=web&sort=duration&desc=1),
// so a link or a bookmark opens the same view.
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('herd-data').textContent);
  var rows = data.hosts;
  var PAGE = 100;
  var COLS = ['host', 'status', 'exit', 'duration', 'reason', 'step'];
  var state = { status: '', q: '', sort: -1, desc: false, page: 0 };
  var el = function (id) { return document.getElementById(id); };
  var statusSel = el('f-status'), query = el('f-q'), body = el('host-rows'), info = el('host-info');
  var prev = el('page-prev'), next = el('page-next');

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    state.status = p.get('status') || '';
    state.q = p.get('q') || '';
    state.sort = COLS.indexOf(p.get('sort') || '');
    state.desc = p.get('desc') === '1';
    state.page = Math.max(0, (parseInt(p.get('page') || '1', 10) || 1) - 1);
    statusSel.value = state.status;
    if (statusSel.value !== state.status) {
      // A status no host has (a link from another run): show it chosen, with no rows; never widen to all.
      var extra = document.createElement('option');
      extra.value = state.status;
      extra.textContent = state.status + ' (0)';
      statusSel.appendChild(extra);
      statusSel.value = state.status;
    }
    query.value = state.q;
  }

  function writeHash() {
    var p = new URLSearchParams();
    if (state.status) p.set('status', state.status);
    if (state.q) p.set('q', state.q);
    if (state.sort >= 0) p.set('sort', COLS[state.sort]);
    if (state.desc) p.set('desc', '1');
    if (state.page > 0) p.set('page', String(state.page + 1));
    var h = p.toString();
    try {
      history.replaceState(null, '', h ? '#' + h : location.pathname + location.search);
    } catch (e) { /* a file: URL may refuse; the view still works */ }
  }

  function matching() {
    var q = state.q.toLowerCase();
    var out = rows.filter(function (r) {
      if (state.status && r[1] !== state.status) return false;
      return !q || r[0].toLowerCase().indexOf(q) >= 0 || r[4].toLowerCase().indexOf(q) >= 0;
    });
    if (state.sort >= 0) {
      var k = state.sort, sign = state.desc ? -1 : 1;
      out.sort(function (a, b) {
        var x = a[k], y = b[k];
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true })) * sign;
      });
    }
    return out;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function render() {
    var list = matching();
    var pages = Math.max(1, Math.ceil(list.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * PAGE;
    var frag = document.createDocumentFragment();
    list.slice(start, start + PAGE).forEach(function (r) {
      var tr = document.createElement('tr');
      tr.className = 'st-' + r[1];
      cell(tr, r[0]);
      cell(tr, r[1], 'status');
      cell(tr, r[2] === null ? '-' : String(r[2]), 'num');
      cell(tr, (r[3] / 1000).toFixed(2) + ' s', 'num');
      cell(tr, r[4]);
      cell(tr, r[5]);
      frag.appendChild(tr);
    });
    body.textContent = '';
    body.appendChild(frag);
    info.textContent = list.length + ' of ' + rows.length + ' hosts match; page ' + (state.page + 1) + ' of ' + pages;
    info.setAttribute('data-matching', String(list.length));
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    Array.prototype.forEach.call(document.querySelectorAll('#hosts th[data-col]'), function (th) {
      var i = COLS.indexOf(th.getAttribute('data-col'));
      th.setAttribute('aria-sort', i === state.sort ? (state.desc ? 'descending' : 'ascending') : 'none');
    });
  }

  function update() { writeHash(); render(); }
  statusSel.addEventListener('change', function () { state.status = statusSel.value; state.page = 0; update(); });
  query.addEventListener('input', function () { state.q = query.value; state.page = 0; update(); });
  prev.addEventListener('click', function () { state.page--; update(); });
  next.addEventListener('click', function () { state.page++; update(); });
  Array.prototype.forEach.call(document.querySelectorAll('#hosts th[data-col]'), function (th) {
    th.addEventListener('click', function () {
      var i = COLS.indexOf(th.getAttribute('data-col'));
      state.desc = state.sort === i ? !state.desc : i === 3;
      state.sort = i;
      update();
    });
  });
  window.addEventListener('hashchange', function () { readHash(); render(); });
  readHash();
  render();
})();
`;
