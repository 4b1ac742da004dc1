// Case explorer: filters, pages and shows one case side by side, from the JSON data
// blocks (evals/report/explorer.py). Every value reaches the page through textContent
// or attribute setters: no innerHTML anywhere, so model output is always text.
(function () {
  "use strict";
  var rowsEl = document.getElementById("explorer-rows");
  var stringsEl = document.getElementById("explorer-strings");
  var root = document.getElementById("explorer");
  if (!rowsEl || !stringsEl || !root) return;
  var data = JSON.parse(rowsEl.textContent);
  var S = JSON.parse(stringsEl.textContent);
  function set() { return Object.create(null); }  // no inherited keys: "__proto__" is a name too
  var C = set();
  data.columns.forEach(function (name, i) { C[name] = i; });
  var rows = data.rows;
  var PAGE = 50;
  var INTERNED = ["suite", "case", "prompt", "model", "status", "flip", "error", "finish",
                  "messages", "vars", "expect"];
  var isInterned = set();
  INTERNED.forEach(function (n) { isInterned[n] = true; });

  function get(r, name) {
    var v = r[C[name]];
    if (v === null || v === undefined) return null;
    return isInterned[name] ? S[v] : v;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmtNum(v, digits) { return v === null ? "—" : Number(v).toFixed(digits); }
  function fmtInt(v) { return v === null ? "—" : Number(v).toLocaleString("en-US"); }
  function fmtUsd(v) {  // as the report's Python side: $0.000021, $0.00228, $1,234.57
    if (v === null) return "—";
    var a = Math.abs(v), sign = v < 0 ? "-" : "";
    if (a === 0) return "$0.00";
    if (a >= 1) return sign + "$" + a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    var decimals = Math.min(12, Math.max(2, -Math.floor(Math.log10(a)) + 2));
    var text = a.toFixed(decimals);
    if (Number(text) === 0) return "<$" + Math.pow(10, -decimals).toFixed(decimals);
    var parts = text.split(".");
    var frac = parts[1].replace(/0+$/, "");
    while (frac.length < 2) frac += "0";
    return sign + "$" + parts[0] + "." + frac;
  }

  // ---------------------------------------------------------------- cases, in order
  var groups = [];
  var byKey = set();
  for (var i = 0; i < rows.length; i++) {
    var r = rows[i];
    var key = r[C.suite] + "\u0000" + r[C["case"]];
    var g = byKey[key];
    if (!g) {
      g = byKey[key] = { key: key, suite: get(r, "suite"), id: get(r, "case"), rows: [],
                         pass: 0, other: 0, flip: false, order: groups.length, tags: set() };
      groups.push(g);
    }
    g.rows.push(i);
    if (get(r, "status") === "pass") g.pass++; else g.other++;
    if (r[C.flip] !== null) g.flip = true;
    var tags = r[C.tags] || [];
    for (var t = 0; t < tags.length; t++) g.tags[S[tags[t]]] = true;
  }
  groups.forEach(function (g) {
    g.disagree = g.pass > 0 && g.other > 0;
    g.rank = g.flip ? 0 : g.disagree ? 1 : g.other > 0 ? 2 : 3;
  });
  // flipped since the baseline, then disagreements, then failures, then the rest
  groups.sort(function (a, b) { return a.rank - b.rank || a.order - b.order; });

  // ---------------------------------------------------------------- filters
  var f = {
    suite: document.getElementById("x-suite"), prompt: document.getElementById("x-prompt"),
    model: document.getElementById("x-model"), status: document.getElementById("x-status"),
    tag: document.getElementById("x-tag"), text: document.getElementById("x-text"),
    disagree: document.getElementById("x-disagree")
  };
  function distinct(name) {
    var seen = set(), out = [];
    for (var i = 0; i < rows.length; i++) {
      var vals = name === "tags" ? (rows[i][C.tags] || []) : [rows[i][C[name]]];
      for (var j = 0; j < vals.length; j++) {
        var s = S[vals[j]];
        if (!seen[s]) { seen[s] = true; out.push(s); }
      }
    }
    return out.sort();
  }
  function fill(select, values) {
    values.forEach(function (v) {
      var o = el("option", null, v);
      o.value = v;
      select.appendChild(o);
    });
    select.disabled = values.length === 0;
  }
  fill(f.suite, distinct("suite"));
  fill(f.prompt, distinct("prompt"));
  fill(f.model, distinct("model"));
  fill(f.tag, distinct("tags"));

  var haystack = null;  // lower-cased searchable text per sample, built on first search
  function textOf(i) {
    if (!haystack) haystack = new Array(rows.length);
    var h = haystack[i];
    if (h === undefined) {
      var r = rows[i];
      var parts = [get(r, "case"), get(r, "output"), get(r, "error"), get(r, "vars"),
                   get(r, "expect"), get(r, "tool_calls"), get(r, "model"), get(r, "prompt")];
      var grades = r[C.grades] || [];
      for (var j = 0; j < grades.length; j++) parts.push(S[grades[j][3]]);
      h = haystack[i] = parts.filter(function (p) { return p !== null; }).join("\n").toLowerCase();
    }
    return h;
  }
  function matcher() {
    var want = {
      suite: f.suite.value, prompt: f.prompt.value, model: f.model.value,
      status: f.status.value, tag: f.tag.value
    };
    var terms = f.text.value.toLowerCase().split(/\s+/).filter(Boolean);
    return function (i) {
      var r = rows[i];
      if (want.suite && get(r, "suite") !== want.suite) return false;
      if (want.prompt && get(r, "prompt") !== want.prompt) return false;
      if (want.model && get(r, "model") !== want.model) return false;
      var st = get(r, "status");
      if (want.status === "failures" ? st === "pass" : want.status && st !== want.status) {
        return false;
      }
      if (want.tag) {
        var tags = r[C.tags] || [], has = false;
        for (var t = 0; t < tags.length; t++) if (S[tags[t]] === want.tag) has = true;
        if (!has) return false;
      }
      if (terms.length) {
        var h = textOf(i);
        for (var k = 0; k < terms.length; k++) if (h.indexOf(terms[k]) === -1) return false;
      }
      return true;
    };
  }

  // ---------------------------------------------------------------- list and pager
  var body = document.getElementById("cases-body");
  var count = document.getElementById("x-count");
  var pageInfo = document.getElementById("x-page");
  var prev = document.getElementById("x-prev");
  var next = document.getElementById("x-next");
  var shown = [];  // [{group, rows}] matching the filters
  var page = 0;

  function apply() {
    var match = matcher();
    var onlyDisagree = f.disagree.checked;
    shown = [];
    var samples = 0;
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i];
      if (onlyDisagree && !g.disagree && !g.flip) continue;
      var hit = [];
      for (var j = 0; j < g.rows.length; j++) if (match(g.rows[j])) hit.push(g.rows[j]);
      if (hit.length) { shown.push({ group: g, rows: hit }); samples += hit.length; }
    }
    page = 0;
    count.textContent = samples.toLocaleString("en-US") + " of " +
      rows.length.toLocaleString("en-US") + " samples in " +
      shown.length.toLocaleString("en-US") + " cases";
    render();
  }

  function pages() {  // page boundaries: whole cases, about PAGE samples a page
    var out = [], start = 0, n = 0;
    for (var i = 0; i < shown.length; i++) {
      n += shown[i].rows.length;
      if (n >= PAGE) { out.push([start, i + 1]); start = i + 1; n = 0; }
    }
    if (start < shown.length || !out.length) out.push([start, shown.length]);
    return out;
  }

  function badge(status) { return el("span", "badge " + status, status.toUpperCase()); }

  function render() {
    var bounds = pages();
    if (page >= bounds.length) page = bounds.length - 1;
    var b = bounds[page];
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!shown.length) {
      var empty = el("tr");
      var td = el("td", "muted", rows.length ? "No cases match the filters." : "No cases.");
      td.colSpan = 10;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    for (var i = b[0]; i < b[1]; i++) {
      var item = shown[i];
      for (var j = 0; j < item.rows.length; j++) {
        body.appendChild(sampleRow(item, j));
      }
    }
    pageInfo.textContent = "page " + (page + 1) + " of " + bounds.length;
    prev.disabled = page === 0;
    next.disabled = page >= bounds.length - 1;
  }

  function preview(text, n) {
    if (text === null) return null;
    return text.length > n ? text.slice(0, n) + "…" : text;
  }

  function sampleRow(item, j) {
    var r = rows[item.rows[j]];
    var g = item.group;
    var tr = el("tr");
    tr.setAttribute("data-status", get(r, "status"));
    tr.setAttribute("data-case-id", g.id);
    if (j === 0) {
      var cell = el("td", "case");
      cell.rowSpan = item.rows.length;
      cell.appendChild(el("div", "muted", g.suite));
      var open = el("button", "case-open mono", g.id);
      open.type = "button";
      open.title = "show this case side by side across models and prompts";
      open.addEventListener("click", function () { showCase(g); });
      cell.appendChild(open);
      if (g.flip) cell.appendChild(el("span", "mark flip", "flipped"));
      if (g.disagree) cell.appendChild(el("span", "mark disagree", "disagree"));
      var tags = Object.keys(g.tags);
      if (tags.length) cell.appendChild(el("div", "tags muted", tags.join(", ")));
      tr.appendChild(cell);
    }
    tr.appendChild(el("td", "nw", get(r, "prompt")));
    tr.appendChild(el("td", "nw model", get(r, "model")));
    tr.appendChild(el("td", "num", r[C.repeat]));
    var res = el("td", "nw");
    res.appendChild(badge(get(r, "status")));
    if (r[C.flip] !== null) res.appendChild(el("span", "mark flip", get(r, "flip")));
    tr.appendChild(res);
    var out = el("td", "out");
    var err = get(r, "error");
    if (err !== null) out.appendChild(el("div", "err-text", preview(err, 300)));
    var text = get(r, "output");
    var calls = get(r, "tool_calls");
    if (calls !== null) text = text ? text + "\n" + calls : calls;
    if (text !== null) out.appendChild(el("pre", "output", preview(text, 300)));
    tr.appendChild(out);
    var grades = el("td", "grades");
    (r[C.grades] || []).forEach(function (gr) {
      var line = el("div", "grade " + S[gr[1]]);
      line.appendChild(el("span", "gt", S[gr[0]] || S[gr[1]]));
      var reason = S[gr[3]];
      if (reason) line.appendChild(document.createTextNode(" " + preview(reason, 160)));
      grades.appendChild(line);
    });
    tr.appendChild(grades);
    tr.appendChild(el("td", "num", r[C.latency] === null ? "—" : fmtNum(r[C.latency], 2) + " s"));
    tr.appendChild(el("td", "num tok", fmtInt(r[C.prompt_tokens]) + " / " +
                      fmtInt(r[C.completion_tokens])));
    var cost = el("td", "num", fmtUsd(r[C.cost]));
    if (r[C.cache_hit]) cost.appendChild(el("div", "muted tok", "cached"));
    tr.appendChild(cost);
    return tr;
  }

  // ---------------------------------------------------------------- one case, side by side
  var detail = document.getElementById("case-detail");

  function block(text, cls) {
    return text === null ? el("span", "muted", "—") : el("pre", cls || "", text);
  }
  function messagesBlock(json) {
    var box = el("div", "messages");
    var pairs = json ? JSON.parse(json) : [];
    if (!pairs.length) box.appendChild(el("span", "muted", "—"));
    pairs.forEach(function (p) {
      var m = el("div", "message");
      m.appendChild(el("span", "role", p[0]));
      m.appendChild(el("pre", "", p[1]));
      box.appendChild(m);
    });
    return box;
  }

  function showCase(g) {
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    var first = rows[g.rows[0]];
    var head = el("div", "detail-head");
    head.appendChild(el("h3", null, g.suite + " · " + g.id));
    var close = el("button", "case-close", "Close");
    close.type = "button";
    close.addEventListener("click", function () { detail.hidden = true; });
    head.appendChild(close);
    detail.appendChild(head);
    var tags = Object.keys(g.tags);
    if (tags.length) detail.appendChild(el("p", "tags muted", "tags: " + tags.join(", ")));
    var facts = el("dl", "case-facts");
    [["Vars", get(first, "vars")], ["Expected", get(first, "expect")]].forEach(function (kv) {
      facts.appendChild(el("dt", null, kv[0]));
      var dd = el("dd");
      dd.appendChild(block(kv[1]));
      facts.appendChild(dd);
    });
    detail.appendChild(facts);

    var msgs = g.rows.map(function (i) { return get(rows[i], "messages"); });
    var same = msgs.every(function (m) { return m === msgs[0]; });
    if (same) {
      detail.appendChild(el("h4", null, "Messages"));
      detail.appendChild(messagesBlock(msgs[0]));
    }
    var wrap = el("div", "scroll");
    var table = el("table", "side-by-side");
    var thead = el("thead");
    var hr = el("tr");
    hr.appendChild(el("th"));
    g.rows.forEach(function (i) {
      var r = rows[i];
      var th = el("th", "col", get(r, "model"));
      th.appendChild(el("div", "muted", get(r, "prompt") + " · #" + r[C.repeat]));
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    table.appendChild(thead);
    var tbody = el("tbody");
    function line(label, make) {
      var tr = el("tr");
      tr.appendChild(el("th", "label", label));
      g.rows.forEach(function (i) {
        var td = el("td");
        td.appendChild(make(rows[i]));
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    }
    line("Result", function (r) {
      var box = el("div");
      box.appendChild(badge(get(r, "status")));
      if (r[C.flip] !== null) box.appendChild(el("span", "mark flip", get(r, "flip")));
      if (r[C.score] !== null) box.appendChild(el("span", "muted", " score " + fmtNum(r[C.score], 3)));
      return box;
    });
    if (!same) line("Messages", function (r) { return messagesBlock(get(r, "messages")); });
    line("Output", function (r) { return block(get(r, "output"), "output"); });
    line("Tool calls", function (r) { return block(get(r, "tool_calls"), "output"); });
    line("Error", function (r) { return block(get(r, "error"), "err-text"); });
    line("Graders", function (r) {
      var box = el("div", "grades");
      (r[C.grades] || []).forEach(function (gr) {
        var d = el("div", "grade " + S[gr[1]]);
        d.appendChild(el("span", "gt", (S[gr[0]] || "") + " " + S[gr[1]]));
        if (gr[2] !== null) d.appendChild(el("span", "muted", " " + fmtNum(gr[2], 3)));
        if (S[gr[3]]) d.appendChild(el("div", "reason", S[gr[3]]));
        box.appendChild(d);
      });
      if (!box.firstChild) box.appendChild(el("span", "muted", "—"));
      return box;
    });
    line("Tokens", function (r) {
      var t = "in " + fmtInt(r[C.prompt_tokens]);
      if (r[C.cached_tokens]) t += " (" + fmtInt(r[C.cached_tokens]) + " cached)";
      t += " · out " + fmtInt(r[C.completion_tokens]);
      if (r[C.reasoning_tokens]) t += " (" + fmtInt(r[C.reasoning_tokens]) + " reasoning)";
      return el("span", "tok", t);
    });
    line("Cost", function (r) {
      return el("span", null, fmtUsd(r[C.cost]) + (r[C.cache_hit] ? " (cached)" : ""));
    });
    line("Latency", function (r) {
      var t = r[C.latency] === null ? "—" : fmtNum(r[C.latency], 2) + " s";
      if (r[C.ttft] !== null) t += " · TTFT " + fmtNum(r[C.ttft], 2) + " s";
      var fin = get(r, "finish");
      if (fin !== null && fin !== "stop") t += " · finish: " + fin;
      return el("span", null, t);
    });
    table.appendChild(tbody);
    wrap.appendChild(table);
    detail.appendChild(wrap);
    detail.hidden = false;
    detail.scrollIntoView({ block: "start" });
  }

  // ---------------------------------------------------------------- wiring
  var timer = 0;
  f.text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, rows.length > 5000 ? 200 : 0);
  });
  [f.suite, f.prompt, f.model, f.status, f.tag, f.disagree].forEach(function (s) {
    s.addEventListener("change", apply);
  });
  prev.addEventListener("click", function () { if (page > 0) { page--; render(); } });
  next.addEventListener("click", function () { page++; render(); });
  apply();
})();
