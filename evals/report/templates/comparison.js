// Comparison tables, one per suite: sort by any column (raw values in data-sort,
// unknowns last). Each table sorts on its own.
(function () {
  "use strict";
  function key(tr, col, numeric) {
    var cell = tr.cells[col];
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null) return null;
    if (!numeric) return raw;
    var f = parseFloat(raw);
    return isNaN(f) ? null : f;
  }
  function wire(table) {
    if (!table.tHead || !table.tBodies.length) return;
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    function sortBy(th) {
      var col = th.cellIndex;
      var numeric = th.getAttribute("data-sort-type") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      for (var i = 0; i < heads.length; i++) heads[i].removeAttribute("aria-sort");
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var body = table.tBodies[0];
      var items = Array.prototype.map.call(body.rows, function (tr, i) {
        return { el: tr, k: key(tr, col, numeric), i: i };
      });
      items.sort(function (a, b) {
        if (a.k === null || b.k === null) {
          if (a.k === b.k) return a.i - b.i;
          return a.k === null ? 1 : -1;  // unknown always last, either direction
        }
        var c = numeric ? a.k - b.k : a.k.localeCompare(b.k);
        return c !== 0 ? dir * c : a.i - b.i;
      });
      for (var j = 0; j < items.length; j++) body.appendChild(items[j].el);
    }
    for (var i = 0; i < heads.length; i++) {
      var th = heads[i];
      if (!th.hasAttribute("data-sort-type")) continue;
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(this); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(this); }
      });
    }
  }
  var tables = document.querySelectorAll("table.comparison");
  for (var t = 0; t < tables.length; t++) wire(tables[t]);
})();
